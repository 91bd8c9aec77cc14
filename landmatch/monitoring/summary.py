"""Everything the dashboard draws, in one call (live from the database)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.monitoring import cases, scan, targets, unsupplied, zones
from landmatch.monitoring.idle import IdleRule


def area_by_city_status(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT city_code, status, count(*) AS parcels, sum(area_m2) AS area_m2 "
            "FROM landmatch.parcel WHERE deleted_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2"
        )
    ).mappings()
    return [
        {
            **dict(r),
            "city_name": vocab.CITIES.get(r["city_code"], r["city_code"]),
            "status_label": vocab.PARCEL_STATUS[r["status"]],
        }
        for r in rows
    ]


def dashboard_data(session: Session, as_of: dt.date, defaults: IdleRule) -> dict[str, Any]:
    idle = scan.idle_report(session, as_of, defaults, limit=0)
    ages = unsupplied.age_bands(session, as_of)
    return {
        "as_of": as_of.isoformat(),
        "statuses": vocab.PARCEL_STATUS,
        "cities": vocab.CITIES,
        "area_by_city_status": area_by_city_status(session),
        "idle_stages": idle["stages"],
        "idle_fee_total_wan": idle["fee_total_wan"],
        "unsupplied_age": ages["by_city"],
        "unsupplied_bands": ages["bands"],
        "targets": targets.progress(session, as_of)["targets"],
        "zones": zones.zone_kpis(session, as_of)["zones"][:20],
        "alerts": cases.overdue(session, as_of)[:20],
    }
