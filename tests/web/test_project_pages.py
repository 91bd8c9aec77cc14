"""The promoters' project pages (issue #15 §1): the pipeline board, the requirement form, the
project page and its forms, walked as each role through the app (no browser); bad input comes
back beside its field in Chinese with nothing written; stale versions are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.accounts_made import add_usable_user
from tests.conftest import sign_in

ROLES = ("public", "admin", "bureau", "zone", "promoter")
TEAM = ("admin", "promoter")

# The 汽车零部件 project of the quality bar, as the form posts it.
FORM: dict[str, Any] = {
    "name": "汽车零部件项目",
    "investor": "某汽车零部件集团",
    "industry": "C3670",
    "area_mu_min": "80",
    "area_mu_max": "120",
    "investment_wan": "50,000",
    "power_kva": "8000",
    "km_highway_interchange": "10",
    "hard_highway_interchange": "on",
    "assemblies": "on",
    "preset": "general_manufacturing",
    "top": "20",
    "then": "save",
}


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _project(session: Session, name: str) -> dict[str, Any]:
    row = session.execute(
        text("SELECT * FROM landmatch.project WHERE name = :n ORDER BY id DESC LIMIT 1"),
        {"n": name},
    ).first()
    assert row is not None
    return dict(row._mapping)


@pytest.fixture
def project_id(session: Session) -> int:
    return session.execute(
        text(
            "INSERT INTO landmatch.project (name, industry_code, requirement, pipeline_status, "
            "investor, owner, owner_team) VALUES ('已有项目', '3670', CAST(:r AS jsonb), 'new', "
            "'投资方甲', 't-promoter', 't-team-a') RETURNING id"
        ),
        {"r": '{"industry": "3670", "area_mu_min": 50, "area_mu_max": 90}'},
    ).scalar_one()


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(
    client: TestClient, passwords: dict[str, str], project_id: int, role: str
) -> None:
    if role != "public":
        sign_in(client, passwords[role])
    for path in (
        "/workbench/projects",
        "/workbench/projects?stage=lead&industry=C36&q=项目",
        "/workbench/projects/new",
        f"/workbench/projects/{project_id}",
        f"/workbench/projects/{project_id}/requirement",
    ):
        r = client.get(path, follow_redirects=False)
        if role == "public":
            assert r.status_code == 303 and r.headers["location"].startswith("/workbench/login")
        else:
            assert r.status_code == (200 if role in TEAM else 403), (role, path)
            if role not in TEAM:
                assert "无权" in r.text


@pytest.mark.parametrize("role", ROLES)
def test_writes_as_each_role(
    client: TestClient, passwords: dict[str, str], project_id: int, session: Session, role: str
) -> None:
    csrf = sign_in(client, passwords[role]) if role != "public" else ""
    forms = [
        ("/workbench/projects/new", {**FORM, "name": f"新项目-{role}"}),
        (f"/workbench/projects/{project_id}/requirement", {**FORM, "version": 1}),
        # Each write is a version: each form as opened after the one before.
        (f"/workbench/projects/{project_id}/stage", {"stage": "talks", "version": 2}),
        (f"/workbench/projects/{project_id}/note", {"note": "电话沟通", "version": 3}),
        (f"/workbench/projects/{project_id}/next-step", {"next_step": "考察", "version": 4}),
        (f"/workbench/projects/{project_id}/match", {}),
    ]
    for url, data in forms:
        r = client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
        if role == "public":
            assert r.status_code in (303, 403), (url, r.status_code)
            assert "/workbench/login" in r.headers.get("location", "/workbench/login")
        elif role in TEAM:
            assert r.status_code == 303, (url, r.text[:500])
        else:
            assert r.status_code == 403, (url, r.status_code)
    if role not in TEAM:
        n = session.execute(
            text("SELECT count(*) FROM landmatch.project_event WHERE project_id = :p"),
            {"p": project_id},
        ).scalar_one()
        assert n == 0
        assert (
            session.execute(
                text("SELECT count(*) FROM landmatch.project WHERE name LIKE '新项目-%'")
            ).scalar_one()
            == 0
        )


def test_csrf_is_required(
    client: TestClient, passwords: dict[str, str], project_id: int, session: Session
) -> None:
    sign_in(client, passwords["promoter"])
    r = client.post(
        f"/workbench/projects/{project_id}/note",
        data={"note": "x", "version": 1},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert session.execute(text("SELECT count(*) FROM landmatch.project_event")).scalar_one() == 0


def test_the_form_saves_every_field_then_matches(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["promoter"])
    r = client.post(
        "/workbench/projects/new",
        data={
            **FORM,
            "csrf_token": csrf,
            "cities": ["130100", "130600"],
            "supply_modes": ["auction", "flexible_term"],
            "zone_levels": ["national"],
            "max_wan_per_mu": "30",
            "need_5g": "on",
            "custom_weights": "on",
            **{
                f"w_{c}": "1"
                for c in ("area_fit", "distance", "zone_fit", "readiness", "price", "policy")
            },
            "w_freshness": "0",
            "rd_increase_wan": "600",
            "equipment_investment_wan": "1,200",
            "fixed_asset_investment_wan": "30,000",
            "planned_far": "1.2",
            "planned_building_coeff_pct": "45",
            "planned_green_ratio_pct": "12",
            "planned_admin_ratio_pct": "6",
            "enterprise_types": ["tech_enterprise", "cluster_leader"],
            "strategic_emerging": "on",
            "then": "match",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:800]
    assert re.fullmatch(r"/workbench/matches/[0-9a-f-]+", r.headers["location"])
    p = _project(session, "汽车零部件项目")
    req = p["requirement"]
    assert p["industry_code"] == "3670" and p["owner"] == "t-promoter"
    assert p["pipeline_status"] == "matching"
    assert req["area_mu_min"] == 80 and req["area_mu_max"] == 120
    assert req["investment_wan"] == 50000 and req["utilities"]["power_kva"] == 8000
    assert req["utilities"]["need_5g"] is True
    assert req["proximity"] == [{"kind": "highway_interchange", "max_km": 10, "hard": True}]
    assert req["location"]["cities"] == ["130100", "130600"]
    assert req["location"]["zone_levels"] == ["national"]
    assert req["supply_modes"] == ["auction", "flexible_term"]
    assert req["budget"]["max_wan_per_mu"] == 30
    assert req["weights"]["freshness"] == 0 and req["weights"]["price"] == 1
    assert req["rd_increase_wan"] == 600 and req["equipment_investment_wan"] == 1200
    assert req["fixed_asset_investment_wan"] == 30000
    assert req["planned_far"] == 1.2 and req["planned_building_coeff_pct"] == 45
    assert req["planned_green_ratio_pct"] == 12 and req["planned_admin_ratio_pct"] == 6
    assert req["enterprise_types"] == ["cluster_leader", "tech_enterprise"]
    assert req["strategic_emerging"] is True
    runs = session.execute(
        text("SELECT count(*) FROM landmatch.match_run WHERE project_id = :p"), {"p": p["id"]}
    ).scalar_one()
    assert runs == 1
    page = client.get(f"/workbench/projects/{p['id']}")
    assert page.status_code == 200
    for words in (
        "汽车零部件及配件制造",
        "80",
        "120 亩",
        "8,000",
        "距高速互通",
        "固定资产投资",
        "30,000",
        "规划建筑系数",
        "行政办公及生活服务设施用地比例",
        "10",
        "硬性",
        "石家庄市",
    ):
        assert words in page.text, words
    assert "/workbench/matches/" in page.text  # the run is listed
    board = client.get("/workbench/projects?stage=talks")
    assert "汽车零部件项目" in board.text and "80–120 亩 · 5 亿元" in board.text


def test_bad_input_beside_its_field_nothing_written(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["promoter"])
    before = session.execute(text("SELECT count(*) FROM landmatch.project")).scalar_one()
    cases: list[tuple[dict[str, str | list[str]], str]] = [
        ({"industry": "A3670"}, "门类字母不对"),
        ({"industry": "9999"}, "没有行业代码"),
        ({"area_mu_min": "abc"}, "面积下限应为数字"),
        ({"area_mu_min": "200", "area_mu_max": "100"}, "面积下限不能大于面积上限"),
        ({"power_kva": "-5"}, "不能小于 0"),
        ({"km_port": "0"}, "不能小于"),
        ({"name": ""}, "请填写项目名称"),
        ({"fixed_asset_investment_wan": "60000"}, "固定资产投资不能大于总投资"),
        ({"planned_green_ratio_pct": "120"}, "不能大于 100"),
        ({"supply_modes": ["bogus"]}, "不是可选的值"),
    ]
    for change, reason in cases:
        r = client.post(
            "/workbench/projects/new",
            data={**FORM, **change, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 200, (change, r.status_code)
        assert reason in r.text, (change, reason)
        assert 'id="form-error"' in r.text
    after = session.execute(text("SELECT count(*) FROM landmatch.project")).scalar_one()
    assert after == before


def test_the_form_shown_again_after_an_error_keeps_every_choice(
    client: TestClient, passwords: dict[str, str]
) -> None:
    """The journeys review: after any error the 污染类别 chosen came back as 按行业默认 (the
    typed "3" was compared with the number 3), so saving the corrected form silently dropped
    it. Every choice comes back as made."""
    csrf = sign_in(client, passwords["promoter"])
    chosen = {
        "pollution_class": "3",
        "cities": ["130200"],
        "supply_modes": ["long_lease"],
        "preset": "logistics",
        "need_5g": "on",
        "in_zone_only": "on",
    }
    r = client.post(
        "/workbench/projects/new",
        data={**FORM, **chosen, "area_mu_min": "200", "area_mu_max": "100", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 200 and "面积下限不能大于面积上限" in r.text
    assert re.search(r'<option value="3" selected>三类工业</option>', r.text), "污染类别 lost"
    assert re.search(r'name="cities" value="130200"[^>]*checked', r.text)
    assert re.search(r'name="supply_modes" value="long_lease"[^>]*checked', r.text)
    assert re.search(r'<option value="logistics"[^>]*selected', r.text)
    assert re.search(r'name="need_5g"[^>]*checked', r.text)
    assert 'value="200"' in r.text and "汽车零部件项目" in r.text


def test_a_requirement_changed_meanwhile_is_said_and_not_overwritten_unawares(
    client: TestClient, passwords: dict[str, str], project_id: int, session: Session
) -> None:
    """The journeys review: a requirement form opened before someone else saved the project
    came back with only 请修改标出的项目后再保存 (the reason went to an If-Match field the form
    has not) and the current version in it, so the next click overwrote the other change
    unawares. Now it says the project was changed meanwhile, by whom, that nothing was
    saved, keeps what was typed; saving again is the deliberate choice."""
    csrf = sign_in(client, passwords["promoter"])
    base = f"/workbench/projects/{project_id}"
    opened = client.get(base + "/requirement").text
    version = re.search(r'name="version" value="(\d+)"', opened).group(1)  # type: ignore[union-attr]
    # Someone saves the project meanwhile (a note: a new version).
    assert (
        client.post(
            base + "/note",
            data={"note": "同事的备注", "version": version, "csrf_token": csrf},
            follow_redirects=False,
        ).status_code
        == 303
    )
    mine = {**FORM, "name": "已有项目", "annual_tax_wan": "2222", "version": version}
    r = client.post(
        base + "/requirement", data={**mine, "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 200
    said = re.search(r'id="form-error">(.*?)</div>', r.text, re.S)
    assert said and "已被修改（t-promoter，" in said.group(1) and "本次未保存" in said.group(1)
    assert "请修改标出的项目" not in said.group(1)  # nothing of the form is wrong
    assert 'value="2222"' in r.text  # what was typed is still there
    row = session.execute(
        text("SELECT requirement, version FROM landmatch.project WHERE id = :i"), {"i": project_id}
    ).one()
    assert "annual_tax_wan" not in row.requirement and row.version == int(version) + 1
    # Saving again, told, keeps what was typed.
    again = re.search(r'name="version" value="(\d+)"', r.text).group(1)  # type: ignore[union-attr]
    assert int(again) == row.version
    r = client.post(
        base + "/requirement",
        data={**mine, "version": again, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    saved = session.execute(
        text("SELECT requirement FROM landmatch.project WHERE id = :i"), {"i": project_id}
    ).scalar_one()
    assert saved["annual_tax_wan"] == 2222


def test_numbers_typed_in_full_width_are_read(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """The journeys review: an input method's full-width digits were read in some fields
    (Python reads ５０) and refused in others (１．２ 规划容积率应为数字). Every number of the
    form reads full-width digits, points and separators as the imports do."""
    csrf = sign_in(client, passwords["promoter"])
    typed = {
        "name": "全角数字项目",
        "area_mu_min": "５０",
        "area_mu_max": "１２０．５",
        "investment_wan": "５０，０００",
        "planned_far": "１．２",
        "km_highway_interchange": "１０．５",
    }
    r = client.post(
        "/workbench/projects/new",
        data={**FORM, **typed, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, re.findall(r"invalid-feedback[^>]*>([^<]*)<", r.text)
    req = _project(session, "全角数字项目")["requirement"]
    assert (req["area_mu_min"], req["area_mu_max"], req["planned_far"]) == (50, 120.5, 1.2)
    assert req["investment_wan"] == 50000
    assert req["proximity"][0]["max_km"] == 10.5


def test_stage_note_next_step_and_stale_versions(
    client: TestClient, passwords: dict[str, str], project_id: int, session: Session
) -> None:
    csrf = sign_in(client, passwords["promoter"])
    base = f"/workbench/projects/{project_id}"

    def post(suffix: str, **data: Any) -> Any:
        return client.post(base + suffix, data={**data, "csrf_token": csrf}, follow_redirects=False)

    # In talks, as its first match leaves it (the flow goes 线索 → 洽谈 → 考察).
    session.execute(
        text("UPDATE landmatch.project SET pipeline_status = 'matching' WHERE id = :i"),
        {"i": project_id},
    )
    assert post("/stage", stage="visit", version=1, note="约好下周考察").status_code == 303
    assert (
        post("/next-step", next_step="陪同考察", next_step_on="2027-01-15", version=2).status_code
        == 303
    )
    assert post("/note", note="<b>老板</b>很满意", version=3).status_code == 303
    p = session.execute(
        text(
            "SELECT pipeline_status, next_step, next_step_on, version FROM landmatch.project WHERE id = :i"
        ),
        {"i": project_id},
    ).one()
    assert p.pipeline_status == "visiting" and p.next_step == "陪同考察" and p.version == 4
    # A form showing version 1 is stale now: refused, nothing written, and the page comes
    # back with what was typed and why (the journeys review: the typed note was lost).
    r = post("/stage", stage="lost", version=1, note="投资方转投他省")
    assert r.status_code == 200
    said = re.search(r'id="stage-error">([^<]*)<', r.text)
    assert (
        said and "这个项目已被修改（t-promoter，" in said.group(1) and "本次未保存" in said.group(1)
    )
    assert '<option value="lost" selected>' in r.text and 'value="投资方转投他省"' in r.text
    long_note = "投资方下周来访，\n需准备三宗地块的资料"
    r = post("/note", note=long_note, version=1)
    assert r.status_code == 200 and 'id="note-error"' in r.text
    assert "投资方下周来访，\n需准备三宗地块的资料</textarea>" in r.text
    assert re.search(r'name="version" value="4"', r.text)  # the page's current version
    assert (
        session.execute(
            text("SELECT pipeline_status FROM landmatch.project WHERE id = :i"), {"i": project_id}
        ).scalar_one()
        == "visiting"
    )
    page = client.get(base).text
    assert "洽谈 → <strong>考察</strong>（约好下周考察）" in page
    assert "&lt;b&gt;老板&lt;/b&gt;很满意" in page and "<b>老板</b>" not in page
    assert "下一步：陪同考察（2027-01-15）" in page
    r = post("/next-step", next_step="约投资方看地", next_step_on="2027-13-40", version=4)
    assert r.status_code == 200
    said = re.search(r'id="next-error">([^<]*)<', r.text)
    assert said and "日期 2027-13-40 无效" in said.group(1)
    assert 'value="约投资方看地"' in r.text
    board = client.get("/workbench/projects")
    counts = dict(
        re.findall(r'data-stage="(\w+)">[^<]+<span class="badge text-bg-light">(\d+)', board.text)
    )
    assert counts["visit"] == "1"


def test_the_stage_follows_the_flow(
    client: TestClient, passwords: dict[str, str], project_id: int, session: Session
) -> None:
    """A project went from 线索 straight to 落地 by the stage form: the form offers the next
    stage, the earlier ones (a correction) and 流失, and a jump sent anyway is refused in
    Chinese with nothing written and the note kept; a step back is taken; 流失 stays
    reachable."""
    csrf = sign_in(client, passwords["promoter"])
    base = f"/workbench/projects/{project_id}"

    def post(**data: Any) -> Any:
        return client.post(
            base + "/stage", data={**data, "csrf_token": csrf}, follow_redirects=False
        )

    def options(page: str) -> list[str]:
        form = re.search(r'<select[^>]*id="f-stage".*?</select>', page, re.S)
        assert form
        return re.findall(r'<option value="(\w+)"', form.group(0))

    assert options(client.get(base).text) == ["lead", "talks", "lost"]
    r = post(stage="landed", version=1, note="已经落地了")
    assert r.status_code == 200
    said = re.search(r'id="stage-error">([^<]*)<', r.text)
    assert said and "项目阶段不能从线索直接改为落地" in said.group(1)
    assert "当前可改为 洽谈、流失" in said.group(1) and 'value="已经落地了"' in r.text

    def status() -> tuple[str, int]:
        row = session.execute(
            text("SELECT pipeline_status, version FROM landmatch.project WHERE id = :i"),
            {"i": project_id},
        ).one()
        return row.pipeline_status, row.version

    assert status() == ("new", 1)
    for version, stage in enumerate(("talks", "visit", "signed"), start=1):
        assert post(stage=stage, version=version).status_code == 303
    assert options(client.get(base).text) == ["lead", "talks", "visit", "signed", "landed", "lost"]
    assert post(stage="landed", version=4).status_code == 303
    assert post(stage="visit", version=5).status_code == 303  # back two stages: a correction
    assert status() == ("visiting", 6)
    assert options(client.get(base).text) == ["lead", "talks", "visit", "signed", "lost"]
    r = post(stage="landed", version=6)  # a jump over 签约
    said = re.search(r'id="stage-error">([^<]*)<', r.text)
    assert said and "项目阶段不能从考察直接改为落地" in said.group(1)
    assert "当前可改为 线索、洽谈、签约、流失" in said.group(1)
    assert status() == ("visiting", 6)
    assert post(stage="lost", version=6).status_code == 303
    assert status() == ("lost", 7)
    assert options(client.get(base).text) == ["talks", "lost"]


def test_a_lost_project_releases_its_holds(
    client: TestClient, passwords: dict[str, str], project_id: int, session: Session
) -> None:
    """The journeys review: a project moved to 流失 kept its reservation (90 days), so every
    other team's results showed the site 已被其他项目预留 and none could reserve it. Its holds
    end with the change, said on the timeline; the API's stage change does the same."""
    parcel = session.execute(
        text(
            "SELECT id, code FROM landmatch.parcel WHERE status = 'ready' AND deleted_at IS NULL "
            "AND id NOT IN (SELECT parcel_id FROM landmatch.reservation WHERE released_at IS NULL) "
            "ORDER BY code LIMIT 1"
        )
    ).one()
    session.execute(
        text(
            "INSERT INTO landmatch.reservation (parcel_id, project_id, reserved_by, until, "
            "owner_team) VALUES (:pa, :pr, 't-promoter', current_date + 90, 't-team-a')"
        ),
        {"pa": parcel.id, "pr": project_id},
    )
    csrf = sign_in(client, passwords["promoter"])
    r = client.post(
        f"/workbench/projects/{project_id}/stage",
        data={"stage": "lost", "note": "投资方转投他省", "version": 1, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    held = session.execute(
        text(
            "SELECT count(*) FROM landmatch.reservation WHERE project_id = :p "
            "AND released_at IS NULL"
        ),
        {"p": project_id},
    ).scalar_one()
    assert held == 0
    page = client.get(f"/workbench/projects/{project_id}").text
    assert f"投资方转投他省；项目流失，已释放预留地块 {parcel.code}" in page
    # Back in talks, nothing is held again by itself; a lost project without holds says nothing.
    r = client.post(
        f"/workbench/projects/{project_id}/stage",
        data={"stage": "talks", "version": 2, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/workbench/projects/{project_id}/stage",
        data={"stage": "lost", "version": 3, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get(f"/workbench/projects/{project_id}").text.count("已释放预留地块") == 1


def test_another_team_neither_sees_nor_writes(
    client: TestClient,
    passwords: dict[str, str],
    project_id: int,
    session: Session,
    password_hash: str,
) -> None:
    add_usable_user(
        session, "t-promoter-b", "promoter", team="t-team-b", password_hash=password_hash
    )
    csrf = sign_in(client, "t-promoter-b")
    board = client.get("/workbench/projects")
    assert board.status_code == 200 and "已有项目" not in board.text
    for suffix in ("", "/requirement"):
        assert client.get(f"/workbench/projects/{project_id}{suffix}").status_code == 404
    for suffix, data in (
        ("/stage", {"stage": "lost", "version": 1}),
        ("/note", {"note": "x", "version": 1}),
        ("/next-step", {"next_step": "x", "version": 1}),
        ("/requirement", {**FORM, "version": 1}),
        ("/match", {}),
    ):
        r = client.post(
            f"/workbench/projects/{project_id}{suffix}",
            data={**data, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code in (303, 404), (suffix, r.status_code)
    row = session.execute(
        text("SELECT pipeline_status, version FROM landmatch.project WHERE id = :i"),
        {"i": project_id},
    ).one()
    assert row.pipeline_status == "new" and row.version == 1
    assert (
        session.execute(
            text("SELECT count(*) FROM landmatch.project_event WHERE project_id = :p"),
            {"p": project_id},
        ).scalar_one()
        == 0
    )


def test_a_promoter_without_a_team_is_told_before_filling_the_form(
    client: TestClient, session: Session, passwords: dict[str, str], password_hash: str
) -> None:
    """The board, the new project's page and the home card say that the account has no team
    instead of offering a form whose 保存 would be refused; with a team, the button is there.
    The admin's account form says that a promoter needs a team."""
    from landmatch.match.ownership import NO_TEAM

    add_usable_user(session, "t-promoter-noteam", "promoter", password_hash=password_hash)
    sign_in(client, "t-promoter-noteam")
    board = client.get("/workbench/projects").text
    assert NO_TEAM in board and 'href="/workbench/projects/new"' not in board
    new = client.get("/workbench/projects/new")
    assert new.status_code == 200 and 'id="no-team"' in new.text and NO_TEAM in new.text
    assert 'id="requirement-form"' not in new.text
    home = client.get("/workbench").text
    assert 'id="home-no-team"' in home and 'href="/workbench/projects/new"' not in home
    # Sent anyway (an old tab): refused, and the notice again, no form.
    sent = client.post("/workbench/projects/new", data={**FORM, "csrf_token": _csrf(board)})
    assert 'id="no-team"' in sent.text and 'id="requirement-form"' not in sent.text
    assert (
        session.execute(
            text("SELECT count(*) FROM landmatch.project WHERE name = :n"), {"n": FORM["name"]}
        ).scalar_one()
        == 0
    )

    sign_in(client, passwords["promoter"])  # t-team-a
    board = client.get("/workbench/projects").text
    assert NO_TEAM not in board and 'href="/workbench/projects/new"' in board
    assert 'id="requirement-form"' in client.get("/workbench/projects/new").text

    sign_in(client, passwords["admin"])
    assert "招商人员须属于一个团队" in client.get("/workbench/users/new").text


def test_bidi_controls_do_not_reorder_what_staff_read(
    client: TestClient, passwords: dict[str, str], project_id: int, session: Session
) -> None:
    """A name or a note holding U+202E (right-to-left override) read reordered on the pages
    (报价单<U+202E>fdp.exe shown as 报价单exe.pdf): every page's output leaves the bidi
    controls out (landmatch.display), what is stored stays as it was sent."""
    name = "报价单\u202efdp.exe项目"
    session.execute(
        text("UPDATE landmatch.project SET name = :n WHERE id = :i"), {"n": name, "i": project_id}
    )
    csrf = sign_in(client, passwords["promoter"])
    r = client.post(
        f"/workbench/projects/{project_id}/note",
        data={"note": "投资方\u2067甲\u2069确认\u202b看地", "version": 1, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    for page in (
        client.get(f"/workbench/projects/{project_id}"),
        client.get("/workbench/projects"),
    ):
        assert page.status_code == 200
        assert "报价单fdp.exe项目" in page.text
        assert not re.search("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", page.text)
    assert "投资方甲确认看地" in client.get(f"/workbench/projects/{project_id}").text
    stored = session.execute(
        text("SELECT name FROM landmatch.project WHERE id = :i"), {"i": project_id}
    ).scalar_one()
    assert stored == name
