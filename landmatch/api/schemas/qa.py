"""``/api/qa``: the data-quality checks over the inventory, each with its count and items."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from landmatch.api.schemas.common import Contract


class CoverageDeclared(Contract):
    source: str
    as_of: dt.date
    declared_by: str


class ConstraintStates(Contract):
    """Parcels inside a constraint kind's areas, clear of them, or not checked."""

    inside: int
    clear: int
    not_checked: int


class KindStates(ConstraintStates):
    kind: str
    label: str


class CityKindStates(KindStates):
    city_code: str
    city_name: str | None
    covered: bool
    coverage: CoverageDeclared | None


class QaCheck(Contract):
    id: str = Field(
        description="overlaps, outside_city, in_exclusion, slivers, … lease_over_ceiling, "
        "constraints"
    )
    title: str
    count: int = Field(description="every finding (items are capped at the limit)")
    items: list[dict[str, Any]] = Field(
        description="the findings: a parcel code and what the check found (per check); "
        "for constraints, the states per kind"
    )
    stale_days: int | None = Field(None, description="stale_utilities: the age limit")
    by_city: list[CityKindStates] | None = Field(None, description="constraints: per city")
    states: dict[str, str] | None = Field(None, description="constraints: the states' labels")
    min_overlap_m2: float | None = None


class QaReport(Contract):
    as_of: dt.date
    city: str | None
    checks: list[QaCheck]
