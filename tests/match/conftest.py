"""Fixtures for the matching engine: hand-made parcels with known attributes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.db.facts import refresh_facts

_seq = itertools.count(1)

# About 100 m × 100 m (≈ 15 亩) near Shijiazhuang, away from the seeded grid cells' centre.
LON0, LAT0 = 114.5093, 38.0395
DLON, DLAT = 0.00114, 0.0009


def square(lon: float, lat: float, dlon: float = DLON, dlat: float = DLAT) -> str:
    return (
        f"MULTIPOLYGON((({lon} {lat}, {lon + dlon} {lat}, {lon + dlon} {lat + dlat}, "
        f"{lon} {lat + dlat}, {lon} {lat})))"
    )


@pytest.fixture
def make_parcel(session: Session) -> Callable[..., int]:
    """Insert a parcel (ready, public, 100102, in 石家庄) with overrides; facts computed."""

    def make(*, wkt: str | None = None, facts: bool = True, **attrs: Any) -> int:
        n = next(_seq)
        row: dict[str, Any] = {
            "code": f"T-MATCH-{n:05d}",
            "name": f"测试地块{n}",
            "city_code": "130100",
            "status": "ready",
            "visibility": "public",
            "land_use": "100102",
            "supply_modes": ["auction"],
            "ref_price_wan_per_mu": 40,
            "price_public": True,
            "readiness": ["road", "power", "water"],
            "data_updated_on": None,
        }
        row.update(attrs)
        cols = ", ".join(row) + ", geom"
        vals = ", ".join(f":{k}" for k in row) + ", ST_GeomFromText(:wkt, 4490)"
        pid = session.execute(
            text(f"INSERT INTO landmatch.parcel ({cols}) VALUES ({vals}) RETURNING id"),
            # Side by side, wrapping every 90 (a test makes a few; the numbering runs over
            # the whole session, and 100 steps east would leave the area the scope tests use).
            {**row, "wkt": wkt or square(LON0 + 0.01 * (n % 90), LAT0)},
        ).scalar_one()
        if facts:
            refresh_facts(session.connection(), [pid])
        return int(pid)

    return make


@pytest.fixture
def make_project(session: Session) -> Callable[..., int]:
    def make(
        name: str = "测试项目", requirement: dict[str, Any] | None = None, status: str = "new"
    ) -> int:
        import json

        return int(
            session.execute(
                text(
                    "INSERT INTO landmatch.project (name, requirement, pipeline_status) "
                    "VALUES (:n, CAST(:r AS jsonb), :s) RETURNING id"
                ),
                {"n": name, "r": json.dumps(requirement or {}), "s": status},
            ).scalar_one()
        )

    return make
