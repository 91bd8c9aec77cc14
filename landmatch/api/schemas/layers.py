"""Reference layers (facilities, constraint areas): records, change reports, the constraint
layers' declared coverage and the alerts a change raises."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from landmatch.api.schemas.common import Contract, Geometry, Timestamp


class LayerRecord(Contract):
    code: str
    name: str
    kind: str
    severity: str | None = Field(None, description="constraint areas only")
    city_code: str | None
    source: str | None
    version: int = Field(description="for If-Match (the ETag carries it)")
    updated_at: Timestamp
    geometry: Geometry


class HitChange(Contract):
    parcel_id: int
    parcel_code: str | None
    constraint: str = Field(description="the constraint area's code")
    severity: str


class RaisedAlert(Contract):
    id: int
    city_code: str
    constraint: str
    ready_count: int
    message: str


class CoverageSummary(Contract):
    """Coverage declarations written with the change, as ``kind:city`` labels."""

    declared: list[str] = []
    updated: list[str] = []
    withdrawn: list[str] = []
    unchanged: int = 0


class ChangeReport(Contract):
    """What a layer write did: records, the parcels' facts that moved, hits, alerts."""

    layer: str
    inserted: list[str]
    updated: list[str]
    deleted: list[str]
    unchanged: int
    affected_parcels: int
    facts_changed: dict[str, int] = Field(description="parcels whose fact changed, by fact")
    hits_gained: list[HitChange]
    hits_lost: list[HitChange]
    alerts: list[RaisedAlert]
    refreshed_by: str
    warnings: list[str]
    coverage: CoverageSummary = Field(description="empty unless coverage was declared")


class Coverage(Contract):
    kind: str
    city_code: str
    source: str
    as_of: dt.date
    declared_by: str
    declared_at: Timestamp
    kind_label: str
    city_name: str | None


class Alert(Contract):
    id: int
    layer: str
    record_code: str
    op: str
    city_code: str
    parcel_codes: list[str]
    ready_count: int
    message: str
    actor: str | None
    created_at: Timestamp
    acknowledged_at: Timestamp | None
    acknowledged_by: str | None


class AlertAcknowledged(Contract):
    id: int
    acknowledged_by: str
