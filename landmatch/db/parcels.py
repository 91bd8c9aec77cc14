"""Parcel queries: listing, one parcel, and what each caller may see."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.confidential import column_sql
from landmatch.dates import beijing_today
from landmatch.db import holds
from landmatch.db.geometry import geojson_sql
from landmatch.db.holds import HELD_SQL
from landmatch.db.like import contains_pattern
from landmatch.db.qa_flags import flag_params, flag_sql
from landmatch.db.values import json_row
from landmatch.db.where import Where
from landmatch.errors import NotFound
from landmatch.geo.measure import M2_PER_MU
from landmatch.inventory.fields import COLUMN_NAMES as PARCEL_FIELD_COLUMNS
from landmatch.inventory.fields import FIELDS
from landmatch.viewer import Viewer

# Which columns any caller may see: derived from the field table (``Field.public`` in
# landmatch.inventory.fields, the one source), plus the measured area. The zone (code, name,
# share) is joined in by the readers. Everything else on the parcel row is internal: the
# internal fields and the bookkeeping. tests/db/test_public_fields.py checks that every column
# of the parcel table is classified.
PUBLIC_DERIVED: tuple[str, ...] = ("area_m2",)
PUBLIC_COLUMNS: tuple[str, ...] = (
    *(f.name for f in FIELDS if f.public and f.name in PARCEL_FIELD_COLUMNS),
    *PUBLIC_DERIVED,
)
BOOKKEEPING: tuple[str, ...] = ("version", "created_at", "updated_at", "updated_by", "import_id")
INTERNAL_COLUMNS: tuple[str, ...] = (
    "id",
    *(f.name for f in FIELDS if not f.public and f.name in PARCEL_FIELD_COLUMNS),
    *BOOKKEEPING,
)
PUBLIC_WHERE = "p.deleted_at IS NULL AND p.status = 'ready' AND p.visibility = 'public'"


@dataclass
class ParcelFilter:
    """What a listing or an export selects. The first fields are the API's; the others are the
    workbench list's (``landmatch.inventory.listing``), and exports take them all."""

    status: list[str] | None = None
    city: str | None = None
    zone: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    limit: int = 100
    offset: int = 0
    county: str | None = None
    land_use: list[str] | None = None
    area_mu_min: float | None = None
    area_mu_max: float | None = None
    visibility: str | None = None
    # A QA check's flag (``landmatch.db.qa_flags.FLAG_TITLES``).
    qa: str | None = None
    # Data age by data_updated_on: "fresh", "stale" (older than ``stale_days``) or "unknown".
    age: str | None = None
    stale_days: int = 365
    # Code or name contains this text.
    q: str | None = None
    # Deleted parcels instead of live ones (staff only).
    deleted: bool = False
    # The caller's own zone (a zone committee's scope), by id.
    zone_id: int | None = None
    # Held (预留) for a project (True), or not (False); staff only (``landmatch.db.holds``).
    held: bool | None = None


def _select(principal: Viewer) -> str:
    cols = PUBLIC_COLUMNS if principal.is_public else PUBLIC_COLUMNS + INTERNAL_COLUMNS
    parts = [column_sql(principal, c) for c in cols]
    parts += [
        "z.code AS zone_code",
        "z.name AS zone_name",
        "p.zone_share",
        "a.name AS city_name",
        f"{geojson_sql('p.geom', 7)} AS geometry",
    ]
    return ", ".join(parts)


def _feature(row: Any) -> dict[str, Any]:
    props = json_row(row)
    geometry = json.loads(props.pop("geometry"))
    area = props.get("area_m2")
    if area is not None:
        props["area_mu"] = round(area / M2_PER_MU, 2)
        props["area_ha"] = round(area / 10000, 4)
    return {"type": "Feature", "id": props["code"], "geometry": geometry, "properties": props}


def filter_sql(f: ParcelFilter, principal: Viewer) -> tuple[list[str], dict[str, Any]]:
    """WHERE clauses (on ``p`` = parcel, ``z`` = dev_zone) and bound parameters for the listing
    filters; the public see public parcels only. Shared by listings and exports."""
    if principal.is_public:
        w = Where([PUBLIC_WHERE])
    else:
        w = Where(["p.deleted_at IS NOT NULL" if f.deleted else "p.deleted_at IS NULL"])
    w.given(f.status, "p.status = ANY(:status)", "status")
    w.given(f.city, "p.city_code = :city", "city")
    w.given(f.zone, "z.code = :zone", "zone")
    if f.bbox:
        w.clauses.append("p.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)")
        w.params.update(x0=f.bbox[0], y0=f.bbox[1], x1=f.bbox[2], y1=f.bbox[3])
    w.given(f.zone_id, "p.zone_id = :zone_id", "zone_id")
    w.given(f.county, "p.county_code = :county", "county")
    w.given(f.land_use, "p.land_use = ANY(:land_use)", "land_use")
    for mu, clause, name in (
        (f.area_mu_min, "p.area_m2 >= :area_min", "area_min"),
        (f.area_mu_max, "p.area_m2 <= :area_max", "area_max"),
    ):
        w.given(None if mu is None else mu * M2_PER_MU, clause, name)
    if not principal.is_public:
        w.given(f.visibility, "p.visibility = :visibility", "visibility")
    if f.age:
        w.given(
            beijing_today() - dt.timedelta(days=f.stale_days),
            {
                "fresh": "p.data_updated_on >= :age_before",
                "stale": "p.data_updated_on < :age_before",
                "unknown": "p.data_updated_on IS NULL",
            }[f.age],
            "age_before",
        )
    w.given(
        f.q and contains_pattern(f.q),
        "(p.code ILIKE :q ESCAPE '\\' OR p.name ILIKE :q ESCAPE '\\')",
        "q",
    )
    if f.held is not None and not principal.is_public:
        w.clauses.append(HELD_SQL if f.held else f"NOT {HELD_SQL}")
        w.params.update(holds.day())
    if f.qa and not principal.is_public:
        w.clauses.append(flag_sql(f.qa))
        w.params.update(flag_params(f.stale_days))
    return w.clauses, w.params


def list_parcels(session: Session, f: ParcelFilter, principal: Viewer) -> dict[str, Any]:
    where, params = filter_sql(f, principal)
    params.update(limit=f.limit, offset=f.offset)
    sql = (
        f"SELECT {_select(principal)} FROM landmatch.parcel p "
        "LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id "
        "LEFT JOIN landmatch.admin_division a ON a.code = p.city_code "
        f"WHERE {' AND '.join(where)} ORDER BY p.id LIMIT :limit OFFSET :offset"
    )
    rows = session.execute(text(sql), params).all()
    features = [_feature(r) for r in rows]
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberReturned": len(features),
        "limit": f.limit,
        "offset": f.offset,
    }


def get_parcel(session: Session, code: str, principal: Viewer) -> dict[str, Any]:
    where = PUBLIC_WHERE if principal.is_public else "p.deleted_at IS NULL"
    row = session.execute(
        text(
            f"SELECT {_select(principal)} FROM landmatch.parcel p "
            "LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id "
            "LEFT JOIN landmatch.admin_division a ON a.code = p.city_code "
            f"WHERE p.code = :code AND {where}"
        ),
        {"code": code},
    ).first()
    if row is None:
        raise NotFound(f"未找到地块 {code}")
    return _feature(row)
