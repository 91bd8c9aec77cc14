"""批而未供 (approved but not supplied): age bands, supply rates, spatial measure per batch
(docs/domain.md §6). The stock is approved land not supplied by the reporting date and not
withdrawn, by the dates (``landmatch.supplied_by``, one definition for the three reports), so a
past date's stock holds land supplied since; ``ready`` parcels (熟地) are part of it and are
shown as such (today's status)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.geo.measure import M2_PER_MU
from landmatch.monitoring import sql
from landmatch.monitoring.scope import city_scope
from landmatch.monitoring.terms import AGE_BANDS


def _rate(supplied: float | None, approved: float | None) -> float | None:
    if not approved:
        return None
    return round((supplied or 0) / approved, 4)


def age_bands(
    session: Session, principal: Principal, as_of: dt.date, city: str | None = None
) -> dict[str, Any]:
    """Stock by band (< 2 y, 2–5 y, > 5 y), per city and status, with rows per county."""
    city = city_scope(principal, city)
    rows = sql.rows(session, "monitoring_unsupplied_age", as_of=as_of, city=city)
    totals: dict[str, dict[str, Any]] = {
        b: {"band": b, "label": AGE_BANDS[b], "parcels": 0, "area_m2": 0.0} for b in AGE_BANDS
    }
    cities: dict[str, dict[str, Any]] = {}
    for r in rows:
        t = totals[r["band"]]
        t["parcels"] += r["parcels"]
        t["area_m2"] += r["area_m2"]
        c = cities.setdefault(
            r["city_code"],
            {
                "city_code": r["city_code"],
                "city_name": vocab.CITIES.get(r["city_code"]),
                **{f"{b}_m2": 0.0 for b in AGE_BANDS},
                "unsupplied_m2": 0.0,
                "ready_m2": 0.0,
            },
        )
        c[f"{r['band']}_m2"] += r["area_m2"]
        # 熟地 today; the rest was 批而未供 on the day, whatever has happened to it since.
        c["ready_m2" if r["status"] == "ready" else "unsupplied_m2"] += r["area_m2"]
    for t in totals.values():
        t["area_mu"] = round(t["area_m2"] / M2_PER_MU, 2)
    return {
        "as_of": as_of.isoformat(),
        "bands": list(totals.values()),
        "by_city": sorted(cities.values(), key=lambda c: c["city_code"]),
        "rows": rows,
    }


def supply_rates(
    session: Session, principal: Principal, as_of: dt.date, city: str | None = None
) -> dict[str, Any]:
    """供地率 per city and county for the 5-year cohort (approvals of the five calendar years
    before ``as_of``'s year) and for last year's approvals."""
    city = city_scope(principal, city)
    y = as_of.year
    cohorts = {"five_year": (y - 5, y - 1), "last_year": (y - 1, y - 1)}
    merged: dict[tuple[str, str | None], dict[str, Any]] = {}
    for name, (y0, y1) in cohorts.items():
        for r in sql.rows(session, "monitoring_supply_rate", as_of=as_of, city=city, y0=y0, y1=y1):
            key = (r["city_code"], None if r["city_total"] else r["county_code"])
            m = merged.setdefault(
                key,
                {
                    "city_code": r["city_code"],
                    "city_name": vocab.CITIES.get(r["city_code"]),
                    "county_code": key[1],
                    "level": "city" if key[1] is None else "county",
                },
            )
            m[f"{name}_approved_m2"] = r["approved_m2"]
            m[f"{name}_supplied_m2"] = r["supplied_m2"] or 0.0
            m[f"{name}_rate"] = _rate(r["supplied_m2"], r["approved_m2"])
    out = sorted(merged.values(), key=lambda m: (m["city_code"], m["county_code"] or ""))
    for m in out:
        for name in cohorts:
            m.setdefault(f"{name}_approved_m2", 0.0)
            m.setdefault(f"{name}_supplied_m2", 0.0)
            m.setdefault(f"{name}_rate", None)
    return {
        "as_of": as_of.isoformat(),
        "cohorts": {k: {"from_year": a, "to_year": b} for k, (a, b) in cohorts.items()},
        "rows": out,
    }


def batches(
    session: Session, principal: Principal, as_of: dt.date, city: str | None = None
) -> dict[str, Any]:
    """Approved minus supplied geometry for every stored approval batch."""
    city = city_scope(principal, city)
    rows = sql.rows(session, "monitoring_batches", as_of=as_of, city=city)
    for r in rows:
        r["approval_date"] = r["approval_date"].isoformat()
        r["supply_rate"] = _rate(r["supplied_m2"], r["approved_m2"])
        r["unsupplied_mu"] = round(r["unsupplied_m2"] / M2_PER_MU, 2)
    return {
        "as_of": as_of.isoformat(),
        "rows": rows,
        "approved_m2": sum(r["approved_m2"] or 0 for r in rows),
        "unsupplied_m2": sum(r["unsupplied_m2"] for r in rows),
    }
