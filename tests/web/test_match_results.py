"""The readable match results page (issue #15 §2): titled with the project's name, each site's
explanation in words and units with points, "compared with #1", the why-not funnel (never
JSON), near misses with a rerun that applies the engine's relaxation, the time to start; walked
as each role and as another team."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.dates import beijing_today
from landmatch.match import readable
from landmatch.numbers import mu
from tests.accounts_made import add_usable_user
from tests.conftest import auth, sign_in

ROLES = ("public", "admin", "bureau", "zone", "promoter")
REQ = {
    "industry": "C3670",
    "area_mu_min": 80,
    "area_mu_max": 120,
    "investment_wan": 50000,
    "utilities": {"power_kva": 8000},
    "proximity": [{"kind": "highway_interchange", "max_km": 10, "hard": True}],
    "top": 5,
}


@pytest.fixture
def run(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    h = auth(tokens["promoter"])
    p = client.post(
        "/api/projects", json={"name": "汽车零部件项目", "requirement": REQ}, headers=h
    ).json()
    body = client.post(f"/api/projects/{p['id']}/match", headers=h).json()
    return {"project": p, "id": body["match_id"], "body": body}


@pytest.mark.parametrize("role", ROLES)
def test_results_as_each_role(
    client: TestClient, passwords: dict[str, str], run: dict[str, Any], role: str
) -> None:
    csrf = sign_in(client, passwords[role]) if role != "public" else ""
    codes = "&".join(f"codes={f['properties']['code']}" for f in run["body"]["features"][:2])
    for path in ("", f"/compare?{codes}", f"/compare.xlsx?{codes}"):
        if not codes and path:
            continue
        r = client.get(f"/workbench/matches/{run['id']}{path}", follow_redirects=False)
        if role == "public":
            assert r.status_code == 303
        else:
            assert r.status_code == (200 if role in ("admin", "promoter") else 403), (role, path)
    for path, data in (("/reserve", {"parcel_code": "X-000"}), ("/relax", {"near": 0})):
        r = client.post(
            f"/workbench/matches/{run['id']}{path}",
            data={**data, "csrf_token": csrf},
            follow_redirects=False,
        )
        if role in ("admin", "promoter"):
            assert r.status_code in (303, 400), (role, path, r.status_code)
        else:
            assert r.status_code in (303, 403) and (
                role != "public" or "/workbench/login" in r.headers["location"]
            ), (role, path)


def test_results_read_as_words(
    client: TestClient, passwords: dict[str, str], run: dict[str, Any]
) -> None:
    sign_in(client, passwords["promoter"])
    page = client.get(f"/workbench/matches/{run['id']}").text
    assert '<h1 class="h4 mb-1" id="results-title">汽车零部件项目</h1>' in page
    assert "未入选原因" in page and "本次需求范围内" in page and "全部条件满足" in page
    assert '"rule"' not in page and "\\u" not in page  # never JSON
    feats = [
        f["properties"] for f in run["body"]["features"] if f["properties"]["kind"] == "parcel"
    ]
    if feats:
        first = feats[0]
        assert f"面积 {mu(first['area_mu'])} 亩，在 80–120 亩 范围内" in page
        assert "距高速互通" in page and "公里" in page
        assert "多久能开工：约" in page and "区域评估" in page
        assert "/match/" + run["id"] + "/map" in page  # the map beside the list
    if len(feats) > 1:
        assert "与第 1 名相比" in page
    # The funnel: scope first, then each rule by count, as the engine counted.
    wn = run["body"]["why_not"]
    for f in wn["failed"]:
        if f["rule"] not in ("status", "location"):
            assert f["label"] in page


def test_funnel_orders_scope_first_then_largest() -> None:
    f = readable.funnel(
        {
            "considered": 100,
            "passed": 5,
            "failed": [
                {"rule": "area", "label": "面积不符", "count": 40},
                {
                    "rule": "status",
                    "label": "地块状态不在范围内",
                    "count": 900,
                    "statuses": ["熟地"],
                },
                {"rule": "near_port", "label": "距港口过远", "count": 70},
                {"rule": "location", "label": "不在指定区位内", "count": 300},
            ],
        }
    )
    assert [r["label"] for r in f["scope"]] == ["非熟地", "不在指定区位内"]
    assert [r["label"] for r in f["rules"]] == ["距港口过远", "面积不符"]
    assert f["total"] == 1300 and f["rules"][0]["pct"] == 70.0


def test_explanation_rows_and_compare() -> None:
    first = {
        "score": 60.0,
        "area_mu": 96.0,
        "breakdown": [
            {
                "criterion": "area_fit",
                "label": "面积匹配",
                "raw": {"area_mu": 96.0, "range_mu": [80, 120]},
                "score": 1.0,
                "weight": 0.2,
                "contribution": 20.0,
            },
            {
                "criterion": "distance",
                "label": "设施距离",
                "raw": {"highway_interchange": 3.2},
                "score": 0.8,
                "weight": 0.5,
                "contribution": 40.0,
            },
        ],
    }
    third = {
        "score": 40.0,
        "area_mu": 130.0,
        "breakdown": [
            {
                "criterion": "area_fit",
                "label": "面积匹配",
                "raw": {"area_mu": 130.0, "range_mu": [80, 120]},
                "score": 0.5,
                "weight": 0.2,
                "contribution": 10.0,
            },
            {
                "criterion": "distance",
                "label": "设施距离",
                "raw": {"highway_interchange": 8.0},
                "score": 1.0,
                "weight": 0.5,
                "contribution": 50.0,
            },
        ],
    }
    rows = readable.explanation(first)
    assert rows[0]["words"] == "面积 96 亩，在 80–120 亩 范围内"
    assert rows[1]["words"] == "距高速互通 3.2 公里" and rows[1]["points"] == 40.0
    cmp = readable.compare_with_first(third, first)
    assert (
        cmp[0]["label"] == "面积匹配" and cmp[0]["delta"] == -10.0 and cmp[0]["verdict"] == "少得"
    )
    assert "比上限 120 亩多 10 亩" in cmp[0]["this"]
    assert cmp[1]["delta"] == 10.0 and cmp[1]["verdict"] == "多得"
    assert cmp[-1] == {"label": "合计", "delta": -20.0, "verdict": "", "this": "", "first": ""}


def test_near_miss_rerun_applies_the_engines_relaxation(
    client: TestClient, passwords: dict[str, str], tokens: dict[str, str], session: Session
) -> None:
    h = auth(tokens["promoter"])
    # A narrow area window: parcels just outside it are near misses on area alone.
    req = {"industry": "34", "area_mu_min": 50, "area_mu_max": 50.5, "top": 3, "assemblies": False}
    p = client.post(
        "/api/projects", json={"name": "窄面积项目", "requirement": req}, headers=h
    ).json()
    body = client.post(f"/api/projects/{p['id']}/match", headers=h).json()
    misses = body["why_not"]["near_misses"]
    assert misses, "the seeded inventory has parcels near 50 亩"
    n = misses[0]
    assert n["rule"] == "area" and set(n["relax"]) <= {"area_mu_min", "area_mu_max"}
    csrf = sign_in(client, passwords["promoter"])
    page = client.get(f"/workbench/matches/{body['match_id']}").text
    assert "差一点入选" in page and n["change"] in page and "放宽后重新匹配" in page
    r = client.post(
        f"/workbench/matches/{body['match_id']}/relax",
        data={"near": 0, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    new_id = re.fullmatch(r"/workbench/matches/([0-9a-f-]+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    new = session.execute(
        text("SELECT request, project_id FROM landmatch.match_run WHERE id = :i"), {"i": new_id}
    ).one()
    assert new.project_id == p["id"]
    for k, v in n["relax"].items():
        assert new.request[k] == v
    after = client.get(r.headers["location"]).text
    assert n["code"] in after  # the near miss is now a result


def test_another_team_cannot_read_or_rerun(
    client: TestClient, run: dict[str, Any], session: Session, password_hash: str
) -> None:
    add_usable_user(
        session, "t-promoter-b", "promoter", team="t-team-b", password_hash=password_hash
    )
    csrf = sign_in(client, "t-promoter-b")
    assert client.get(f"/workbench/matches/{run['id']}").status_code == 404
    r = client.post(f"/workbench/matches/{run['id']}/relax", data={"near": 0, "csrf_token": csrf})
    assert r.status_code == 404


def _parcels(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [f["properties"] for f in run["body"]["features"] if f["properties"]["kind"] == "parcel"]


@pytest.fixture
def wide(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    """A run with several results (a wide request of the fixture promoter's team)."""
    h = auth(tokens["promoter"])
    req = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400, "top": 8}
    p = client.post(
        "/api/projects", json={"name": "通用设备项目", "requirement": req}, headers=h
    ).json()
    body = client.post(f"/api/projects/{p['id']}/match", headers=h).json()
    assert len([f for f in body["features"] if f["properties"]["kind"] == "parcel"]) >= 6
    return {"project": p, "id": body["match_id"], "body": body}


