"""Idle-land scan of the whole inventory (SQL twin of :mod:`landmatch.monitoring.idle`).

The report's figures (stages, fees, per city) are counted set-wise in the database
(``GROUP BY city_code, stage`` over ``monitoring_idle.sql``), and only the listed page of rows
comes back to Python, so a province of a million parcels costs one aggregate, not a million
rows. :func:`summarise_rows` is the same report counted row by row in Python — the test
oracle of :func:`summarise`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Generator, Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.values import json_value
from landmatch.geo.measure import M2_PER_MU
from landmatch.monitoring import sql
from landmatch.monitoring.idle import IdleRule
from landmatch.monitoring.rules import sql_defaults
from landmatch.monitoring.scope import city_scope
from landmatch.monitoring.terms import IDLE_FLAGS, IDLE_STAGES

STAGE_ORDER = ("normal", "at_risk", "idle_fee", "recoverable", "gov_caused", "unknown")
IDLE_AREA_STAGES = ("idle_fee", "recoverable", "gov_caused")


def _params(as_of: dt.date, defaults: IdleRule, city: str | None) -> dict[str, Any]:
    return {"as_of": as_of, "city": city, **sql_defaults(defaults)}


def scan_rows(
    session: Session,
    as_of: dt.date,
    defaults: IdleRule,
    city: str | None = None,
    *,
    stage: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Supplied or idle parcels with their stage on ``as_of``, by city and code: every one,
    or those of ``stage``, paged by ``limit`` / ``offset`` in SQL."""
    params = _params(as_of, defaults, city) | {"stage": stage, "lim": limit, "off": offset}
    rows = session.execute(text(_ROWS_SQL), params).mappings()
    return [dict(r) for r in rows]


_ROWS_SQL = (
    "SELECT * FROM ({body}) i "
    "WHERE (CAST(:stage AS text) IS NULL OR i.stage = CAST(:stage AS text)) "
    "ORDER BY i.city_code, i.code LIMIT CAST(:lim AS bigint) OFFSET CAST(:off AS bigint)"
).replace("{body}", sql.load("monitoring_idle"))


# The rows of _ROWS_SQL, all of them, ordered by the query itself rather than by a query
# around it: PostgreSQL plans a subquery holding CTEs apart from the query around it, so the
# wrapped form computes and sorts every row before its first (3 s at a million parcels, in a
# cursor without parallel workers), while this one reads parcels in ix_parcel_list's order
# and hands out its first rows at once (monitoring_idle.sql ends with FROM s).
_STREAM_SQL = sql.load("monitoring_idle") + "\nORDER BY s.city_code, s.code"


def column_batches(
    session: Session,
    as_of: dt.date,
    defaults: IdleRule,
    city: str | None = None,
    *,
    chunk: int = 2000,
) -> Generator[dict[str, Sequence[Any]], None, None]:
    """:func:`scan_rows` as a stream of batches of ``chunk`` rows, each as its columns by name
    (:func:`~landmatch.monitoring.sql.column_batches`, to be closed by the caller: the Excel
    export)."""
    return sql.column_batches(session, _STREAM_SQL, _params(as_of, defaults, city), chunk)


def stage_groups(
    session: Session, as_of: dt.date, defaults: IdleRule, city: str | None = None
) -> list[dict[str, Any]]:
    """Parcels, area, fees and fallback-dated parcels per (city, stage), counted in SQL."""
    rows = session.execute(
        text(
            "SELECT i.city_code, i.stage, count(*) AS parcels, sum(i.area_m2) AS area_m2, "
            "COALESCE(sum(i.fee_wan), 0) AS fee_wan, "
            "count(*) FILTER (WHERE 'start_date_fallback' = ANY(i.flags)) AS fallback "
            f"FROM ({sql.load('monitoring_idle')}) i GROUP BY i.city_code, i.stage"
        ),
        _params(as_of, defaults, city),
    ).mappings()
    return [dict(r) for r in rows]


def _city_entry(by_city: dict[str, dict[str, Any]], code: str) -> dict[str, Any]:
    return by_city.setdefault(
        code,
        {
            "city_code": code,
            "city_name": vocab.CITIES.get(code),
            **{s: 0 for s in STAGE_ORDER},
            "idle_area_m2": 0.0,
        },
    )


