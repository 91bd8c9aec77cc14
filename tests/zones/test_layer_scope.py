"""City scope of reference-layer writes (issue #13 item 5): a bureau imports, replaces, changes,
deletes and declares coverage for features of its own city only; province-wide features and
features reaching another city are the admin's. Through the API and the CLI (``--user``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from landmatch.accounts.users import add_user
from landmatch.reflayers.scope import cities_reached
from landmatch.settings import Settings
from tests.conftest import auth, with_etag
from tests.zones.conftest import box, geojson, point

pytestmark = pytest.mark.usefixtures("facts_ready")
CA = "/api/layers/constraint_area"
FAC = "/api/layers/facility"


def _codes(conn: Connection, layer: str, city: str | None = "any") -> set[str]:
    where = "" if city == "any" else "WHERE city_code IS NOT DISTINCT FROM :c"
    return set(
        conn.execute(text(f"SELECT code FROM landmatch.{layer} {where}"), {"c": city}).scalars()
    )


def _inside(conn: Connection, city: str, half: float = 0.01) -> dict[str, Any]:
    """A small box well inside ``city`` (around one of its parcels)."""
    p = conn.execute(
        text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(p.geom) c "
            "FROM landmatch.parcel p JOIN landmatch.admin_division a ON a.code = :city "
            "WHERE p.city_code = :city AND ST_Within(ST_Buffer(p.geom, 0.05), a.geom) "
            "ORDER BY p.id LIMIT 1) s"
        ),
        {"city": city},
    ).one()
    return box(p[0] - half, p[1] - half, p[0] + half, p[1] + half)


def _import(
    client: TestClient,
    token: str,
    layer_url: str,
    features: list[tuple[dict[str, Any], dict[str, Any]]],
    **data: str,
) -> httpx.Response:
    return client.post(
        layer_url + "/import",
        headers=auth(token),
        files={"file": ("layer.geojson", geojson(features), "application/geo+json")},
        data=data,
    )


def test_a_bureau_cannot_delete_another_citys_features(
    conn: Connection, client: TestClient, tokens: dict[str, str]
) -> None:
    h = auth(tokens["bureau"])  # 石家庄 130100
    for url, code, where in (
        (FAC, "airport-tvs", "唐山市"),  # 唐山三女河机场
        (CA, "bf-changli-demo", "秦皇岛市"),  # 秦皇岛's permanent basic farmland
        (CA, "eco-baiyangdian", "全省"),  # reaches 保定 and 沧州: province-wide
    ):
        r = client.delete(f"{url}/{code}", headers={**h, "If-Match": "*"})
        assert r.status_code == 403, r.text
        assert where in r.json()["detail"]
    assert {"bf-changli-demo", "eco-baiyangdian"} <= _codes(conn, "constraint_area")
    assert "airport-tvs" in _codes(conn, "facility")
    # Its own city's features it may delete; the admin every one.
    own = f"{CA}/ws-gangnan"
    assert client.delete(own, headers=h).status_code == 428  # If-Match, as for every write
    assert client.delete(own, headers=with_etag(client, own, h)).status_code == 200
    own = f"{FAC}/airport-sjw"
    assert client.delete(own, headers=with_etag(client, own, h)).status_code == 200
    admin = auth(tokens["admin"])
    r = client.delete(
        f"{CA}/eco-baiyangdian", headers=with_etag(client, f"{CA}/eco-baiyangdian", admin)
    )
    assert r.status_code == 200 and r.json()["deleted"] == ["eco-baiyangdian"]
    for role in ("promoter", "zone"):
        assert client.delete(f"{CA}/bf-changli-demo", headers=auth(tokens[role])).status_code == 403
    assert client.delete(f"{CA}/bf-changli-demo").status_code == 401
    assert "bf-changli-demo" in _codes(conn, "constraint_area")


def test_replace_replaces_only_within_the_callers_city(
    conn: Connection, client: TestClient, tokens: dict[str, str]
) -> None:
    others_before = _codes(conn, "constraint_area") - _codes(conn, "constraint_area", "130100")
    hits_elsewhere = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel_fact f JOIN landmatch.parcel p "
            "ON p.id = f.parcel_id WHERE p.city_code <> '130100' AND f.excluded"
        )
    ).scalar_one()
    assert hits_elsewhere > 0 and len(others_before) >= 10
    assert _codes(conn, "constraint_area", "130100") == {
        "eco-gaocheng-demo",
        "ws-gangnan",
        "ws-huangbizhuang",
    }
    feature = ({"code": "eco-sjz-new", "name": "石家庄新红线", "kind": "生态保护红线"},)
    # A file of one kind would delete the city's water-source areas: refused, naming them,
    # unless the caller says so (other_kinds), and nothing is written.
    refused = _import(
        client,
        tokens["bureau"],
        CA,
        [(feature[0], _inside(conn, "130100"))],
        replace="true",
        reason="石家庄红线更新",
    )
    assert refused.status_code == 409, refused.text
    assert "替换将删除文件中没有的类型：" in refused.json()["detail"]
    assert _codes(conn, "constraint_area", "130100") == {
        "eco-gaocheng-demo",
        "ws-gangnan",
        "ws-huangbizhuang",
    }
    r = _import(
        client,
        tokens["bureau"],
        CA,
        [(feature[0], _inside(conn, "130100"))],
        replace="true",
        other_kinds="true",
        reason="石家庄红线更新",
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["inserted"] == ["eco-sjz-new"]
    assert sorted(report["deleted"]) == ["eco-gaocheng-demo", "ws-gangnan", "ws-huangbizhuang"]
    assert _codes(conn, "constraint_area", "130100") == {"eco-sjz-new"}
    assert _codes(conn, "constraint_area") - {"eco-sjz-new"} == others_before
    assert (
        conn.execute(
            text(
                "SELECT count(*) FROM landmatch.parcel_fact f JOIN landmatch.parcel p "
                "ON p.id = f.parcel_id WHERE p.city_code <> '130100' AND f.excluded"
            )
        ).scalar()
        == hits_elsewhere
    )
    # The same for facilities: 石家庄's are replaced, nobody else's.
    n_other = len(_codes(conn, "facility")) - len(_codes(conn, "facility", "130100"))
    r = _import(
        client,
        tokens["bureau"],
        FAC,
        [({"code": "port-sjz-dry", "name": "石家庄内陆港", "kind": "port"}, point(114.6, 38.0))],
        replace="true",
        other_kinds="true",
    )
    assert r.status_code == 200, r.text
    assert _codes(conn, "facility", "130100") == {"port-sjz-dry"}
    assert len(_codes(conn, "facility")) - 1 == n_other
    # The admin's replace is province-wide.
    r = _import(
        client,
        tokens["admin"],
        CA,
        [(feature[0], _inside(conn, "130100"))],
        replace="true",
        other_kinds="true",
    )
    assert r.status_code == 200, r.text
    assert _codes(conn, "constraint_area") == {"eco-sjz-new"}


def test_writes_outside_the_city_are_refused_whole(
    conn: Connection, client: TestClient, tokens: dict[str, str]
) -> None:
    token = tokens["bureau"]
    n_hist = conn.execute(text("SELECT count(*) FROM landmatch.layer_version")).scalar()
    own = (
        {"code": "eco-sjz-ok", "name": "石家庄红线", "kind": "eco_redline"},
        _inside(conn, "130100"),
    )
    # Updating 秦皇岛's farmland under its code (here: moving it into 石家庄).
    taken = ({"code": "bf-changli-demo", "name": "改写", "kind": "basic_farmland"}, own[1])
    r = _import(client, token, CA, [own, taken])
    assert r.status_code == 403, r.text
    assert r.json()["errors"] == [
        {"row": 2, "field": "city_code", "reason": "编码 bf-changli-demo 的要素属于秦皇岛市"}
    ]
    # A new area in 唐山, said or not said to be 石家庄's.
    tangshan = _inside(conn, "130200")
    r = _import(
        client,
        token,
        CA,
        [own, ({"code": "eco-ts-x", "name": "x", "kind": "eco_redline"}, tangshan)],
    )
    assert r.status_code == 403 and "唐山市" in r.json()["detail"]
    r = _import(
        client,
        token,
        CA,
        [
            (
                {"code": "eco-ts-x", "name": "x", "kind": "eco_redline", "city_code": "130100"},
                tangshan,
            )
        ],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "city_code"
    assert "唐山市" in r.json()["detail"]
    # An area of 石家庄 reaching into a neighbour.
    edge = conn.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_ClosestPoint(ST_Boundary(a.geom), "
            "ST_PointOnSurface(b.geom)) p FROM landmatch.admin_division a, "
            "landmatch.admin_division b WHERE a.code = '130100' AND b.code = '130600') s"
        )
    ).one()
    straddle = box(edge[0] - 0.05, edge[1] - 0.05, edge[0] + 0.05, edge[1] + 0.05)
    from shapely.geometry import shape

    reached = cities_reached(conn, [shape(straddle)])[0]
    assert "130100" in reached and len(reached) > 1
    r = _import(
        client,
        token,
        CA,
        [
            (
                {"code": "eco-edge", "name": "跨界", "kind": "eco_redline", "city_code": "130100"},
                straddle,
            )
        ],
    )
    assert r.status_code == 403 and "伸入" in r.json()["detail"]
    # A province-wide feature, by declaration.
    r = _import(
        client,
        token,
        CA,
        [
            (
                {"code": "eco-prov", "name": "全省", "kind": "eco_redline", "city_code": "130000"},
                own[1],
            )
        ],
    )
    assert r.status_code == 403 and "全省" in r.json()["detail"]
    # Coverage of another city, with an import or on its own.
    r = _import(client, token, CA, [own], covers="130300", covers_as_of="2025-06-30")
    assert r.status_code == 403 and "秦皇岛市" in r.json()["detail"]
    body = {"kinds": ["eco_redline"], "cities": ["130300"], "source": "x", "as_of": "2025-01-01"}
    assert client.post(f"{CA}/coverage", json=body, headers=auth(token)).status_code == 403
    r = client.delete(f"{CA}/coverage/basic_farmland/130300", headers=auth(token))
    assert r.status_code == 403
    # Nothing of any of it was written.
    assert conn.execute(text("SELECT count(*) FROM landmatch.layer_version")).scalar() == n_hist
    assert "eco-sjz-ok" not in _codes(conn, "constraint_area")
    # Its own city's area goes in, recorded as 石家庄's; the admin may write across cities.
    r = _import(client, token, CA, [own])
    assert r.status_code == 200 and r.json()["inserted"] == ["eco-sjz-ok"]
    assert "eco-sjz-ok" in _codes(conn, "constraint_area", "130100")
    r = _import(
        client,
        tokens["admin"],
        CA,
        [({"code": "eco-edge", "name": "跨界", "kind": "eco_redline"}, straddle)],
    )
    assert r.status_code == 200 and "eco-edge" in _codes(conn, "constraint_area", None)
    listed = {r["code"]: r["city_code"] for r in client.get(CA, headers=auth(token)).json()}
    assert listed["eco-sjz-ok"] == "130100" and listed["eco-edge"] is None


def test_province_managed_cities_are_their_own_scope(
    conn: Connection, session: Session, client: TestClient
) -> None:
    """辛集 lies inside 石家庄's boundary but has its own bureau: each writes its own only."""
    xinji = add_user(session, "t-bureau-xj", "bureau", "130181")
    session.flush()
    inside = _inside(conn, "130181", 0.005)
    sjz_token = add_user(session, "t-bureau-sjz2", "bureau", "130100")
    session.flush()
    f = [({"code": "ws-xinji", "name": "辛集水源地", "kind": "water_source"}, inside)]
    assert _import(client, sjz_token, CA, f).status_code == 403
    r = _import(client, xinji, CA, f)
    assert r.status_code == 200, r.text
    assert "ws-xinji" in _codes(conn, "constraint_area", "130181")


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landmatch.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "LANDMATCH_DATABASE_URL": url},
        timeout=120,
    )


