"""Accounts, API tokens and sign-in sessions (``/api/users``, ``/api/me``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from landmatch.api.schemas.common import Contract


class Account(Contract):
    name: str
    role: str
    role_label: str
    city_code: str | None
    zone_code: str | None
    team: str | None
    scope: str = Field(description="what the account may see and change, 中文")
    active: bool
    must_change_password: bool
    has_password: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime


class AccountPage(Contract):
    total: int
    users: list[Account]


class Token(Contract):
    """An API token's record (never its secret)."""

    id: int
    user: str
    name: str | None
    created_at: dt.datetime
    created_by: str | None
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    state: str


class SignInSession(Contract):
    id: int
    address: str | None
    user_agent: str | None
    created_at: dt.datetime
    last_seen_at: dt.datetime | None
    expires_at: dt.datetime | None
