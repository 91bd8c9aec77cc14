"""Development zones as ``/api/zones`` lists and shows them: the public fields for everyone, the
bookkeeping (version, source, whether the caller may edit) for staff."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from landmatch.api.schemas.common import Contract, Geometry


class ZoneAssessment(Contract):
    id: int
    kind: str
    name: str | None
    approved_on: dt.date | None
    valid_until: dt.date | None
    doc_no: str | None
    valid: bool | None = Field(None, description="staff: whether it counts on the day asked")


class Zone(Contract):
    code: str
    name: str
    city_code: str | None
    level: str
    level_label: str | None
    kind: str | None
    leading_industries: list[str] | None
    area_m2: float | None
    area_mu: float | None
    area_ha: float | None
    contact_name: str | None
    contact_phone: str | None
    assessments: list[ZoneAssessment]
    assessments_valid_kinds: list[str] = Field(description="kinds of the assessments that count")
    id: int | None = Field(None, description="staff only, as the fields below")
    approximate: bool | None = Field(None, description="the boundary is a sketch")
    source: str | None = None
    version: int | None = None
    updated_at: dt.datetime | None = None
    can_edit: bool | None = None


class ZoneDetail(Zone):
    geometry: Geometry | None = Field(description="the boundary, CGCS2000")


class ZoneFacts(Contract):
    """What a boundary change did to the parcels' stored facts."""

    affected_parcels: int
    zone_changed: int = Field(description="parcels now in another zone (or none)")
    refreshed_by: str


class ZoneWritten(ZoneDetail):
    """The zone as a write left it (its ETag in the header)."""

    warnings: list[str] = Field(description="what was repaired in the boundary (中文)")
    facts: ZoneFacts | None = Field(None, description="when the boundary changed")
