"""Data-quality checks find planted problems; constraint states never turn "not checked" into
"clear"."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.inventory.imports import ImportOptions, run_import
from landmatch.inventory.qa import run_checks
from tests.conftest import auth
from tests.inventory.conftest import feature, geojson_bytes, square

ADMIN = Principal(name="qa", role="admin")


def _plant(conn: Connection) -> None:
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
            feature("QA-B", square(114.601, 38.301, 0.002), status="unsupplied", water_m3d=500),
            feature("QA-THIN", thin, status="unsupplied"),
        ),
        "qa.geojson",
        ADMIN,
        ImportOptions(),
    )


def test_checks_find_planted_problems(session: Session) -> None:
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
    undated = [i for i in res["undated_utilities"]["items"] if i["code"] == "QA-B"]
    assert [i["field"] for i in undated] == ["water_as_of"]  # a capacity of unknown age
    assert not [i for i in res["undated_utilities"]["items"] if i["code"] == "QA-A"]
    missing = [i for i in res["ready_checklist"]["items"] if i["code"] == "QA-A"][0]
    assert "no_dispute" in missing["missing"] and "title_clear" not in missing["missing"]
    assert "无法律经济纠纷" in missing["missing_labels"]


def test_outside_city_and_exclusion(session: Session) -> None:
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
    ).one()
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


def _states(session: Session, city: str | None = None) -> dict[str, Any]:
    res = {c["id"]: c for c in run_checks(session, ADMIN, city=city)["checks"]}
    return res["constraints"]


def _live(session: Session, city: str | None = None) -> int:
    return int(
        session.execute(
            text(
                "SELECT count(*) FROM landmatch.parcel WHERE deleted_at IS NULL "
                "AND (CAST(:c AS text) IS NULL OR city_code = :c)"
            ),
            {"c": city},
        ).scalar_one()
    )


def test_constraint_states_three_way(session: Session) -> None:
    states = _states(session)
    total = _live(session)
    for s in states["items"]:
        assert s["inside"] + s["clear"] + s["not_checked"] == total
    # "Clear" only where the kind's coverage is declared for the parcel's city; the rest of
    # the parcels not inside are "not checked", never "clear".
    covered = {
        kind: int(
            session.execute(
                text(
                    "SELECT count(*) FROM landmatch.parcel p WHERE p.deleted_at IS NULL AND "
                    "EXISTS (SELECT 1 FROM landmatch.constraint_coverage c "
                    "WHERE c.city_code = p.city_code AND c.kind = :k)"
                ),
                {"k": kind},
            ).scalar_one()
        )
        for kind in ("flood", "basic_farmland")
    }
    flood = next(s for s in states["items"] if s["kind"] == "flood")
    assert covered["flood"] > 0 and flood["clear"] > 0
    assert flood["clear"] <= covered["flood"]
    assert flood["inside"] + flood["clear"] + flood["not_checked"] == total
    farmland = next(s for s in states["items"] if s["kind"] == "basic_farmland")
    # The demo declares farmland for 保定 and 秦皇岛 only: clear there, not checked elsewhere.
    assert 0 < farmland["clear"] <= covered["basic_farmland"] < total
    assert farmland["clear"] + farmland["not_checked"] + farmland["inside"] == total
    assert farmland["not_checked"] >= total - covered["basic_farmland"] - farmland["inside"]
    # Per city and kind, with the declaration each "clear" rests on.
    for row in states["by_city"]:
        assert row["inside"] + row["clear"] + row["not_checked"] == _live(session, row["city_code"])
        if not row["covered"]:
            assert row["clear"] == 0 and row["coverage"] is None
        else:
            assert row["not_checked"] == 0 and row["coverage"]["as_of"]


def test_a_red_line_spilling_into_a_city_does_not_cover_it(session: Session) -> None:
    """白洋淀 (保定) reaches 2 km² into 沧州 and 潘家口 (唐山) into 承德: neither neighbour is
    "checked" for that kind, while the cities the layers belong to are."""
    spill = session.execute(
        text(
            "SELECT k.code, d.code FROM landmatch.constraint_area k JOIN landmatch.admin_division d "
            "ON d.level = 'city' AND ST_Intersects(d.geom, k.geom) WHERE k.code IN "
            "('eco-baiyangdian', 'ws-panjiakou') ORDER BY 1, 2"
        )
    ).all()
    assert ("eco-baiyangdian", "130900") in spill and ("ws-panjiakou", "130800") in spill
    for city, kind, owner in (
        ("130900", "eco_redline", "130600"),
        ("130800", "water_source", "130200"),
    ):
        n = _live(session, city)
        assert n > 0
        states = _states(session, city)
        total = next(i for i in states["items"] if i["kind"] == kind)
        assert total["clear"] == 0 and total["inside"] + total["not_checked"] == n
        row = next(r for r in states["by_city"] if r["kind"] == kind)
        assert row["covered"] is False and row["clear"] == 0
        owner_row = next(r for r in _states(session, owner)["by_city"] if r["kind"] == kind)
        assert owner_row["covered"] is True and owner_row["clear"] > 0
        assert owner_row["not_checked"] == 0


def test_declaring_and_withdrawing_coverage_moves_parcels_between_states(session: Session) -> None:
    from landmatch.reflayers import coverage

    n = _live(session, "130900")

    def eco() -> dict[str, Any]:
        return next(r for r in _states(session, "130900")["by_city"] if r["kind"] == "eco_redline")

    assert (eco()["clear"], eco()["not_checked"]) == (0, n - eco()["inside"])
    coverage.change(
        session,
        ADMIN,
        ["生态保护红线"],
        ["130900"],
        source="沧州市生态保护红线成果（测试）",
        as_of=dt.date(2025, 6, 30),
    )
    row = eco()
    assert row["covered"] and row["coverage"]["source"] == "沧州市生态保护红线成果（测试）"
    assert (row["clear"], row["not_checked"]) == (n - row["inside"], 0)
    coverage.change(session, ADMIN, ["eco_redline"], ["130900"], withdraw=True)
    assert eco()["clear"] == 0 and eco()["covered"] is False


def _box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"ST_Multi(ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4490))"


def _plant_edge_case(session: Session) -> dict[str, int]:
    """An excluding area and three parcels around it: one sharing its west edge, one touching
    its north-east corner, one overlapping it by about 0.0005° × 0.001° (≈ 4 800 m²)."""
    from landmatch.db.facts import refresh_facts

    x0, y0, x1, y1 = 114.640, 38.120, 114.650, 38.130  # 石家庄, clear of the demo areas
    session.execute(
        text(
            "INSERT INTO landmatch.constraint_area (code, name, kind, severity, geom) "
            f"VALUES ('eco-edge-test', '边界测试红线', 'eco_redline', 'excludes', {_box(x0, y0, x1, y1)})"
        )
    )
    ids = {}
    for code, geom in (
        ("QA-EDGE", _box(x0 - 0.002, y0 + 0.002, x0, y0 + 0.004)),
        ("QA-CORNER", _box(x1, y1, x1 + 0.002, y1 + 0.002)),
        ("QA-OVERLAP", _box(x1 - 0.0005, y0 + 0.002, x1 + 0.0015, y0 + 0.003)),
    ):
        ids[code] = session.execute(
            text(
                "INSERT INTO landmatch.parcel (code, name, city_code, status, land_use, geom) "
                f"VALUES (:c, :n, '130100', 'ready', '100102', {geom}) RETURNING id"
            ),
            {"c": code, "n": f"测试{code}"},
        ).scalar_one()
    refresh_facts(session.connection(), list(ids.values()))
    return ids


def test_touching_an_exclusion_area_is_not_inside(session: Session) -> None:
    ids = _plant_edge_case(session)
    touching = session.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel p JOIN landmatch.constraint_area k "
            "ON k.code = 'eco-edge-test' AND ST_Touches(p.geom, k.geom) WHERE p.code IN "
            "('QA-EDGE', 'QA-CORNER')"
        )
    ).scalar()
    assert touching == 2  # they do share boundary points (ST_Intersects is true for both)
    res = {c["id"]: c for c in run_checks(session, ADMIN, city="130100")["checks"]}
    listed = {i["code"]: i for i in res["in_exclusion"]["items"]}
    assert "QA-EDGE" not in listed and "QA-CORNER" not in listed
    assert 4_000 < float(listed["QA-OVERLAP"]["overlap_m2"]) < 5_500
    assert all(float(i["overlap_m2"]) >= 1 for i in res["in_exclusion"]["items"])
    facts: dict[str, bool | None] = dict(
        session.execute(
            text(
                "SELECT p.code, f.excluded FROM landmatch.parcel_fact f JOIN landmatch.parcel p "
                "ON p.id = f.parcel_id WHERE f.parcel_id = ANY(:i)"
            ),
            {"i": list(ids.values())},
        ).all()
    )
    # 石家庄 is not covered for every excluding kind (no farmland layer): not checked.
    assert facts == {"QA-EDGE": None, "QA-CORNER": None, "QA-OVERLAP": True}
    hits = session.execute(
        text("SELECT constraint_hits FROM landmatch.parcel_fact WHERE parcel_id = :i"),
        {"i": ids["QA-EDGE"]},
    ).scalar_one()
    assert hits == []


def test_a_sliver_below_one_square_metre_is_not_inside(session: Session) -> None:
    from landmatch.db.constraints import MIN_OVERLAP_M2

    _plant_edge_case(session)
    # Overlapping by 1e-8° × 0.002° ≈ 0.2 m²: interiors meet, but not by a meaningful area.
    session.execute(
        text(
            "INSERT INTO landmatch.parcel (code, name, city_code, status, land_use, geom) VALUES "
            "('QA-SLIVER', 'QA-SLIVER', '130100', 'ready', '100102', "
            f"{_box(114.64999999, 38.1205, 114.652, 38.1225)})"
        )
    )
    area = session.execute(
        text(
            "SELECT ST_Area(ST_Intersection(p.geom, k.geom)::geography, true) FROM "
            "landmatch.parcel p, landmatch.constraint_area k WHERE p.code = 'QA-SLIVER' "
            "AND k.code = 'eco-edge-test'"
        )
    ).scalar_one()
    assert 0 < area < MIN_OVERLAP_M2
    res = {c["id"]: c for c in run_checks(session, ADMIN, city="130100")["checks"]}
    assert "QA-SLIVER" not in {i["code"] for i in res["in_exclusion"]["items"]}


def test_qa_api_roles(client: TestClient, tokens: dict[str, str]) -> None:
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
        "undated_utilities",
        "land_use_pending",
        "ready_checklist",
        "lease_over_ceiling",
        "constraints",
    }


def test_qa_api_keeps_a_bureau_to_its_city(client: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens["bureau"])  # 石家庄's bureau
    r = client.get("/api/qa?city=130200&limit=1", headers=h)
    assert r.status_code == 403
    problem = r.json()
    assert "唐山市" in problem["detail"] and "石家庄市" in problem["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/api/qa?city=130100&limit=1", headers=h)
    assert r.status_code == 200 and r.json()["city"] == "130100"
    # The province and other roles choose any city.
    r = client.get("/api/qa?city=130200&limit=1", headers=auth(tokens["admin"]))
    assert r.status_code == 200 and r.json()["city"] == "130200"
    cities = {
        row["city_code"]
        for c in r.json()["checks"]
        if c["id"] == "constraints"
        for row in c["by_city"]
    }
    assert cities == {"130200"}
    assert client.get("/api/qa?city=999999", headers=h).status_code == 400


def test_lease_terms_over_the_ceiling_are_reported_in_the_viewers_city(session: Session) -> None:
    """Parcels stored with 出让年限 over their use's ceiling (before imports and edits refused
    it) are listed with the term and the ceiling, in the viewer's city only."""
    conn = session.connection()
    run_import(
        conn,
        geojson_bytes(
            feature("QA-LY1", square(114.60, 38.30, 0.002), lease_years=50),
            feature("QA-LY2", square(114.62, 38.30, 0.002), land_use="0901", lease_years=40),
            feature("QA-LY3", square(118.18, 39.63, 0.002), lease_years=50),  # 唐山
        ),
        "ly.geojson",
        ADMIN,
        ImportOptions(),
    )
    session.execute(  # as stored before the rule
        text(
            "UPDATE landmatch.parcel SET lease_years = CASE code WHEN 'QA-LY2' THEN 50 "
            "ELSE 70 END WHERE code LIKE 'QA-LY%'"
        )
    )
    found = {
        c["id"]: c
        for c in run_checks(session, ADMIN, city=None, only={"lease_over_ceiling"})["checks"]
    }["lease_over_ceiling"]
    items = {i["code"]: i for i in found["items"] if i["code"].startswith("QA-LY")}
    assert set(items) == {"QA-LY1", "QA-LY2", "QA-LY3"}
    assert items["QA-LY1"]["lease_years"] == 70 and items["QA-LY1"]["ceiling_years"] == 50
    assert items["QA-LY1"]["reason"] == "出让年限 70 年超过工业用地最高 50 年"
    assert items["QA-LY2"]["ceiling_years"] == 40
    assert items["QA-LY2"]["reason"] == "出让年限 50 年超过商业、旅游、娱乐用地最高 40 年"
    bureau = Principal(name="t-b", role="bureau", city_code="130100")
    mine = run_checks(session, bureau, only={"lease_over_ceiling"})["checks"][0]
    assert {i["code"] for i in mine["items"]} >= {"QA-LY1", "QA-LY2"}
    assert "QA-LY3" not in {i["code"] for i in mine["items"]}
    assert {i["code"] for i in mine["items"]} <= {
        c
        for (c,) in session.execute(
            text("SELECT code FROM landmatch.parcel WHERE city_code = '130100'")
        )
    }
