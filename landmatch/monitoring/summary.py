"""Everything the dashboard draws, in one call (live from the database)."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.monitoring import cases, scan, targets, unsupplied, zones
from landmatch.monitoring.idle import IdleRule
from landmatch.monitoring.scope import city_scope


def area_by_city_status(
    session: Session, principal: Principal, city: str | None = None
) -> list[dict[str, Any]]:
    city = city_scope(principal, city)
    rows = session.execute(
        text(
            "SELECT city_code, status, count(*) AS parcels, sum(area_m2) AS area_m2 "
            "FROM landmatch.parcel WHERE deleted_at IS NULL "
            "AND (CAST(:city AS text) IS NULL OR city_code = :city) GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"city": city},
    ).mappings()
    return [
        {
            **dict(r),
            "city_name": vocab.CITIES.get(r["city_code"], r["city_code"]),
            "status_label": vocab.PARCEL_STATUS[r["status"]],
        }
        for r in rows
    ]


# The inventory's part of the summary (every parcel read: seconds at a million parcels) is kept
# per worker for the data it was computed from; targets and alerts (small tables) are read live.
CACHE_ENTRIES = 32
_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_cache_lock = threading.Lock()


def inventory_state(session: Session) -> tuple[Any, ...]:
    """What the inventory figures depend on, as this session sees it: the database, the parcel
    and zone data versions (each with the transaction that bumped it: a rolled-back write
    leaves the number, not the transaction id) and the idle thresholds of every city."""
    versions = session.execute(
        text(
            "SELECT name, version, xmin::text FROM landmatch.data_state "
            "WHERE name IN ('parcel', 'dev_zone') ORDER BY name"
        )
    ).all()
    thresholds = session.execute(
        text("SELECT * FROM landmatch.monitoring_rule ORDER BY city_code")
    ).all()
    return (
        str(session.get_bind().engine.url),
        tuple(tuple(r) for r in versions),
        tuple(tuple(r) for r in thresholds),
    )


def inventory_figures(
    session: Session,
    principal: Principal,
    as_of: dt.date,
    defaults: IdleRule,
    city: str | None = None,
) -> dict[str, Any]:
    """The summary's figures read from the inventory: area by city and status, idle stages
    (counted set-wise: ``scan.stage_groups``), the 批而未供 stock by age, the zone KPIs —
    computed once per inventory state (:func:`inventory_state`), day and city."""
    city = city_scope(principal, city)
    key = (inventory_state(session), as_of, city, defaults)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    idle = scan.idle_report(session, principal, as_of, defaults, city=city, limit=0)
    ages = unsupplied.age_bands(session, principal, as_of, city)
    out = {
        "area_by_city_status": area_by_city_status(session, principal, city),
        "idle_stages": idle["stages"],
        "idle_fee_total_wan": idle["fee_total_wan"],
        "unsupplied_age": ages["by_city"],
        "unsupplied_bands": ages["bands"],
        "zones": zones.zone_kpis(session, principal, as_of, city)["zones"][:20],
    }
    with _cache_lock:
        _cache[key] = out
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return out


def dashboard_data(
    session: Session,
    principal: Principal,
    as_of: dt.date,
    defaults: IdleRule,
    city: str | None = None,
) -> dict[str, Any]:
    """Every figure of the dashboard, for one city (``city``) or the whole province (None): a
    city bureau sees its own city (asking for another is refused), everyone else the city
    asked for (:func:`~landmatch.monitoring.scope.city_scope`)."""
    city = city_scope(principal, city)
    inv = copy.deepcopy(inventory_figures(session, principal, as_of, defaults, city))
    return {
        "as_of": as_of.isoformat(),
        "city": city,
        "city_name": vocab.CITIES.get(city) if city else "全省",
        "statuses": vocab.PARCEL_STATUS,
        "cities": {city: vocab.CITIES[city]} if city else vocab.CITIES,
        "area_by_city_status": inv["area_by_city_status"],
        "idle_stages": inv["idle_stages"],
        "idle_fee_total_wan": inv["idle_fee_total_wan"],
        "unsupplied_age": inv["unsupplied_age"],
        "unsupplied_bands": inv["unsupplied_bands"],
        "targets": targets.progress(session, principal, as_of, None, city)["targets"],
        "zones": inv["zones"],
        "alerts": cases.overdue(session, principal, as_of, city)[:20],
    }
