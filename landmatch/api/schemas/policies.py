"""The policy library as ``/api/policies`` shows it: public fields for everyone, the bookkeeping
(id, version, visibility) for staff only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from landmatch.api.schemas.common import Contract, Timestamp


class Policy(Contract):
    code: str
    title: str
    issuer: str | None
    doc_no: str | None
    issued_on: dt.date | None
    valid_from: dt.date | None
    valid_until: dt.date | None
    scope_level: str
    scope_code: str
    industries: list[str] = Field(description="GB/T 4754 prefixes; empty: any industry")
    statuses: list[str]
    land_uses: list[str]
    benefit_kind: str | None
    benefit_rate: float | None
    benefit_cap_wan: float | None
    benefit_amount_wan: float | None
    benefit_basis: str | None
    conditions: dict[str, Any] = Field(description="as PolicyIn.conditions (only those set)")
    summary: str | None
    source: str | None
    updated_at: Timestamp
    active: bool = Field(description="in force on the day asked")
    benefit_label: str | None
    scope_label: str | None
    id: int | None = Field(None, description="staff only, as version and visibility")
    version: int | None = None
    visibility: str | None = None


class PolicyPage(Contract):
    total: int
    items: list[Policy]
    as_of: dt.date


class PolicyImport(Contract):
    rows: int
    created: list[str] = Field(description="codes of the new policies")
    updated: list[str]
    dry_run: bool