def test_the_cli_acts_as_the_given_user(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO landmatch.app_user (name, role, city_code) "
                "VALUES ('t-cli-sjz', 'bureau', '130100')"
            )
        )
    try:
        r = _cli(
            "layers",
            "delete",
            "constraint_area",
            "bf-changli-demo",
            "--user",
            "t-cli-sjz",
            url=settings.database_url,
        )
        assert r.returncode == 2 and "秦皇岛市" in r.stderr and "Traceback" not in r.stderr
        path = tmp_path / "ts.geojson"
        with engine.connect() as c:
            path.write_bytes(
                geojson(
                    [
                        (
                            {"code": "eco-cli-ts", "name": "x", "kind": "eco_redline"},
                            _inside(c, "130200"),
                        )
                    ]
                )
            )
        r = _cli(
            "layers",
            "import",
            "constraint_area",
            str(path),
            "--replace",
            "--user",
            "t-cli-sjz",
            url=settings.database_url,
        )
        assert r.returncode == 2 and "唐山市" in r.stderr
        r = _cli(
            "layers",
            "coverage",
            "withdraw",
            "--kind",
            "basic_farmland",
            "--city",
            "130300",
            "--user",
            "t-cli-sjz",
            url=settings.database_url,
        )
        assert r.returncode == 2 and "秦皇岛市" in r.stderr
        r = _cli(
            "layers",
            "delete",
            "facility",
            "airport-tvs",
            "--user",
            "nobody",
            url=settings.database_url,
        )
        assert r.returncode == 2 and "nobody" in r.stderr
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.app_user WHERE name = 't-cli-sjz'"))
    with engine.connect() as c:
        assert {"bf-changli-demo", "eco-gaocheng-demo"} <= _codes(c, "constraint_area")
        assert c.execute(
            text("SELECT count(*) FROM landmatch.constraint_coverage WHERE city_code = '130300'")
        ).scalar()
