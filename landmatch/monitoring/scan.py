"""Idle-land scan of the whole inventory (SQL twin of :mod:`landmatch.monitoring.idle`)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.db.values import json_value
from landmatch.geo.measure import M2_PER_MU
from landmatch.monitoring import sql
from landmatch.monitoring.idle import IdleRule
from landmatch.monitoring.rules import sql_defaults
from landmatch.monitoring.terms import IDLE_FLAGS, IDLE_STAGES

STAGE_ORDER = ("normal", "at_risk", "idle_fee", "recoverable", "gov_caused", "unknown")


def scan_rows(
    session: Session, as_of: dt.date, defaults: IdleRule, city: str | None = None
) -> list[dict[str, Any]]:
    """Every supplied or idle parcel with its stage on ``as_of``."""
    params = {"as_of": as_of, "city": city, **sql_defaults(defaults)}
    rows = session.execute(text(sql.load("monitoring_idle")), params).mappings().all()
    return [dict(r) for r in rows]


def idle_report(
    session: Session,
    as_of: dt.date,
    defaults: IdleRule,
    *,
    city: str | None = None,
    stage: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> dict[str, Any]:
    """Summary by stage and city, plus the listed rows (JSON-ready)."""
    rows = scan_rows(session, as_of, defaults, city)
    by_stage: Counter[str] = Counter()
    area_by_stage: defaultdict[str, float] = defaultdict(float)
    fee_total = 0.0
    by_city: dict[str, dict[str, Any]] = {}
    for r in rows:
        by_stage[r["stage"]] += 1
        area_by_stage[r["stage"]] += r["area_m2"]
        fee_total += float(r["fee_wan"] or 0)
        c = by_city.setdefault(
            r["city_code"],
            {
                "city_code": r["city_code"],
                "city_name": vocab.CITIES.get(r["city_code"]),
                **{s: 0 for s in STAGE_ORDER},
                "idle_area_m2": 0.0,
            },
        )
        c[r["stage"]] += 1
        if r["stage"] in ("idle_fee", "recoverable", "gov_caused"):
            c["idle_area_m2"] += r["area_m2"]
    listed = [r for r in rows if stage is None or r["stage"] == stage]
    items = []
    for r in listed[offset : offset + limit]:
        item = {k: json_value(v) for k, v in r.items()}
        item["stage_label"] = IDLE_STAGES[r["stage"]]
        item["flag_labels"] = [IDLE_FLAGS[f] for f in r["flags"]]
        item["area_mu"] = round(r["area_m2"] / M2_PER_MU, 2)
        items.append(item)
    return {
        "as_of": as_of.isoformat(),
        "fee_rate_default": defaults.fee_rate,
        "scanned": len(rows),
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
        "flagged_fallback": sum(1 for r in rows if "start_date_fallback" in r["flags"]),
        "by_city": sorted(by_city.values(), key=lambda c: c["city_code"]),
        "numberMatched": len(listed),
        "numberReturned": len(items),
        "items": items,
    }
