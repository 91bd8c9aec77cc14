"""Fixtures for inventory tests: a fingerprint of the written state, square parcels."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session


@pytest.fixture
def fingerprint(session: Session) -> Callable[[], tuple]:  # type: ignore[type-arg]
    """A function returning counts and a digest of parcels, versions and import batches."""

    def take() -> tuple:  # type: ignore[type-arg]
        return session.execute(
            text(
                "SELECT (SELECT count(*) FROM landmatch.parcel), "
                "(SELECT md5(string_agg(code || ':' || version || ':' || coalesce(deleted_at::text, ''),"
                " ',' ORDER BY code)) FROM landmatch.parcel), "
                "(SELECT count(*) FROM landmatch.parcel_version), "
                "(SELECT count(*) FROM landmatch.import_batch)"
            )
        ).one()

    return take


def square(lon: float = 114.50, lat: float = 38.04, d: float = 0.002) -> dict:  # type: ignore[type-arg]
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
        ],
    }


def feature(code: str, geometry: dict | None = None, **props: object) -> dict:  # type: ignore[type-arg]
    base = {"code": code, "name": f"测试地块{code}", "land_use": "100102", "status": "ready"}
    return {"type": "Feature", "properties": {**base, **props}, "geometry": geometry or square()}


def post_import(
    client: TestClient, token: str, name: str, data: bytes | str, **form: object
) -> httpx.Response:
    """POST a file to /api/imports with form fields (booleans as true/false)."""
    from tests.conftest import auth

    return client.post(
        "/api/imports",
        files={"file": (name, data)},
        data={k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()},
        headers=auth(token),
    )


def geojson_bytes(*features: dict) -> bytes:  # type: ignore[type-arg]
    return json.dumps(
        {"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False
    ).encode()
