"""Histories: every recorded state of a parcel, a zone (with its assessments) or a policy."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from landmatch.api.schemas.common import Contract, Timestamp


class FieldChange(Contract):
    field: str
    label: str
    old: Any = Field(description="the value before (as stored)")
    new: Any


class Shape(Contract):
    area_m2: float
    area_mu: float
    vertices: int
    centroid: list[float] = Field(min_length=2, max_length=2, description="lon, lat")


class GeometryChange(Contract):
    field: Literal["geom"]
    label: str
    old: Shape
    new: Shape
    moved_m: float = Field(description="how far the centroid moved, m")
    summary: str = Field(description="the change in one sentence (中文)")


class ParcelVersion(Contract):
    version: int
    op: str
    actor: str | None
    reason: str | None
    import_id: int | None
    at: Timestamp
    changes: list[GeometryChange | FieldChange] = Field(
        description="what changed from the one before"
    )


class ParcelHistory(Contract):
    """A parcel's versions, newest first; the ETag header is the current version's."""

    code: str
    current_version: int
    deleted: bool
    city: str | None = Field(description="the city's name")
    versions: list[ParcelVersion]


class RecordVersion(Contract):
    """One recorded state of a reference record (oldest first)."""

    op: str
    actor: str | None
    reason: str | None
    at: Timestamp
    row: dict[str, Any] | None = Field(description="the record's stored fields in that state")


class ZoneVersion(RecordVersion):
    layer: Literal["dev_zone", "zone_assessment"]
    record_id: int
