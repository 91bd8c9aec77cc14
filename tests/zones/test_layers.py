"""Reference-layer changes: history, incremental fact refresh (only affected parcels), change
report, alerts for the bureaus concerned, refusal of wrong geometry types."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Row, text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.db.locking import ANY
from landmatch.reflayers import changes, facts
from tests.conftest import auth, with_etag
from tests.zones.conftest import box, fact_state, geojson, point

pytestmark = pytest.mark.usefixtures("facts_ready")
ADMIN = Principal(name="t-admin", role="admin")


def _ready_cluster(conn: Connection, city: str) -> Row[*tuple[Any, ...]]:
    """A small box around a few ready parcels of ``city`` that no constraint touches yet."""
    return conn.execute(
        text(
            "SELECT ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 FROM ("
            " SELECT ST_Envelope(ST_Buffer(ST_PointOnSurface(p.geom), 0.02)) e"
            " FROM landmatch.parcel p JOIN landmatch.parcel_fact f ON f.parcel_id = p.id"
            " WHERE p.status = 'ready' AND p.city_code = :c AND f.constraint_hits = '[]'::jsonb"
            " ORDER BY p.id LIMIT 1) s"
        ),
        {"c": city},
    ).one()


def _full_recompute_matches(conn: Connection) -> None:
    """The incremental result equals a from-scratch recomputation for every parcel."""
    incremental = fact_state(conn)
    conn.execute(text("SAVEPOINT full_check"))
    facts.refresh(conn, None)
    full = fact_state(conn)
    conn.execute(text("ROLLBACK TO SAVEPOINT full_check"))
    cols = [c for c in facts.FACT_COLUMNS]
    for pid, row in full.items():
        for c in cols:
            a, b = incremental[pid][c], row[c]
            if isinstance(a, float) and isinstance(b, float):
                assert a == pytest.approx(b, abs=1e-9), (pid, c)
            else:
                assert a == b, (pid, c)


def test_new_red_line_touches_only_its_parcels(
    conn: Connection, session: Session, client: TestClient, tokens: dict[str, str]
) -> None:
    b = _ready_cluster(conn, "130100")
    inside = set(
        conn.execute(
            text(
                "SELECT id FROM landmatch.parcel WHERE deleted_at IS NULL AND "
                "ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4490))"
            ),
            {"a": b.x0, "b": b.y0, "c": b.x1, "d": b.y1},
        ).scalars()
    )
    ready_inside = set(
        conn.execute(
            text("SELECT id FROM landmatch.parcel WHERE id = ANY(:i) AND status = 'ready'"),
            {"i": list(inside)},
        ).scalars()
    )
    assert ready_inside
    before = fact_state(conn)
    state0 = conn.execute(
        text("SELECT version FROM landmatch.data_state WHERE name = 'all'")
    ).scalar()
    data = geojson(
        [
            (
                {"code": "eco-test-new", "name": "测试生态红线", "kind": "生态保护红线"},
                box(b.x0, b.y0, b.x1, b.y1),
            )
        ]
    )
    r = client.post(
        "/api/layers/constraint_area/import",
        headers=auth(tokens["bureau"]),
        files={"file": ("redline.geojson", data, "application/geo+json")},
        data={"reason": "新划定红线"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["inserted"] == ["eco-test-new"]
    assert report["affected_parcels"] == len(inside)
    assert {h["parcel_id"] for h in report["hits_gained"]} == inside
    after = fact_state(conn)
    changed = {pid for pid in after if after[pid]["computed_at"] != before[pid]["computed_at"]}
    assert changed == inside  # only the affected parcels were recomputed
    for pid in inside:
        assert after[pid]["excluded"] is True
        assert any(h["code"] == "eco-test-new" for h in after[pid]["constraint_hits"])
    # Alert rows for the city concerned; its bureau sees them, another city's does not.
    assert [(a["city_code"], a["ready_count"]) for a in report["alerts"]] == [
        ("130100", len(ready_inside))
    ]
    alerts = client.get("/api/alerts", headers=auth(tokens["bureau"])).json()
    assert (
        alerts[0]["record_code"] == "eco-test-new"
        and str(len(ready_inside)) in alerts[0]["message"]
    )
    from landmatch.accounts.users import add_user

    ts = add_user(session, "t-bureau-ts", "bureau", "130200")
    session.flush()
    assert all(
        a["city_code"] == "130200" for a in client.get("/api/alerts", headers=auth(ts)).json()
    )
    assert client.get("/api/alerts").status_code == 401
    # History and cache versions.
    hist = conn.execute(
        text(
            "SELECT op, actor, reason FROM landmatch.layer_version WHERE layer = 'constraint_area' "
            "AND row ->> 'code' = 'eco-test-new'"
        )
    ).all()
    assert [tuple(h) for h in hist] == [("insert", "t-bureau-sjz", "新划定红线")]
    assert (
        conn.execute(
            text("SELECT version FROM landmatch.data_state WHERE name = 'all'")
        ).scalar_one()
        > state0
    )
    _full_recompute_matches(conn)


def test_moved_and_deleted_constraint(conn: Connection, session: Session) -> None:
    b = _ready_cluster(conn, "130600")
    rec = {"code": "eco-move", "name": "移动测试", "kind": "eco_redline", "geometry": None}
    from shapely.geometry import box as sbox

    rec["geometry"] = sbox(b.x0, b.y0, b.x1, b.y1)
    changes.apply_changes(session, ADMIN, "constraint_area", [rec])
    before = fact_state(conn)
    moved = dict(rec, geometry=sbox(b.x0 + 0.01, b.y0, b.x1 + 0.01, b.y1), severity="penalises")
    report = changes.apply_changes(session, ADMIN, "constraint_area", [moved])
    assert report.updated == ["eco-move"]
    after = fact_state(conn)
    changed = {p for p in after if after[p]["computed_at"] != before[p]["computed_at"]}
    old_or_new = set(
        conn.execute(
            text(
                "SELECT id FROM landmatch.parcel WHERE ST_Intersects(geom, ST_MakeEnvelope("
                ":a, :b, :c, :d, 4490)) AND deleted_at IS NULL"
            ),
            {"a": b.x0, "b": b.y0, "c": b.x1 + 0.01, "d": b.y1},
        ).scalars()
    )
    assert changed and changed <= old_or_new
    assert report.affected_parcels == len(changed)
    _full_recompute_matches(conn)
    report = changes.delete_record(session, ADMIN, "constraint_area", "eco-move", if_match=ANY)
    assert report.deleted == ["eco-move"]
    assert not conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel_fact WHERE constraint_hits @> "
            '\'[{"code": "eco-move"}]\''
        )
    ).scalar()
    # Unchanged re-import is a no-op: nothing recomputed, no history row.
    n = conn.execute(text("SELECT count(*) FROM landmatch.layer_version")).scalar()
    same = (
        conn.execute(
            text(
                "SELECT code, name, kind, severity, source, geom FROM "
                "landmatch.constraint_area ORDER BY code LIMIT 1"
            )
        )
        .mappings()
        .one()
    )
    import shapely

    row = dict(same) | {"geometry": shapely.from_wkb(bytes.fromhex(str(same["geom"])))}
    assert changes.apply_changes(session, ADMIN, "constraint_area", [row]).unchanged == 1
    assert conn.execute(text("SELECT count(*) FROM landmatch.layer_version")).scalar() == n


def test_facility_changes_are_incremental_and_exact(conn: Connection, session: Session) -> None:
    p = conn.execute(
        text(
            "SELECT ST_X(c) x, ST_Y(c) y FROM (SELECT ST_PointOnSurface(geom) c FROM "
            "landmatch.parcel WHERE city_code = '130500' ORDER BY id LIMIT 1) s"
        )
    ).first()
    assert p is not None
    before = fact_state(conn)
    port = {
        "code": "port-inland-test",
        "name": "内陆港（测试）",
        "kind": "port",
        "city_code": "130500",
    }
    from shapely.geometry import Point

    report = changes.apply_changes(
        session, ADMIN, "facility", [port | {"geometry": Point(p.x + 0.01, p.y)}]
    )
    after = fact_state(conn)
    changed = {i for i in after if after[i]["computed_at"] != before[i]["computed_at"]}
    assert 0 < len(changed) < len(after)
    assert report.facts_changed.get("dist_port_km", 0) > 0
    moved = {i for i in after if after[i]["dist_port_km"] != before[i]["dist_port_km"]}
    assert moved <= changed  # every parcel whose value moved was in the selection
    assert all(after[i]["dist_port_km"] < before[i]["dist_port_km"] for i in moved)
    _full_recompute_matches(conn)
    # Moving it far away and then deleting it restores the original distances.
    changes.apply_changes(session, ADMIN, "facility", [port | {"geometry": Point(115.5, 41.9)}])
    _full_recompute_matches(conn)
    changes.delete_record(session, ADMIN, "facility", "port-inland-test", if_match=ANY)
    final = fact_state(conn)
    for i in before:
        assert final[i]["dist_port_km"] == pytest.approx(before[i]["dist_port_km"], abs=1e-9)


def test_wrong_geometry_type_refused(
    client: TestClient, tokens: dict[str, str], conn: Connection
) -> None:
    h = auth(tokens["admin"])
    n = conn.execute(text("SELECT count(*) FROM landmatch.facility")).scalar()
    poly = geojson(
        [({"code": "f-poly", "name": "面设施", "kind": "port"}, box(115, 38, 115.1, 38.1))]
    )
    r = client.post(
        "/api/layers/facility/import",
        headers=h,
        files={"file": ("f.geojson", poly, "application/geo+json")},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry"
    pt = geojson([({"code": "c-pt", "name": "点红线", "kind": "eco_redline"}, point(115, 38))])
    r = client.post(
        "/api/layers/constraint_area/import",
        headers=h,
        files={"file": ("c.geojson", pt, "application/geo+json")},
    )
    assert r.status_code == 422 and "Point" in r.json()["detail"]
    bad_kind = geojson([({"code": "f-x", "name": "x", "kind": "spaceport"}, point(115, 38))])
    r = client.post(
        "/api/layers/facility/import",
        headers=h,
        files={"file": ("f.geojson", bad_kind, "application/geo+json")},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    assert conn.execute(text("SELECT count(*) FROM landmatch.facility")).scalar() == n
    assert (
        client.post(
            "/api/layers/facility/import",
            headers=auth(tokens["promoter"]),
            files={"file": ("f.geojson", bad_kind, "x")},
        ).status_code
        == 403
    )


def test_zone_boundary_flows_into_facts(
    conn: Connection, client: TestClient, tokens: dict[str, str]
) -> None:
    """Shrinking a zone re-derives the containing zone of exactly the parcels it left, and
    bumps the data_state counters the tile cache keys on."""
    z = conn.execute(
        text(
            "SELECT z.id, z.code, ST_AsGeoJSON(ST_Buffer(z.geom, -0.004)) g FROM landmatch.dev_zone z "
            "JOIN landmatch.parcel_fact f ON f.zone_id = z.id JOIN landmatch.app_user u "
            "ON u.zone_id = z.id AND u.name = 't-zone' GROUP BY z.id"
        )
    ).first()
    if z is None:  # the zone user's zone holds no parcel in this seed: use any zone via admin
        z = conn.execute(
            text(
                "SELECT z.id, z.code, ST_AsGeoJSON(ST_Buffer(z.geom, -0.004)) g FROM "
                "landmatch.dev_zone z JOIN landmatch.parcel_fact f ON f.zone_id = z.id "
                "GROUP BY z.id ORDER BY count(*) DESC LIMIT 1"
            )
        ).first()
        token = tokens["admin"]
        assert z is not None
    else:
        token = tokens["zone"]
    import json

    before = fact_state(conn)
    v0: dict[str, int] = dict(
        conn.execute(text("SELECT name, version FROM landmatch.data_state")).all()
    )
    h = with_etag(client, f"/api/zones/{z.code}", auth(token))
    r = client.patch(f"/api/zones/{z.code}", headers=h, json={"geometry": json.loads(z.g)})
    assert r.status_code == 200, r.text
    after = fact_state(conn)
    left = {i for i in after if before[i]["zone_id"] == z.id and after[i]["zone_id"] != z.id}
    changed = {i for i in after if after[i]["computed_at"] != before[i]["computed_at"]}
    assert left and left <= changed
    assert all(after[i]["zone_id"] == before[i]["zone_id"] for i in set(after) - changed)
    assert r.json()["facts"]["zone_changed"] == len(left)
    v1: dict[str, int] = dict(
        conn.execute(text("SELECT name, version FROM landmatch.data_state")).all()
    )
    assert v1["dev_zone"] > v0["dev_zone"] and v1["all"] > v0["all"]
    _full_recompute_matches(conn)


def test_api_dry_run_reports_a_replace_and_writes_nothing(
    client: TestClient, tokens: dict[str, str], conn: Connection
) -> None:
    """``dry_run`` on the API import: the change report of a replace with a file of one
    substation — every other facility of the city listed as deleted — and nothing written
    (the same dry run the workbench's preview makes, ``changes.dry_run_changes``)."""
    h = auth(tokens["bureau"])

    def stored() -> set[str]:
        return set(
            conn.execute(
                text("SELECT code FROM landmatch.facility WHERE city_code = '130100'")
            ).scalars()
        )

    before = stored()
    versions = conn.execute(text("SELECT count(*) FROM landmatch.layer_version")).scalar()
    body = geojson(
        [({"code": "dry-sub-1", "name": "变电站", "kind": "substation"}, point(114.5, 38.04))]
    )
    r = client.post(
        "/api/layers/facility/import",
        headers=h,
        data={"replace": "true", "dry_run": "true"},
        files={"file": ("f.geojson", body, "application/geo+json")},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["inserted"] == ["dry-sub-1"] and set(report["deleted"]) == before
    assert stored() == before
    assert conn.execute(text("SELECT count(*) FROM landmatch.layer_version")).scalar() == versions
