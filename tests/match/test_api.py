"""``/api/match``, stored runs, projects, reservations and the reverse match over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.api.schemas import MatchResult
from landmatch.db.parcels import INTERNAL_COLUMNS
from tests.conftest import auth, with_etag

REQ = {"industry": "36", "area_mu_min": 20, "area_mu_max": 150, "top": 10}


def test_schema(client: TestClient) -> None:
    r = client.get("/api/match/schema")
    assert r.status_code == 200
    props = r.json()["properties"]
    for k in (
        "industry",
        "area_mu_min",
        "utilities",
        "budget",
        "supply_modes",
        "location",
        "proximity",
        "preset",
        "weights",
        "top",
        "assemblies",
        "include_coming",
    ):
        assert k in props


def test_public_match_sees_public_parcels_and_fields_only(
    client: TestClient, session: Session
) -> None:
    r = client.post("/api/match", json={**REQ, "include_coming": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["features"]
    codes = [f["id"] for f in body["features"]]
    rows = session.execute(
        text("SELECT code, status, visibility FROM landmatch.parcel WHERE code = ANY(:c)"),
        {"c": codes},
    ).all()
    assert {(s, v) for _c, s, v in rows} == {("ready", "public")}
    leaked = {
        "contact_name",
        "contact_phone",
        "holder",
        "reserve_price_wan_per_mu",
        "notes",
        "id",
        "visibility",
    } | set(INTERNAL_COLUMNS)
    for f in body["features"]:
        assert not leaked & set(f["properties"]), leaked & set(f["properties"])
    assert body["why_not"]["considered"] >= len(codes)


def test_promoter_matches_internal_inventory(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post(
        "/api/match",
        json={**REQ, "include_coming": True, "top": 50},
        headers=auth(tokens["promoter"]),
    )
    assert r.status_code == 200
    props = [f["properties"] for f in r.json()["features"]]
    assert props and all("contact_name" in p for p in props)
    assert any(p["coming_available"] for p in props)  # idle / unsupplied land when asked


def test_feature_explanation(client: TestClient, tokens: dict[str, str]) -> None:
    body = client.post("/api/match", json=REQ, headers=auth(tokens["promoter"])).json()
    p = body["features"][0]["properties"]
    assert p["rank"] == 1
    assert {b["criterion"] for b in p["breakdown"]} == {
        "area_fit",
        "distance",
        "zone_fit",
        "readiness",
        "price",
        "policy",
        "freshness",
    }
    assert abs(sum(b["contribution"] for b in p["breakdown"]) - p["score"]) < 1e-2
    assert abs(sum(b["weight"] for b in p["breakdown"]) - 1) < 1e-3
    assert p["time_to_start"]["days"] > 0
    assert isinstance(p["policies"], list) and isinstance(p["warnings"], list)
    assert [f["properties"]["rank"] for f in body["features"]] == list(
        range(1, len(body["features"]) + 1)
    )


def test_stored_run_is_returned_as_it_was(client: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens["promoter"])
    first = client.post("/api/match", json=REQ, headers=h).json()
    again = client.get(f"/api/match/{first['match_id']}", headers=h)
    assert again.status_code == 200
    assert again.json() == first
    # An internal run is not shown to the public.
    assert client.get(f"/api/match/{first['match_id']}").status_code == 404
    assert client.get("/api/match/not-a-uuid").status_code == 404


def test_bad_requests_are_problems(client: TestClient) -> None:
    r = client.post("/api/match", json={"area_mu_min": 50, "area_mu_max": 10})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/api/match", json={"industry": "99"})
    assert r.status_code == 422 and "industry" in r.json()["detail"]
    r = client.post("/api/match", json={"location": {"zones": ["no-such-zone"]}})
    assert r.status_code == 400 and "未知开发区" in r.json()["detail"]
    r = client.post("/api/match", json={"top": 0})
    assert r.status_code == 422
    r = client.post(
        "/api/match",
        json={
            "location": {
                "polygon": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                }
            }
        },
    )
    assert r.status_code == 422


def test_why_not_counts_and_near_misses(client: TestClient, tokens: dict[str, str]) -> None:
    body = client.post(
        "/api/match",
        json={**REQ, "area_mu_max": 40, "budget": {"max_wan_per_mu": 35}},
        headers=auth(tokens["promoter"]),
    ).json()
    wn = body["why_not"]
    rules = {x["rule"]: x["count"] for x in wn["failed"]}
    assert rules["area"] > 0 and rules["budget_per_mu"] > 0 and rules["status"] > 0
    assert 0 < len(wn["near_misses"]) <= 10
    for n in wn["near_misses"]:
        assert n["change"].startswith(("面积", "预算", "总投资", "年税收"))
    assert any(
        n["change"].startswith(("面积上限提高至 ", "预算提高至 ")) for n in wn["near_misses"]
    )


def test_a_project_moves_along_the_flow(client: TestClient, tokens: dict[str, str]) -> None:
    """PATCH pipeline_status as the workbench's stage form: a jump (洽谈 → 签约) is refused in
    Chinese, 409, nothing changed; a step back is a correction; 流失 from any stage, and back
    to 洽谈."""
    h = auth(tokens["promoter"])
    pid = client.post("/api/projects", json={"name": "流程项目", "requirement": REQ}, headers=h)
    pid = pid.json()["id"]
    url = f"/api/projects/{pid}"

    def patch(status: str) -> Any:
        return client.patch(
            url, json={"pipeline_status": status}, headers=with_etag(client, url, h)
        )

    assert patch("shortlisted").status_code == 200  # 线索 → 洽谈
    jump = patch("signed")
    assert jump.status_code == 409 and "项目阶段不能从洽谈直接改为签约" in jump.json()["detail"]
    assert client.get(url, headers=h).json()["pipeline_status"] == "shortlisted"
    assert patch("matching").status_code == 200  # within 洽谈
    assert patch("visiting").status_code == 200
    jump = patch("landed")
    assert jump.status_code == 409 and "当前可改为 线索、洽谈、签约、流失" in jump.text
    assert patch("shortlisted").status_code == 200  # back to 洽谈: a correction
    assert patch("visiting").status_code == 200
    assert patch("lost").status_code == 200
    assert patch("landed").status_code == 409
    assert patch("matching").status_code == 200


def test_assemblies_when_no_single_parcel_is_big_enough(
    client: TestClient, tokens: dict[str, str], session: Session, make_parcel: Callable[..., int]
) -> None:
    from tests.match.conftest import DLAT, DLON, square

    # Three ≈15 亩 parcels in a row, 20 m apart, and a fourth 300 m away.
    x0, y0, gap = 114.3000, 37.2000, 0.00023
    codes = []
    for i in range(3):
        pid = make_parcel(wkt=square(x0 + i * (DLON + gap), y0))
        codes.append(
            session.execute(
                text("SELECT code FROM landmatch.parcel WHERE id = :i"), {"i": pid}
            ).scalar_one()
        )
    make_parcel(wkt=square(x0, y0 + DLAT + 0.0027))
    req = {
        "industry": "36",
        "area_mu_min": 40,
        "area_mu_max": 50,
        "location": {"bbox": [x0 - 0.01, y0 - 0.01, x0 + 0.02, y0 + 0.02]},
    }
    body = client.post("/api/match", json=req, headers=auth(tokens["promoter"])).json()
    assert body["numberReturned"] == 0
    MatchResult.model_validate(body)  # the assembly is the declared shape
    assemblies = [f for f in body["features"] if f["properties"]["kind"] == "assembly"]
    assert len(assemblies) == 1
    p = assemblies[0]["properties"]
    assert sorted(p["members"]) == sorted(codes)
    assert 40 <= p["area_mu"] <= 50
    assert assemblies[0]["geometry"]["type"] == "MultiPolygon"
    assert abs(sum(b["contribution"] for b in p["breakdown"]) - p["score"]) < 1e-2
    # Two of them make only ≈30 亩: with a 25–35 亩 range the best pair is offered instead.
    body = client.post(
        "/api/match",
        json={**req, "area_mu_min": 25, "area_mu_max": 35},
        headers=auth(tokens["promoter"]),
    ).json()
    pairs = [f["properties"]["members"] for f in body["features"]]
    assert pairs and all(len(m) == 2 for m in pairs)
    # Different availability never assembles.
    session.execute(
        text("UPDATE landmatch.parcel SET status = 'idle' WHERE code = :c"), {"c": codes[1]}
    )
    body = client.post(
        "/api/match", json={**req, "include_coming": True}, headers=auth(tokens["promoter"])
    ).json()
    assert not [f for f in body["features"] if f["properties"]["kind"] == "assembly"]


def test_projects_crud_and_pipeline(client: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens["promoter"])
    assert client.get("/api/projects").status_code == 401
    r = client.post(
        "/api/projects",
        json={"name": "汽车零部件", "investor": "某集团", "requirement": REQ},
        headers=h,
    )
    assert r.status_code == 201, r.text
    created = r
    pid = r.json()["id"]
    assert r.json()["pipeline_status"] == "new" and r.json()["industry_code"] == "36"
    m = client.post(f"/api/projects/{pid}/match", headers=h)
    assert m.status_code == 200 and m.json()["requirement"]["project_id"] == pid
    assert client.get(f"/api/projects/{pid}", headers=h).json()["pipeline_status"] == "matching"
    # Matching moved it on: a new version (its first ETag is stale), so edits need the new one.
    stale = client.patch(
        f"/api/projects/{pid}",
        json={"pipeline_status": "visiting"},
        headers={**h, "If-Match": created.headers["ETag"]},
    )
    assert stale.status_code == 412
    r = client.patch(
        f"/api/projects/{pid}",
        json={"pipeline_status": "visiting"},
        headers=with_etag(client, f"/api/projects/{pid}", h),
    )
    assert r.json()["pipeline_status"] == "visiting" and r.json()["pipeline_label"] == "考察中"
    visiting = r.headers["ETag"]
    r = client.patch(
        f"/api/projects/{pid}", json={"pipeline_status": "won"}, headers={**h, "If-Match": "*"}
    )
    assert r.status_code == 422
    assert [p["id"] for p in client.get("/api/projects?status=visiting", headers=h).json()] == [pid]
    assert client.delete(f"/api/projects/{pid}", headers=h).status_code == 428
    gone = client.delete(f"/api/projects/{pid}", headers={**h, "If-Match": visiting})
    assert gone.status_code == 204
    assert client.get(f"/api/projects/{pid}", headers=h).status_code == 404


def test_reservation_conflict_and_effect_on_matching(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    h = auth(tokens["promoter"])
    a = client.post("/api/projects", json={"name": "甲", "requirement": REQ}, headers=h).json()
    b = client.post("/api/projects", json={"name": "乙", "requirement": REQ}, headers=h).json()
    top = client.post(f"/api/projects/{a['id']}/match", headers=h).json()["features"][0]["id"]
    r = client.post(
        "/api/reservations", json={"parcel_code": top, "project_id": a["id"]}, headers=h
    )
    assert r.status_code == 201, r.text
    r2 = client.post(
        "/api/reservations", json={"parcel_code": top, "project_id": b["id"]}, headers=h
    )
    assert r2.status_code == 409 and "已被项目" in r2.json()["detail"]
    # The held parcel is out for project 乙 and counted, still in for project 甲.
    mb = client.post(f"/api/projects/{b['id']}/match", headers=h).json()
    assert top not in [f["id"] for f in mb["features"]]
    assert any(x["rule"] == "reserved" for x in mb["why_not"]["failed"])
    ma = client.post(f"/api/projects/{a['id']}/match", headers=h).json()
    assert top in [f["id"] for f in ma["features"]]
    # Release, then 乙 may hold it.
    assert client.delete(f"/api/reservations/{r.json()['id']}", headers=h).status_code == 200
    assert (
        client.post(
            "/api/reservations", json={"parcel_code": top, "project_id": b["id"]}, headers=h
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/reservations", json={"parcel_code": top, "project_id": a["id"]}
        ).status_code
        == 401
    )


def test_a_city_bureau_sees_the_holds_of_its_city_only(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """/api/reservations listed every city's holds to a city's bureau (parcel codes and dates,
    internal parcels too): a 石家庄 bureau sees the holds on 石家庄's parcels, a 唐山 bureau
    none of them, the province's bureau and an admin all."""
    from landmatch.accounts.users import add_user

    h = auth(tokens["promoter"])
    held = {}
    for city in ("130100", "130200"):
        req = {**REQ, "location": {"cities": [city]}}
        p = client.post("/api/projects", json={"name": city, "requirement": req}, headers=h)
        pid = p.json()["id"]
        top = client.post(f"/api/projects/{pid}/match", headers=h).json()["features"][0]["id"]
        r = client.post(
            "/api/reservations", json={"parcel_code": top, "project_id": pid}, headers=h
        )
        assert r.status_code == 201, r.text
        held[city] = r.json()["id"]
    others = {
        "tangshan": add_user(session, "t-bureau-ts", "bureau", "130200"),
        "province": add_user(session, "t-bureau-hb", "bureau", "130000"),
    }
    session.flush()

    def seen(token: str) -> set[int]:
        r = client.get("/api/reservations", headers=auth(token))
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()} & set(held.values())

    assert seen(tokens["bureau"]) == {held["130100"]}
    assert seen(others["tangshan"]) == {held["130200"]}
    assert seen(others["province"]) == set(held.values())
    assert seen(tokens["admin"]) == set(held.values())


