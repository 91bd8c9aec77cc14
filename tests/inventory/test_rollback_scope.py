"""An import's rollback writes only parcels the caller may write (security review 2,
finding 2): the city a parcel is in now and the city of the version it goes back to. An
admin's import moved a 唐山 parcel into 石家庄; the 石家庄 bureau's rollback then restored it into
唐山 (200, restored 1) although a restore of that version is refused to it. Refused whole now,
with the parcels named, nothing written: through the API and the workbench's import wizard.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.inventory import wizard
from landmatch.inventory.uploads import group_files
from tests.conftest import auth, sign_in, with_etag
from tests.inventory.conftest import feature, geojson_bytes, post_import, square

ADMIN = Principal(name="t-admin", role="admin")


@pytest.fixture
def ts_parcel(session: Session) -> dict[str, Any]:
    """A live 唐山 parcel in no zone, its version and a free spot in 石家庄 to move it to."""
    code, version = session.execute(
        text(
            "SELECT code, version FROM landmatch.parcel WHERE city_code = '130200' "
            "AND deleted_at IS NULL AND zone_id IS NULL ORDER BY code LIMIT 1"
        )
    ).one()
    spot = session.execute(
        text(
            "SELECT x, y FROM (VALUES (114.30::float8, 38.15::float8), (114.35, 38.10), "
            "(114.40, 38.20)) v(x, y) WHERE NOT EXISTS (SELECT 1 FROM landmatch.parcel p "
            "WHERE ST_DWithin(p.geom, ST_SetSRID(ST_MakePoint(x, y), 4490), 0.01)) LIMIT 1"
        )
    ).one()
    return {"code": code, "version": version, "x": spot.x, "y": spot.y}


def _moved_into_sjz(p: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": p["code"], "city_code": "130100"},
                    "geometry": square(p["x"], p["y"], 0.001),
                }
            ],
        }
    ).encode()


def _state(session: Session, code: str) -> tuple[str, int]:
    row = session.execute(
        text("SELECT city_code, version FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).one()
    return str(row[0]), int(row[1])


def test_the_bureau_cannot_roll_an_import_back_into_another_city(
    client: TestClient, session: Session, tokens: dict[str, str], ts_parcel: dict[str, Any]
) -> None:
    code = ts_parcel["code"]
    # The admin's import moves the 唐山 parcel into 石家庄, beside a new 石家庄 parcel.
    data = _moved_into_sjz(ts_parcel)
    fc = json.loads(data)
    fc["features"].append(feature("T-RB-NEW", square(ts_parcel["x"] + 0.005, ts_parcel["y"])))
    r = post_import(client, tokens["admin"], "move.geojson", json.dumps(fc).encode(), reason="x")
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["updated"] == 1 and r.json()["totals"]["created"] == 1
    import_id = r.json()["import_id"]
    moved = _state(session, code)
    assert moved[0] == "130100"
    # A restore of the 唐山 version is refused to the 石家庄 bureau, as it was.
    h = auth(tokens["bureau"])
    url = f"/api/parcels/{code}"
    r = client.post(
        f"{url}/restore",
        json={"version": ts_parcel["version"]},
        headers=with_etag(client, url, h),
    )
    assert r.status_code == 403 and "唐山市" in r.json()["detail"], r.text
    # So is the rollback that would do the same: whole, nothing written.
    r = client.post(f"/api/imports/{import_id}/rollback", headers=h)
    assert r.status_code == 403, r.text
    body = r.json()
    assert f"#{import_id}" in body["detail"] and "唐山市" in body["detail"], body
    assert code in body["detail"] and "未做任何更改" in body["detail"]
    assert body["errors"] == [
        {"code": code, "city_code": "130200", "reason": "撤销后将恢复为唐山市的地块"}
    ]
    assert _state(session, code) == moved
    assert session.execute(
        text("SELECT count(*) FROM landmatch.parcel WHERE code = 'T-RB-NEW'")
    ).scalar()
    assert (
        session.execute(
            text("SELECT status FROM landmatch.import_batch WHERE id = :i"), {"i": import_id}
        ).scalar()
        == "committed"
    )
    # The admin may: the parcel is back in 唐山, the new one gone.
    r = client.post(f"/api/imports/{import_id}/rollback", headers=auth(tokens["admin"]))
    assert r.status_code == 200, r.text
    assert r.json()["restored"] == 1 and r.json()["deleted"] == 1
    assert _state(session, code)[0] == "130200"


def test_the_bureau_cannot_roll_back_a_parcel_now_in_another_city(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    """The other direction, as before: a parcel the import left in 唐山 is refused too."""
    data = geojson_bytes(feature("T-RB-TS", square(118.30, 39.75, 0.001), city_code="130200"))
    r = post_import(client, tokens["admin"], "ts.geojson", data, reason="x")
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/imports/{r.json()['import_id']}/rollback", headers=auth(tokens["bureau"])
    )
    assert r.status_code == 403, r.text
    assert r.json()["errors"] == [
        {"code": "T-RB-TS", "city_code": "130200", "reason": "现属唐山市"}
    ]


def test_the_wizards_rollback_is_refused_alike(
    client: TestClient,
    session: Session,
    passwords: dict[str, str],
    ts_parcel: dict[str, Any],
) -> None:
    code = ts_parcel["code"]
    conn = session.connection()
    limits = wizard.Limits(inline_max_bytes=1 << 30)
    upload = group_files([("move.geojson", _moved_into_sjz(ts_parcel))], 1 << 30)
    job_id = wizard.create_job(conn, ADMIN, upload, limits)
    wizard.save_options(conn, job_id, ADMIN, {"city": "130100", "reason": "x"}, {})
    for commit in (False, True):
        wizard.start(conn, job_id, ADMIN, commit=commit)
        wizard.execute(conn, job_id, ADMIN, commit=commit, limits=limits)
    job = wizard.job_for(conn, job_id, ADMIN)
    assert job["state"] == "committed" and job["city_code"] == "130100", job
    moved = _state(session, code)
    assert moved[0] == "130100"
    session.flush()
    # The 石家庄 bureau sees the job (its city's) and is refused its rollback.
    csrf = sign_in(client, passwords["bureau"])
    url = f"/workbench/imports/{job_id}"
    assert client.get(url).status_code == 200
    r = client.post(
        url + "/rollback", data={"csrf_token": csrf, "reason": "撤销"}, follow_redirects=False
    )
    assert r.status_code == 403, r.text[:300]
    assert "唐山市" in r.text and code in r.text
    assert _state(session, code) == moved
    assert wizard.job_for(conn, job_id, ADMIN)["state"] == "committed"
