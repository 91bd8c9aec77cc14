"""An area drawn on the map in the requirement form (issue #15 §1): the form posts it as GeoJSON
(``location.polygon``), the project keeps it, a bad one comes back beside the map in Chinese,
and the engine — the API's and the form's "save and match" alike — ranks only parcels that
intersect it."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import sign_in
from tests.web.test_project_pages import FORM


def _box(session: Session, city: str = "130100") -> dict[str, Any]:
    """A rectangle around the first few public ready parcels of a city (by code)."""
    x0, y0, x1, y1 = session.execute(
        text(
            "SELECT ST_XMin(e) - 0.001, ST_YMin(e) - 0.001, ST_XMax(e) + 0.001, ST_YMax(e) + 0.001 "
            "FROM (SELECT ST_Extent(geom) e FROM (SELECT geom FROM landmatch.parcel "
            "WHERE city_code = :c AND status = 'ready' AND visibility = 'public' "
            "AND deleted_at IS NULL ORDER BY code LIMIT 3) s) t"
        ),
        {"c": city},
    ).one()
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _inside(session: Session, codes: list[str], polygon: dict[str, Any]) -> bool:
    return bool(
        session.execute(
            text(
                "SELECT bool_and(ST_Intersects(geom, ST_SetSRID(ST_GeomFromGeoJSON(:g), 4490))) "
                "FROM landmatch.parcel WHERE code = ANY(:c)"
            ),
            {"g": json.dumps(polygon), "c": codes},
        ).scalar()
    )


def test_the_api_match_keeps_to_the_area(client: TestClient, session: Session) -> None:
    box = _box(session)
    body = {"industry": "34", "area_mu_min": 1, "area_mu_max": 5000, "top": 50}
    everywhere = client.post("/api/match", json=body).json()
    within = client.post("/api/match", json={**body, "location": {"polygon": box}}).json()
    codes = [f["properties"]["code"] for f in within["features"] if f["properties"].get("code")]
    wide = [f["properties"]["code"] for f in everywhere["features"] if f["properties"].get("code")]
    assert codes and _inside(session, codes, box)
    assert not _inside(session, wide, box)  # without the area, parcels elsewhere rank too


def test_form_saves_the_drawn_area_and_matches_within_it(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    box = _box(session)
    csrf = sign_in(client, passwords["promoter"])
    page = client.get("/workbench/projects/new").text
    assert 'id="f-area_polygon"' in page and "leaflet-geoman" in page
    r = client.post(
        "/workbench/projects/new",
        data={
            **FORM,
            "name": "划定范围项目",
            "industry": "34",
            "area_mu_min": "1",
            "area_mu_max": "5000",
            "power_kva": "",
            "km_highway_interchange": "",
            "hard_highway_interchange": "",
            "area_polygon": json.dumps(box),
            "csrf_token": csrf,
            "then": "match",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:800]
    found = re.fullmatch(r"/workbench/matches/([0-9a-f-]+)", r.headers["location"])
    assert found
    mid = found.group(1)
    req = session.execute(
        text("SELECT requirement FROM landmatch.project WHERE name = '划定范围项目'")
    ).scalar_one()
    assert req["location"]["polygon"] == box
    run = client.get(f"/api/match/{mid}").json()  # the signed-in cookie reads it
    codes = [f["properties"]["code"] for f in run["features"] if f["properties"].get("code")]
    assert codes and _inside(session, codes, box)
    # The form shows the stored area again (for the map to draw).
    pid = session.execute(
        text("SELECT id FROM landmatch.project WHERE name = '划定范围项目'")
    ).scalar_one()
    form = client.get(f"/workbench/projects/{pid}/requirement").text
    value = re.search(r'id="f-area_polygon" name="area_polygon" value="([^"]*)"', form)
    assert value
    stored = value.group(1)
    assert json.loads(stored.replace("&#34;", '"').replace("&quot;", '"')) == box


def test_a_bad_area_comes_back_beside_the_map(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["promoter"])
    bow_tie = {
        "type": "Polygon",
        "coordinates": [[[114, 38], [115, 39], [115, 38], [114, 39], [114, 38]]],
    }
    for value, reason in (
        ("{not json", "选址范围无法读取"),
        (json.dumps(bow_tie), "polygon 无效"),
        (json.dumps({"type": "Point", "coordinates": [114, 38]}), "Polygon 或 MultiPolygon"),
    ):
        r = client.post(
            "/workbench/projects/new",
            data={**FORM, "name": "坏范围项目", "area_polygon": value, "csrf_token": csrf},
        )
        assert r.status_code == 200 and 'id="e-area_polygon"' in r.text, value
        assert reason in r.text, (value, r.text[r.text.find("e-area_polygon") :][:200])
    n = session.execute(
        text("SELECT count(*) FROM landmatch.project WHERE name = '坏范围项目'")
    ).scalar_one()
    assert n == 0