def test_compare_up_to_five_print_and_xlsx(
    client: TestClient, passwords: dict[str, str], wide: dict[str, Any]
) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    sign_in(client, passwords["promoter"])
    sites = _parcels(wide)
    codes = [s["code"] for s in sites[:3]]
    q = "&".join(f"codes={c}" for c in codes)
    page = client.get(f"/workbench/matches/{wide['id']}/compare?{q}")
    assert page.status_code == 200
    assert "通用设备项目 · 地块对比" in page.text and "data-print" in page.text
    for label in ("参考地价", "面积", "供电", "预计开工", "政策估算合计", "管控区"):
        assert f">{label}</th>" in page.text, label
    assert f"{mu(sites[0]['area_mu'])} 亩" in page.text
    x = client.get(f"/workbench/matches/{wide['id']}/compare.xlsx?{q}")
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxml")
    ws = load_workbook(BytesIO(x.content)).active
    assert ws.cell(1, 1).value == "通用设备项目 · 地块对比"
    assert [ws.cell(3, j).value for j in range(2, 5)] == ["第 1 名", "第 2 名", "第 3 名"]
    six = "&".join(f"codes={s['code']}" for s in sites[:6])
    r = client.get(f"/workbench/matches/{wide['id']}/compare?{six}")
    assert r.status_code == 400 and "最多对比 5 宗" in r.text
    r = client.get(f"/workbench/matches/{wide['id']}/compare?codes=不存在的地块")
    assert r.status_code == 400 and "没有地块" in r.text


