"""Every GeoJSON the product writes follows RFC 7946 (issue 17 item 6): no ``crs`` member,
exterior rings counterclockwise and holes clockwise (§3.1.6), no repeated consecutive
positions; and ``/api/parcels`` pages like the OGC items (``numberMatched``, ``next``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from landmatch.db.parcels import PUBLIC_WHERE
from tests.conftest import auth

LAYERS = Path(__file__).resolve().parents[2] / "layers"


def _signed_area(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:], strict=False)) / 2


def check(doc: Any, where: str, flipped: bool = False) -> int:
    """Assert the rules on every geometry inside ``doc``; the number of polygons seen.
    ``flipped``: coordinates are (northing, easting) as the requested CRS orders its axes
    (Part 2): counterclockwise on the map is then clockwise in coordinate order."""
    seen = 0
    if isinstance(doc, dict):
        kind = doc.get("type")
        if kind in ("Point", "MultiPoint", "LineString", "Polygon", "MultiPolygon", "Feature"):
            assert "crs" not in doc, f"{where}: legacy crs member"
        if kind in ("Polygon", "MultiPolygon") and "coordinates" in doc:
            polys = [doc["coordinates"]] if kind == "Polygon" else doc["coordinates"]
            for poly in polys:
                for i, ring in enumerate(poly):
                    assert ring[0] == ring[-1], f"{where}: open ring"
                    assert all(a != b for a, b in zip(ring, ring[1:], strict=False)), (
                        f"{where}: repeated consecutive position"
                    )
                    area = -_signed_area(ring) if flipped else _signed_area(ring)
                    assert (area > 0) if i == 0 else (area < 0), (
                        f"{where}: ring {i} wound the wrong way"
                    )
                seen += 1
            return seen
        for key, value in doc.items():
            if key == "crs" and isinstance(value, dict) and value.get("type") == "name":
                raise AssertionError(f"{where}: legacy crs member")
            seen += check(value, where, flipped)
    elif isinstance(doc, list):
        for value in doc:
            seen += check(value, where, flipped)
    return seen


def test_every_geojson_answer(
    client: TestClient, conn: Connection, tokens: dict[str, str], public_code: str
) -> None:
    admin = auth(tokens["admin"])
    zone = conn.execute(
        text("SELECT code FROM landmatch.dev_zone ORDER BY id LIMIT 1")
    ).scalar_one()
    facility, area = conn.execute(
        text(
            "SELECT (SELECT code FROM landmatch.facility ORDER BY id LIMIT 1),"
            " (SELECT code FROM landmatch.constraint_area ORDER BY id LIMIT 1)"
        )
    ).one()
    urls = [
        ("/api/parcels?limit=200", {}),
        ("/api/parcels?limit=200", admin),
        (f"/api/parcels/{public_code}", {}),
        ("/api/zones", {}),
        (f"/api/zones/{zone}", admin),
        ("/api/layers/facility", admin),
        ("/api/layers/constraint_area", admin),
        (f"/api/layers/facility/{facility}", admin),
        (f"/api/layers/constraint_area/{area}", admin),
        (f"/api/parcels/{public_code}/card", {}),
        ("/api/exports/parcels?format=geojson&limit=300", admin),
    ]
    for cid in ("parcels", "zones", "admin_divisions", "facilities", "constraint_areas"):
        urls.append((f"/ogc/collections/{cid}/items?limit=300", admin))
        for crs in ("EPSG/0/4326", "EPSG/0/3857", "EPSG/0/4527"):
            urls.append(
                (
                    f"/ogc/collections/{cid}/items?limit=50&crs=http://www.opengis.net/def/crs/{crs}",
                    admin if cid == "constraint_areas" else {},  # staff only
                )
            )
    polygons = 0
    for url, headers in urls:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.text[:300])
        polygons += check(r.json(), url, flipped="4326" in url or "4527" in url)
    match = client.post(
        "/api/match", json={"industry": "36", "area_mu_min": 20, "area_mu_max": 150, "top": 10}
    )
    assert match.status_code == 200
    polygons += check(match.json(), "/api/match")
    assert polygons > 1000


def test_the_committed_layers_are_rfc7946() -> None:
    for path in sorted(LAYERS.glob("*.geojson")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        check(doc, path.name)
    assert check(json.loads((LAYERS / "admin_divisions.geojson").read_text()), "admin") > 100


def test_api_parcels_pages_like_ogc_items(client: TestClient, conn: Connection) -> None:
    n = conn.execute(
        text(f"SELECT count(*) FROM landmatch.parcel p WHERE {PUBLIC_WHERE}")
    ).scalar_one()
    seen: list[str] = []
    r = client.get("/api/parcels", params={"limit": 400, "bbox": "113,36,120,43"})
    pages = 0
    while True:
        assert r.status_code == 200
        body = r.json()
        assert body["numberMatched"] == n
        seen += [f["id"] for f in body["features"]]
        links = {link["rel"]: link for link in body["links"]}
        assert links["self"]["type"] == "application/geo+json"
        assert r.headers["link"].count('rel="self"') == 1
        pages += 1
        if "next" not in links:
            break
        assert 'rel="next"' in r.headers["link"] and "bbox=113%2C36" in links["next"]["href"]
        r = client.get(links["next"]["href"])
    assert len(seen) == len(set(seen)) == n and pages == -(-n // 400)
    assert "prev" in links
    city = client.get("/api/parcels", params={"city": "130100", "limit": 1}).json()
    assert (
        city["numberMatched"]
        == conn.execute(
            text(
                f"SELECT count(*) FROM landmatch.parcel p WHERE {PUBLIC_WHERE} AND p.city_code = '130100'"
            )
        ).scalar_one()
    )
