"""Fixtures for zones, policies and reference layers: facts prepared once for the seed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from landmatch.auth import Principal
from landmatch.reflayers import facts


@pytest.fixture(scope="session")
def facts_ready(engine: Engine) -> None:
    """Every parcel has prepared facts (committed once), so changes can be compared."""
    with engine.begin() as conn:
        missing = conn.execute(
            text(
                "SELECT count(*) FROM landmatch.parcel p LEFT JOIN landmatch.parcel_fact f "
                "ON f.parcel_id = p.id WHERE f.parcel_id IS NULL AND p.deleted_at IS NULL"
            )
        ).scalar()
        if missing:
            facts.refresh(conn, None)


@pytest.fixture
def admin() -> Principal:
    return Principal(name="t-admin", role="admin")


def geojson(features: list[tuple[dict[str, Any], dict[str, Any]]]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
            "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
        },
        ensure_ascii=False,
    ).encode()


def box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [x, y]}


def fact_state(conn: Connection) -> dict[int, dict[str, Any]]:
    rows = conn.execute(text("SELECT * FROM landmatch.parcel_fact")).mappings()
    return {r["parcel_id"]: dict(r) for r in rows}


@pytest.fixture
def state() -> Callable[[Connection], dict[int, dict[str, Any]]]:
    return fact_state