def _report(
    by_stage: Counter[str],
    area_by_stage: dict[str, float],
    fee_total: float,
    fallback: int,
    by_city: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    return {
        "scanned": sum(by_stage.values()),
        "stages": [
            {
                "stage": s,
                "label": IDLE_STAGES[s],
                "count": by_stage.get(s, 0),
                "area_m2": round(area_by_stage.get(s, 0.0), 1),
                "area_mu": round(area_by_stage.get(s, 0.0) / M2_PER_MU, 2),
            }
            for s in STAGE_ORDER
        ],
        "fee_total_wan": round(fee_total, 2),
        "flagged_fallback": fallback,
        "by_city": sorted(by_city.values(), key=lambda c: c["city_code"]),
    }


def summarise(groups: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The report's figures from :func:`stage_groups`."""
    by_stage: Counter[str] = Counter()
    area_by_stage: defaultdict[str, float] = defaultdict(float)
    fee_total = 0.0
    fallback = 0
    by_city: dict[str, dict[str, Any]] = {}
    for g in sorted(groups, key=lambda g: (g["city_code"], g["stage"])):
        by_stage[g["stage"]] += int(g["parcels"])
        area_by_stage[g["stage"]] += float(g["area_m2"])
        fee_total += float(g["fee_wan"])
        fallback += int(g["fallback"])
        c = _city_entry(by_city, g["city_code"])
        c[g["stage"]] += int(g["parcels"])
        if g["stage"] in IDLE_AREA_STAGES:
            c["idle_area_m2"] += float(g["area_m2"])
    return _report(by_stage, area_by_stage, fee_total, fallback, by_city)


def summarise_rows(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The same figures counted row by row from :func:`scan_rows` (the test oracle: it folds
    the rows on its own, so that a fault in :func:`summarise`'s folding shows too)."""
    by_stage: Counter[str] = Counter()
    area_by_stage: defaultdict[str, float] = defaultdict(float)
    fee_total = 0.0
    fallback = 0
    by_city: dict[str, dict[str, Any]] = {}
    for r in rows:
        by_stage[r["stage"]] += 1
        area_by_stage[r["stage"]] += r["area_m2"]
        fee_total += float(r["fee_wan"] or 0)
        fallback += "start_date_fallback" in r["flags"]
        c = _city_entry(by_city, r["city_code"])
        c[r["stage"]] += 1
        if r["stage"] in IDLE_AREA_STAGES:
            c["idle_area_m2"] += r["area_m2"]
    return _report(by_stage, area_by_stage, fee_total, fallback, by_city)


def item(r: dict[str, Any]) -> dict[str, Any]:
    """A scanned row as the report lists it (JSON-ready, with labels and 亩)."""
    out = {k: json_value(v) for k, v in r.items()}
    out["stage_label"] = IDLE_STAGES[r["stage"]]
    out["flag_labels"] = [IDLE_FLAGS[f] for f in r["flags"]]
    out["area_mu"] = round(r["area_m2"] / M2_PER_MU, 2)
    return out


def idle_report(
    session: Session,
    principal: Principal,
    as_of: dt.date,
    defaults: IdleRule,
    *,
    city: str | None = None,
    stage: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> dict[str, Any]:
    """Summary by stage and city (counted in SQL), plus the listed rows (JSON-ready), in the
    caller's scope (:func:`~landmatch.monitoring.scope.city_scope`)."""
    city = city_scope(principal, city)
    head = summarise(stage_groups(session, as_of, defaults, city))
    matched = (
        head["scanned"]
        if stage is None
        else next((s["count"] for s in head["stages"] if s["stage"] == stage), 0)
    )
    rows = (
        scan_rows(session, as_of, defaults, city, stage=stage, limit=limit, offset=offset)
        if limit > 0 and offset < matched
        else []
    )
    items = [item(r) for r in rows]
    return {
        "as_of": as_of.isoformat(),
        "fee_rate_default": defaults.fee_rate,
        **head,
        "numberMatched": matched,
        "numberReturned": len(items),
        "items": items,
    }