def test_reverse_match(client: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens["promoter"])
    fit = client.post("/api/projects", json={"name": "合适", "requirement": REQ}, headers=h).json()
    client.post(
        "/api/projects",
        json={"name": "太大", "requirement": {**REQ, "area_mu_min": 5000, "area_mu_max": 9000}},
        headers=h,
    )
    client.post(
        "/api/projects",
        json={"name": "已签约", "pipeline_status": "signed", "requirement": REQ},
        headers=h,
    )
    code = client.post("/api/match", json=REQ, headers=h).json()["features"][0]["id"]
    r = client.get(f"/api/parcels/{code}/matching-projects", headers=h)
    assert r.status_code == 200
    names = [p["name"] for p in r.json()["projects"]]
    assert "合适" in names and "太大" not in names and "已签约" not in names
    scores = [p["score"] for p in r.json()["projects"]]
    assert scores == sorted(scores, reverse=True)
    assert fit["id"] in [p["project_id"] for p in r.json()["projects"]]
    assert client.get(f"/api/parcels/{code}/matching-projects").status_code == 401
    assert client.get("/api/parcels/NO-SUCH/matching-projects", headers=h).status_code == 404


def test_large_scopes_count_from_a_repeatable_sample(
    client: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from landmatch.match import whynot

    h = auth(tokens["promoter"])
    body = {**REQ, "area_mu_max": 40, "include_coming": True}
    exact = client.post("/api/match", json=body, headers=h).json()["why_not"]
    assert exact["estimated"] is False
    monkeypatch.setattr(whynot, "EXACT_LIMIT", 200)
    monkeypatch.setattr(whynot, "SAMPLE_ROWS", 1500)
    s1 = client.post("/api/match", json=body, headers=h).json()["why_not"]
    s2 = client.post("/api/match", json=body, headers=h).json()["why_not"]
    assert s1["estimated"] is True and 0 < s1["sample"]["rows"] < exact["considered"]
    assert s1 == s2  # repeatable
    # Without a location filter the considered total is known exactly; near misses are exact.
    assert s1["considered"] == exact["considered"]
    assert s1["near_misses"] == exact["near_misses"]
    area = {x["rule"]: x["count"] for x in exact["failed"]}["area"]
    area_est = {x["rule"]: x["count"] for x in s1["failed"]}["area"]
    assert 0.5 * area <= area_est <= 1.5 * area


def _project_history(session: Session, pid: int) -> tuple[list[tuple], list[tuple]]:  # type: ignore[type-arg]
    events = session.execute(
        text(
            "SELECT kind, from_status, to_status, actor FROM landmatch.project_event "
            "WHERE project_id = :p ORDER BY id"
        ),
        {"p": pid},
    ).all()
    versions = session.execute(
        text(
            "SELECT op, actor, reason, row ->> 'name', row ->> 'pipeline_status' "
            "FROM landmatch.layer_version WHERE layer = 'project' AND record_id = :p ORDER BY id"
        ),
        {"p": pid},
    ).all()
    return [tuple(e) for e in events], [tuple(v) for v in versions]


def test_every_project_edit_is_kept_and_on_its_timeline(
    client: TestClient, tokens: dict[str, str], passwords: dict[str, str], session: Session
) -> None:
    """The API's edits are kept as versions (who, why; the delete's too) and its stage
    changes, the first match's and a reservation's, are the same timeline events the
    workbench's stage form writes; the project's page shows them with the field edits. Walked
    as each role: the owning team and the admin write (and are named), others are refused
    and leave nothing."""
    from tests.conftest import sign_in

    h, adm = auth(tokens["promoter"]), auth(tokens["admin"])
    r = client.post("/api/projects", json={"name": "历史甲", "requirement": REQ}, headers=h)
    pid = r.json()["id"]
    assert client.post(f"/api/projects/{pid}/match", headers=h).status_code == 200
    for role in ("bureau", "zone"):
        refused = client.patch(
            f"/api/projects/{pid}",
            json={"pipeline_status": "lost"},
            headers={**auth(tokens[role]), "If-Match": "*"},
        )
        assert refused.status_code == 403, (role, refused.text)
    r = client.patch(
        f"/api/projects/{pid}",
        json={
            "name": "历史甲二期",
            "pipeline_status": "visiting",
            "requirement": {**REQ, "area_mu_min": 50, "area_mu_max": 80},
        },
        headers=with_etag(client, f"/api/projects/{pid}", h),
    )
    assert r.status_code == 200, r.text
    r = client.patch(
        f"/api/projects/{pid}",
        json={"pipeline_status": "signed"},
        headers=with_etag(client, f"/api/projects/{pid}", adm),
    )
    assert r.status_code == 200, r.text
    events, versions = _project_history(session, pid)
    assert events == [
        ("stage", "new", "matching", "t-promoter"),
        ("stage", "matching", "visiting", "t-promoter"),
        ("stage", "visiting", "signed", "t-admin"),
    ]
    assert versions == [
        ("insert", "t-promoter", "新建项目", "历史甲", "new"),
        ("update", "t-promoter", "匹配", "历史甲", "matching"),
        ("update", "t-promoter", "修改项目", "历史甲二期", "visiting"),
        ("update", "t-admin", "修改项目", "历史甲二期", "signed"),
    ]
    # A reservation moves another project to 已入围 with the same event.
    b = client.post("/api/projects", json={"name": "历史乙", "requirement": REQ}, headers=h)
    code = client.post("/api/match", json=REQ, headers=h).json()["features"][0]["id"]
    held = client.post(
        "/api/reservations", json={"parcel_code": code, "project_id": b.json()["id"]}, headers=h
    )
    assert held.status_code == 201, held.text
    assert _project_history(session, b.json()["id"])[0] == [
        ("stage", "new", "shortlisted", "t-promoter")
    ]
    # The project's page: stage changes and field edits on one timeline.
    sign_in(client, passwords["promoter"])
    page = client.get(f"/workbench/projects/{pid}")
    assert page.status_code == 200
    timeline = page.text.split('id="events"')[1]
    assert "阶段：线索 → <strong>洽谈</strong>（匹配）" in timeline
    assert "阶段：洽谈 → <strong>考察</strong>" in timeline
    assert "修改：项目名称 历史甲 → <strong>历史甲二期</strong>" in timeline
    assert (
        "用地需求 C36 汽车制造业 · 20–150 亩 → <strong>C36 汽车制造业 · 50–80 亩</strong>"
    ) in timeline
    # The delete leaves the last state, with who deleted it (the project is kept, deleted:
    # migration 0046_project_restore).
    gone = client.delete(
        f"/api/projects/{pid}", headers=with_etag(client, f"/api/projects/{pid}", h)
    )
    assert gone.status_code == 204
    events, versions = _project_history(session, pid)
    assert versions[-1] == ("update", "t-promoter", "删除项目", "历史甲二期", "signed")