def test_reserve_from_results_expiry_reminder_and_release(
    client: TestClient,
    passwords: dict[str, str],
    wide: dict[str, Any],
    session: Session,
    password_hash: str,
) -> None:
    import datetime as dt

    csrf = sign_in(client, passwords["promoter"])
    first = _parcels(wide)[0]
    r = client.post(
        f"/workbench/matches/{wide['id']}/reserve",
        data={"parcel_code": first["code"], "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = session.execute(
        text(
            "SELECT r.id, r.until, r.owner_team FROM landmatch.reservation r JOIN landmatch.parcel p "
            "ON p.id = r.parcel_id WHERE p.code = :c AND r.released_at IS NULL"
        ),
        {"c": first["code"]},
    ).one()
    assert row.until == beijing_today() + dt.timedelta(days=90)  # the setting's default
    assert row.owner_team == "t-team-a"
    # Reserving it again is refused with the reason, nothing more written.
    r = client.post(
        f"/workbench/matches/{wide['id']}/reserve",
        data={"parcel_code": first["code"], "csrf_token": csrf},
    )
    assert "已被项目" in r.text or "已被" in r.text
    # A hold ending soon is on the home page.
    session.execute(
        text("UPDATE landmatch.reservation SET until = :d WHERE id = :i"),
        {"d": beijing_today() + dt.timedelta(days=3), "i": row.id},
    )
    home = client.get("/workbench").text
    assert "预留即将到期" in home and first["code"] in home and "还有 3 天" in home
    # Another team sees that the parcel is held but cannot release it.
    add_usable_user(
        session, "t-promoter-b", "promoter", team="t-team-b", password_hash=password_hash
    )
    client.cookies.clear()
    csrf_b = sign_in(client, "t-promoter-b")
    assert "预留即将到期" not in client.get("/workbench").text
    r = client.post(
        f"/workbench/projects/{wide['project']['id']}/reservations/{row.id}/release",
        data={"csrf_token": csrf_b},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert (
        session.execute(
            text("SELECT released_at FROM landmatch.reservation WHERE id = :i"), {"i": row.id}
        ).scalar_one()
        is None
    )
    # The owning team releases it from the project page.
    client.cookies.clear()
    csrf = sign_in(client, passwords["promoter"])
    page = client.get(f"/workbench/projects/{wide['project']['id']}").text
    assert first["code"] in page and "预留中" in page
    r = client.post(
        f"/workbench/projects/{wide['project']['id']}/reservations/{row.id}/release",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert (
        session.execute(
            text("SELECT released_at FROM landmatch.reservation WHERE id = :i"), {"i": row.id}
        ).scalar_one()
        is not None
    )


def test_a_reserved_result_shows_its_hold_and_releases_back_to_the_results(
    client: TestClient, passwords: dict[str, str], wide: dict[str, Any]
) -> None:
    csrf = sign_in(client, passwords["promoter"])
    results = f"/workbench/matches/{wide['id']}"
    first = _parcels(wide)[0]
    rank = first["rank"]
    page = client.get(results).text
    assert f'data-reserve="{rank}"' in page and f'data-held="{rank}"' not in page
    r = client.post(
        results + "/reserve",
        data={"parcel_code": first["code"], "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == results
    page = client.get(results).text
    # Held by this project: said so, with 释放 (asked first), and no second 预留.
    assert f'data-reserve="{rank}"' not in page and f'data-held="{rank}"' in page
    assert "已为本项目预留（至 " in page
    release = re.search(
        r'<form method="post" action="([^"]+/release)"[^>]*data-confirm="([^"]+)"', page
    )
    assert release and first["code"] in release.group(2)
    assert f'name="back" value="{results}"' in page
    # Released from the results: back to them, the parcel may be reserved again.
    r = client.post(
        release.group(1), data={"csrf_token": csrf, "back": results}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == results
    page = client.get(results).text
    assert f'data-reserve="{rank}"' in page and f'data-held="{rank}"' not in page
    # "back" leads only to a page of this site.
    client.post(results + "/reserve", data={"parcel_code": first["code"], "csrf_token": csrf})
    release = re.search(r'action="([^"]+/release)"', client.get(results).text)
    assert release
    r = client.post(
        release.group(1),
        data={"csrf_token": csrf, "back": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/workbench/projects/{wide['project']['id']}"


def test_nothing_near_says_what_is_possible(
    client: TestClient, passwords: dict[str, str], tokens: dict[str, str]
) -> None:
    """A 3,000–4,000 亩 request in 衡水: no site, no near miss; the page names the largest ready
    sites there and their shortfall, nearer cities with sites of the size, and coming land."""
    h = auth(tokens["promoter"])
    req = {
        "industry": "36",
        "area_mu_min": 3000,
        "area_mu_max": 4000,
        "location": {"cities": ["131100"]},
        "assemblies": False,
    }
    p = client.post(
        "/api/projects", json={"name": "超大项目", "requirement": req}, headers=h
    ).json()
    body = client.post(f"/api/projects/{p['id']}/match", headers=h).json()
    assert body["numberReturned"] == 0 and not body["why_not"]["near_misses"]
    sign_in(client, passwords["promoter"])
    page = client.get(f"/workbench/matches/{body['match_id']}").text
    assert "没有只差一个条件的地块" in page and "按面积看，现在能做什么" in page
    assert "所选范围内面积最大的熟地" in page and "比需求下限少" in page
    assert "衡水市" in page


def test_policy_values_with_formula_on_the_results(
    client: TestClient, passwords: dict[str, str], tokens: dict[str, str]
) -> None:
    h = auth(tokens["promoter"])
    req = {
        "industry": "34",
        "area_mu_min": 10,
        "area_mu_max": 400,
        "top": 2,
        "rd_increase_wan": 600,
        "enterprise_types": ["tech_enterprise"],
    }
    p = client.post(
        "/api/projects", json={"name": "研发项目", "requirement": req}, headers=h
    ).json()
    body = client.post(f"/api/projects/{p['id']}/match", headers=h).json()
    pols = body["features"][0]["properties"]["policies"]
    rd = [q for q in pols if q["code"] == "hb2024-rd-post-subsidy"]
    assert rd and rd[0]["value_wan"] == 60.0 and rd[0]["formula"] == "10% × 600 万元 = 60 万元"
    other = [q for q in pols if q["value_wan"] is None]
    assert all(q["value_note"].startswith("需按条件核定") for q in other)
    sign_in(client, passwords["promoter"])
    page = client.get(f"/workbench/matches/{body['match_id']}").text
    assert "约 60 万元（10% × 600 万元 = 60 万元）" in page
    assert "需按条件核定：" in page


def test_a_run_stored_before_sites_had_members_still_opens(
    client: TestClient, passwords: dict[str, str], wide: dict[str, Any], session: Session
) -> None:
    """A run stored before every site carried ``members`` and ``name`` (its parcels had their
    code only, assemblies no name) opens on the results page and its map, not a 500."""
    import orjson

    from landmatch.match import runs

    body = dict(wide["body"])
    body["features"] = [
        {**f, "properties": {k: v for k, v in f["properties"].items() if k != "members"}}
        for f in body["features"]
    ]
    session.execute(
        text("UPDATE landmatch.match_run SET body = :b, compressed = true WHERE id = :id"),
        {"b": runs.pack(orjson.dumps(body)), "id": wide["id"]},
    )
    sign_in(client, passwords["promoter"])
    r = client.get(f"/workbench/matches/{wide['id']}")
    assert r.status_code == 200, r.text[:500]
    for props in _parcels(wide)[:3]:
        assert props["code"] in r.text
    first = _parcels(wide)[0]["code"]
    assert client.get(f"/workbench/matches/{wide['id']}/compare?codes={first}").status_code == 200
    # The run's map lists each site by name, else its first member.
    m = client.get(f"/match/{wide['id']}/map")
    assert m.status_code == 200, m.text[:500]
    assert first in m.text


def test_results_show_what_other_projects_hold(
    client: TestClient,
    passwords: dict[str, str],
    tokens: dict[str, str],
    wide: dict[str, Any],
    session: Session,
) -> None:
    """A site held (after the run) by another project of the team shows that project; one
    held by another team shows only 已被其他项目预留 and the hold's date; neither offers 预留.
    An admin sees whose each hold is."""
    import datetime as dt

    from landmatch.accounts.users import add_user

    h = auth(tokens["promoter"])
    sites = _parcels(wide)
    mine, theirs, free = sites[0], sites[1], sites[2]
    ours = client.post(
        "/api/projects",
        json={"name": "本团队另一项目", "requirement": {"industry": "34"}},
        headers=h,
    ).json()
    until = (beijing_today() + dt.timedelta(days=30)).isoformat()
    r = client.post(
        "/api/reservations",
        json={"parcel_code": mine["code"], "project_id": ours["id"], "until": until},
        headers=h,
    )
    assert r.status_code in (200, 201), r.text
    hb = auth(add_user(session, "t-promoter-b", "promoter", team="t-team-b"))
    other = client.post(
        "/api/projects",
        json={"name": "乙团队保密项目", "requirement": {"industry": "34"}},
        headers=hb,
    ).json()
    r = client.post(
        "/api/reservations",
        json={"parcel_code": theirs["code"], "project_id": other["id"], "until": until},
        headers=hb,
    )
    assert r.status_code in (200, 201), r.text
    results = f"/workbench/matches/{wide['id']}"

    def badge(page: str, rank: int) -> str:
        found = re.search(rf'<span[^>]*data-held-other="{rank}"[^>]*>([^<]*)</span>', page)
        assert found, (rank, page[:200])
        return found.group(1)

    csrf = sign_in(client, passwords["promoter"])
    page = client.get(results).text
    assert badge(page, mine["rank"]) == (
        f"已被项目“本团队另一项目”（t-team-a）预留（至 {until}），不能为本项目预留"
    )
    assert badge(page, theirs["rank"]) == f"已被其他项目预留（至 {until}），不能为本项目预留"
    assert "乙团队保密项目" not in page and "t-team-b" not in page
    for held in (mine, theirs):
        assert f'data-reserve="{held["rank"]}"' not in page
        assert f'data-held="{held["rank"]}"' not in page
    assert f'data-reserve="{free["rank"]}"' in page
    # Posted anyway (a page opened before the hold): refused with the reason, as before.
    r = client.post(results + "/reserve", data={"parcel_code": theirs["code"], "csrf_token": csrf})
    assert f"已被其他项目预留（至 {until}）" in r.text
    client.cookies.clear()
    sign_in(client, passwords["admin"])
    page = client.get(results).text
    assert badge(page, theirs["rank"]).startswith("已被项目“乙团队保密项目”（t-team-b）预留")


@pytest.mark.parametrize("role", ("admin", "promoter", "bureau", "zone"))
def test_the_standard_land_checks_read_as_words(
    client: TestClient,
    passwords: dict[str, str],
    tokens: dict[str, str],
    session: Session,
    role: str,
) -> None:
    """A site's 标准地 investment check: the floor, the project's figure and how it was got,
    and 未确认 where only the total investment was given (docs/domain.md §8)."""
    code, x0, y0, x1, y1 = session.execute(
        text(
            "SELECT code, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM landmatch.parcel WHERE status = 'ready' AND deleted_at IS NULL "
            "AND invest_intensity_min IS NOT NULL AND land_use LIKE '1001%' ORDER BY id LIMIT 1"
        )
    ).one()
    req = {
        "land_uses": ["100101", "100102", "100103"],
        "investment_wan": 900_000,
        "location": {"bbox": [x0 - 1e-4, y0 - 1e-4, x1 + 1e-4, y1 + 1e-4]},
        "assemblies": False,
    }
    h = auth(tokens["promoter"])
    p = client.post("/api/projects", json={"name": "标准地项目", "requirement": req}, headers=h)
    body = client.post(f"/api/projects/{p.json()['id']}/match", headers=h).json()
    assert code in [f["properties"]["code"] for f in body["features"]]
    sign_in(client, passwords[role])
    r = client.get(f"/workbench/matches/{body['match_id']}")
    if role not in ("admin", "promoter"):
        assert r.status_code == 403
        return
    page = r.text
    assert "标准地与控制指标核验" in page and "固定资产投资强度" in page
    assert "总投资 900,000 万元 ÷" in page and "未确认" in page
    assert "未填写固定资产投资" in page  # the run's own note
