"""Data-quality checks find planted problems; constraint states never turn "not checked" into
"clear"."""

from __future__ import annotations

from sqlalchemy import text

from landmatch.auth import Principal
from landmatch.inventory.imports import ImportOptions, run_import
from landmatch.inventory.qa import run_checks
from tests.conftest import auth
from tests.inventory.conftest import feature, geojson_bytes, square

ADMIN = Principal(name="qa", role="admin")


def _plant(conn) -> None:  # type: ignore[no-untyped-def]
    thin = {
        "type": "Polygon",
        "coordinates": [
            [
                [114.70, 38.20],
                [114.71, 38.20],
                [114.71, 38.2001],
                [114.70, 38.2001],
                [114.70, 38.20],
            ]
        ],
    }
    run_import(
        conn,
        geojson_bytes(
            feature(
                "QA-A",
                square(114.60, 38.30, 0.002),
                checklist=["title_clear"],
                power_kva=800,
                power_as_of="2020-01-01",
            ),
            feature("QA-B", square(114.601, 38.301, 0.002), status="unsupplied"),
            feature("QA-THIN", thin, status="unsupplied"),
        ),
        "qa.geojson",
        ADMIN,
        ImportOptions(),
    )


def test_checks_find_planted_problems(session):  # type: ignore[no-untyped-def]
    conn = session.connection()
    _plant(conn)
    res = {c["id"]: c for c in run_checks(session, ADMIN, city="130100", stale_days=365)["checks"]}
    overlap = [
        i for i in res["overlaps"]["items"] if {i["code"], i["other_code"]} == {"QA-A", "QA-B"}
    ]
    assert (
        overlap and 8_000 < float(overlap[0]["overlap_m2"]) < 12_000
    )  # 0.001° × 0.001° ≈ 9 700 m²
    assert "QA-THIN" in {i["code"] for i in res["slivers"]["items"]}
    stale = [i for i in res["stale_utilities"]["items"] if i["code"] == "QA-A"]
    assert stale and stale[0]["field"] == "power_as_of"
    missing = [i for i in res["ready_checklist"]["items"] if i["code"] == "QA-A"][0]
    assert "no_dispute" in missing["missing"] and "title_clear" not in missing["missing"]
    assert "无法律经济纠纷" in missing["missing_labels"]


def test_outside_city_and_exclusion(session):  # type: ignore[no-untyped-def]
    conn = session.connection()
    _plant(conn)
    conn.execute(text("UPDATE landmatch.parcel SET city_code = '130200' WHERE code = 'QA-B'"))
    res = {c["id"]: c for c in run_checks(session, ADMIN)["checks"]}
    wrong = [i for i in res["outside_city"]["items"] if i["code"] == "QA-B"]
    assert wrong and wrong[0]["located_in"] == "130100"
    # A parcel planted inside an exclusion area is reported with the overlap.
    k = conn.execute(
        text(
            "SELECT code, ST_AsText(ST_PointOnSurface(geom)) FROM "
            "landmatch.constraint_area WHERE severity = 'excludes' LIMIT 1"
        )
    ).first()
    x, y = (float(v) for v in k[1].removeprefix("POINT(").rstrip(")").split())
    conn.execute(
        text(
            "UPDATE landmatch.parcel SET geom = ST_Multi(ST_Buffer(ST_SetSRID("
            "ST_MakePoint(:x, :y), 4490), 0.001, 2)) WHERE code = 'QA-A'"
        ),
        {"x": x, "y": y},
    )
    res = {c["id"]: c for c in run_checks(session, ADMIN)["checks"]}
    hits = [i for i in res["in_exclusion"]["items"] if i["code"] == "QA-A"]
    assert hits and hits[0]["constraint_code"] == k[0] and float(hits[0]["overlap_m2"]) > 0


def test_constraint_states_three_way(session):  # type: ignore[no-untyped-def]
    res = {c["id"]: c for c in run_checks(session, ADMIN)["checks"]}
    states = res["constraints"]["items"]
    total = session.execute(
        text("SELECT count(*) FROM landmatch.parcel WHERE deleted_at IS NULL")
    ).scalar()
    for s in states:
        assert s["inside"] + s["clear"] + s["not_checked"] == total
    # Cities with no data of a kind are "not checked", never "clear".
    covered = session.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel p WHERE p.deleted_at IS NULL AND EXISTS ("
            "SELECT 1 FROM landmatch.constraint_area k JOIN landmatch.admin_division d "
            "ON d.code = p.city_code AND ST_Intersects(d.geom, k.geom) WHERE k.kind = 'flood')"
        )
    ).scalar()
    flood = next(s for s in states if s["kind"] == "flood")
    assert flood["inside"] + flood["clear"] == covered
    assert flood["not_checked"] == total - covered


def test_qa_api_roles(client, tokens):  # type: ignore[no-untyped-def]
    assert client.get("/api/qa").status_code == 401
    r = client.get("/api/qa?stale_days=30&limit=5", headers=auth(tokens["bureau"]))
    assert r.status_code == 200
    body = r.json()
    assert body["city"] == "130100"  # a city bureau sees its own city
    assert {c["id"] for c in body["checks"]} == {
        "overlaps",
        "outside_city",
        "in_exclusion",
        "slivers",
        "stale_utilities",
        "ready_checklist",
        "constraints",
    }
