"""The service's health and what the map pages fetch besides parcels: search, place summary."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from landmatch.api.schemas.common import Contract


class Pending(Contract):
    facts: int = Field(description="parcels whose spatial facts are not computed yet")
    cells: int = Field(description="map-cell changes not applied yet")


class ReplicaHealth(Contract):
    state: Literal["ok", "lagging", "unreachable", "unknown"] = Field(
        description="ok; lagging: replay further behind than max_lag_s; unreachable; "
        "unknown: not polled yet"
    )
    serving: bool = Field(description="whether the public's reads may go to the replica")
    lag_s: float | None = Field(description="replay lag in seconds (0: replayed all received)")
    data_version: int | None = Field(description="the data version the replica has replayed")
    max_lag_s: float = Field(description="the lag cap (0: none)")


class Health(Contract):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable", "unresponsive"]
    version: str = Field(description="landmatch's version")
    postgres: str | None = None
    postgis: str | None = None
    schema_revision: str | None = Field(None, description="the database's migration revision")
    reason: str | None = Field(None, description="why the service is unavailable (中文)")
    pending: Pending | None = Field(None, description="derived data not settled yet")
    replica: ReplicaHealth | None = Field(None, description="the read replica, when configured")


class SearchHit(Contract):
    kind: Literal["admin", "zone", "facility", "parcel"]
    kind_label: str = Field(description="what the hit is: 城市, 国家级高新区, 港口 …, 地块")
    code: str
    label: str
    bbox: list[float] = Field(
        min_length=4, max_length=4, description="[west, south, east, north], CGCS2000 lon/lat"
    )


class SearchResults(Contract):
    query: str
    results: list[SearchHit] = Field(description="places first, then parcels")


class PlaceCounty(Contract):
    code: str
    name: str
    lon: float = Field(description="label point, CGCS2000")
    lat: float


class PlaceCity(PlaceCounty):
    bbox: list[float] = Field(min_length=4, max_length=4)
    parcels: int = Field(description="ready parcels the caller may see")
    area_mu: float = Field(description="their area, 亩")


class PlaceZone(PlaceCounty):
    short_name: str
    level: str
    level_label: str | None
    kind: str
    parcels: int
    area_mu: float


class PlaceSummary(Contract):
    cities: list[PlaceCity]
    zones: list[PlaceZone]
    counties: list[PlaceCounty]
