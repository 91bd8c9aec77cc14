"""Accounts, API tokens, sign-in sessions and the audit log (``/api/users``, ``/api/me``,
``/api/audit``). Each model reads the service's record as it is (``of``): the record's names,
with the two the API spells differently (``scope``, ``user``) read from theirs."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import AliasChoices, ConfigDict, Field

from landmatch.api.schemas.common import Contract, Timestamp


class _Record(Contract):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    @classmethod
    def of(cls, record: object) -> Self:
        return cls.model_validate(record)


class Account(_Record):
    name: str
    role: str
    role_label: str
    city_code: str | None
    zone_code: str | None
    team: str | None
    scope: str = Field(
        validation_alias=AliasChoices("scope", "scope_label"),
        description="what the account may see and change, 中文",
    )
    active: bool
    must_change_password: bool
    has_password: bool
    last_login_at: Timestamp | None
    created_at: Timestamp
    version: int = Field(description="the version of its role and scope (ETag: an edit names it)")


class AccountPage(Contract):
    total: int
    users: list[Account]


class Token(_Record):
    """An API token's record (never its secret)."""

    id: int
    user: str = Field(validation_alias=AliasChoices("user", "user_name"))
    name: str | None
    created_at: Timestamp
    created_by: str | None
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None
    state: Literal["active", "expired", "revoked"]


class NewToken(Token):
    """A token just made: its record and the token itself, shown this once."""

    token: str = Field(description="the bearer token (lm_…); not stored, not shown again")


class SignInSession(_Record):
    id: int
    address: str | None
    user_agent: str | None
    created_at: Timestamp
    last_seen_at: Timestamp | None
    expires_at: Timestamp | None


class Revoked(Contract):
    status: Literal["revoked"] = "revoked"


class AuditEntry(_Record):
    id: int
    at: Timestamp
    event: str
    label: str = Field(description="the event in words, 中文")
    actor: str | None
    subject: str | None
    address: str | None
    user_agent: str | None
    detail: dict[str, Any] | None


class AuditPage(Contract):
    total: int
    entries: list[AuditEntry]
