"""Held parcels (预留) as the land bureau sees them (the review of reservations): the parcel
list's 预留 filter and column and the 熟地 export's 预留 column, as the bureau of the parcel's
city and of another city, a promoter of the holding team and of another team, and an admin
(each sees what :func:`landmatch.db.holds.seen` shows it: the project to its team and admins,
the team and date to the bureau, the date only to another team); and a change of a held
parcel's status through the edit form, the bulk action, the API and an import: warned of, and
已供应 ends the hold with a note on the project's timeline the team reads."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.accounts.users import add_user
from landmatch.api.schemas.parcels import ParcelCard
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.inventory.imports import ImportOptions, run_import
from landmatch.match import projects as svc
from tests.conftest import auth, sign_in

PROJECT = "甲队保密汽车项目"
TEAM = "t-team-a"
REQ = {"industry": "36", "area_mu_min": 20, "area_mu_max": 150, "top": 5}


@pytest.fixture
def held(session: Session, passwords: dict[str, str], password_hash: str) -> dict[str, Any]:
    """Team A's project holding a ready parcel of 石家庄 (the bureau's city) for 30 days; the
    accounts of each role by name, with team B's promoter and 唐山's bureau added."""
    extra = {"promoter_b": "t-promoter-b", "bureau_other": "t-bureau-ts"}
    add_user(session, extra["promoter_b"], "promoter", team="t-team-b")
    add_user(session, extra["bureau_other"], "bureau", "130200")
    session.execute(
        text(
            "UPDATE landmatch.app_user SET password_hash = :h, must_change_password = false "
            "WHERE name = ANY(:n)"
        ),
        {"h": password_hash, "n": list(extra.values())},
    )
    code = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE city_code = '130100' AND status = 'ready' "
            "AND deleted_at IS NULL ORDER BY code LIMIT 1"
        )
    ).scalar_one()
    team_a = Principal(name="t-promoter", role="promoter", team=TEAM)
    project = svc.create_project(
        session, team_a, svc.ProjectIn.model_validate({"name": PROJECT, "requirement": REQ})
    )
    until = beijing_today() + dt.timedelta(days=30)
    hold = svc.reserve(
        session,
        team_a,
        svc.ReservationIn(parcel_code=code, project_id=project["id"], until=until),
    )
    session.flush()
    return {
        "code": code,
        "until": until.isoformat(),
        "project": project["id"],
        "reservation": hold["id"],
        "users": {**passwords, **extra},
    }


def _seen(held: dict[str, Any]) -> dict[str, str | None]:
    """The 预留 cell of the held parcel per role (None: the parcel is not listed at all)."""
    until = held["until"]
    full = f"已预留（招商团队 {TEAM}，项目“{PROJECT}”，至 {until}）"
    return {
        "bureau": f"已预留（招商团队 {TEAM}，至 {until}）",
        "bureau_other": None,  # 唐山's bureau does not list 石家庄's parcels
        "promoter": full,
        "promoter_b": f"已预留（至 {until}）",
        "admin": full,
    }


def _cell(page: str, code: str) -> str | None:
    """The 预留 cell of ``code``'s row of the list page (None when the row is not there)."""
    start = page.find(f'<a href="/workbench/parcels/{code}">{code}</a>')
    if start < 0:
        return None
    cell = page.index('class="small lm-hold">', start) + len('class="small lm-hold">')
    return page[cell : page.index("</td>", cell)]


@pytest.mark.parametrize("role", ["bureau", "bureau_other", "promoter", "promoter_b", "admin"])
def test_the_list_filters_and_shows_holds_as_each_role_may_see_them(
    client: TestClient, held: dict[str, Any], role: str
) -> None:
    sign_in(client, held["users"][role])
    code, want = held["code"], _seen(held)[role]
    page = client.get("/workbench/parcels?held=1")
    assert page.status_code == 200, page.text[:300]
    assert 'id="f-held"' in page.text and '<option value="1" selected>已预留</option>' in page.text
    assert _cell(page.text, code) == want
    if role == "bureau_other":
        assert TEAM not in page.text
        # Another city's bureau reads a card of the parcel: held, until when, not by whom.
        card = client.get(f"/api/parcels/{code}/card")
        assert card.status_code == 200, card.text[:300]
        assert card.json()["internal"]["reservation"] == {"until": held["until"], "own": False}
    # Every row the filter lists is held; the other way round, the parcel is not listed.
    cells = page.text.count('class="small lm-hold">已预留（')
    assert cells == page.text.count('class="small lm-hold">')
    assert _cell(client.get("/workbench/parcels?held=0").text, code) is None
    # Unfiltered, its row says the same.
    listed = client.get(f"/workbench/parcels?q={code}").text
    assert _cell(listed, code) == want
    if role in ("bureau", "promoter_b"):
        assert PROJECT not in listed
    if role == "promoter_b":
        assert TEAM not in listed
    refused = client.get("/workbench/parcels?held=x")
    assert refused.status_code == 400 and "未知的筛选值：x" in refused.text


@pytest.mark.parametrize("role", ["bureau", "promoter", "promoter_b", "admin"])
def test_the_export_has_the_hold_column_with_the_same_rule(
    client: TestClient, held: dict[str, Any], role: str
) -> None:
    sign_in(client, held["users"][role])
    r = client.get("/workbench/parcels/export?format=xlsx&held=1&city=130100")
    assert r.status_code == 200, r.text[:300]
    ws = load_workbook(io.BytesIO(r.content))["熟地清单"]
    header = [c.value for c in ws[1]]
    rows = {row[header.index("地块编号")]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    assert rows[held["code"]][header.index("预留")] == _seen(held)[role]
    assert all(row[header.index("预留")] for row in rows.values())
    notes = load_workbook(io.BytesIO(r.content))["说明"]
    assert any("已预留" in str(c.value) for row in notes.iter_rows() for c in row)


@pytest.mark.parametrize("role", ["bureau", "bureau_other", "promoter", "promoter_b", "admin"])
def test_the_reservations_api_shows_each_role_what_the_list_shows_it(
    client: TestClient, held: dict[str, Any], role: str
) -> None:
    """``/api/reservations`` follows the list's rule (``landmatch.db.holds.shown``): the
    bureau of the parcel's city is told the team (it was told only the date), another city's
    bureau lists no hold of 石家庄, another team the date only, the team and admins all."""
    sign_in(client, held["users"][role])
    r = client.get("/api/reservations")
    assert r.status_code == 200, r.text[:300]
    rows = [h for h in r.json() if h["id"] == held["reservation"]]
    if role == "bureau_other":
        assert rows == [] and TEAM not in r.text
        return
    (hold,) = rows
    assert hold["until"] == held["until"] and hold["parcel_code"] == held["code"]
    if role in ("promoter", "admin"):
        assert hold["own"] is True and hold["project_name"] == PROJECT
        assert hold["owner_team"] == TEAM and hold["project_id"] == held["project"]
        return
    others = {"id", "parcel_code", "parcel_id", "until", "created_at", "released_at", "own"}
    assert hold["own"] is False and PROJECT not in r.text
    if role == "bureau":
        assert set(hold) == others | {"owner_team"} and hold["owner_team"] == TEAM
    else:
        assert set(hold) == others and TEAM not in r.text
    # The same as the parcel list's 预留 cell and the parcel card say to the same caller.
    card = client.get(f"/api/parcels/{held['code']}/card")
    assert card.status_code == 200, card.text[:300]
    want = {"until": held["until"], "own": False} | ({"team": TEAM} if role == "bureau" else {})
    assert card.json()["internal"]["reservation"] == want
    ParcelCard.model_validate(card.json())  # the documented card (the bureau's team too)
    listed = _cell(client.get(f"/workbench/parcels?q={held['code']}").text, held["code"])
    assert listed == _seen(held)[role] and (TEAM in (listed or "")) == ("owner_team" in hold)


def test_a_hold_past_its_date_is_in_force_nowhere(
    client: TestClient, session: Session, held: dict[str, Any]
) -> None:
    """A hold whose date has passed and that nobody released yet (it ends by itself) is not
    held on the list, the card or ``/api/reservations`` alike; the card and the API had
    still shown it while the list and its 预留 filter did not."""
    yesterday = beijing_today() - dt.timedelta(days=1)
    session.execute(
        text("UPDATE landmatch.reservation SET until = :d WHERE id = :i"),
        {"d": yesterday, "i": held["reservation"]},
    )
    session.flush()
    code = held["code"]
    for role in ("promoter", "bureau"):
        sign_in(client, held["users"][role])
        assert _cell(client.get(f"/workbench/parcels?q={code}").text, code) == "—"
        assert _cell(client.get("/workbench/parcels?held=1").text, code) is None
        card = client.get(f"/api/parcels/{code}/card")
        assert card.status_code == 200 and card.json()["internal"]["reservation"] is None
        active = client.get("/api/reservations").json()
        assert held["reservation"] not in [h["id"] for h in active], active
        every = client.get("/api/reservations?active=false").json()
        assert [h["until"] for h in every if h["id"] == held["reservation"]] == [
            yesterday.isoformat()
        ]


def _hold_state(session: Session, held: dict[str, Any]) -> tuple[Any, list[str]]:
    released = session.execute(
        text("SELECT released_at FROM landmatch.reservation WHERE id = :i"),
        {"i": held["reservation"]},
    ).scalar_one()
    notes = session.execute(
        text(
            "SELECT actor || '|' || body FROM landmatch.project_event WHERE project_id = :p "
            "AND kind = 'note' ORDER BY id"
        ),
        {"p": held["project"]},
    ).scalars()
    return released, list(notes)


def _bureau_posts(
    client: TestClient, session: Session, held: dict[str, Any], action: str, **data: str
) -> str:
    """The 石家庄 bureau posts the held parcel's ``action`` form (edit, delete) on its current
    version; the page the save leads to."""
    code = held["code"]
    csrf = sign_in(client, held["users"]["bureau"])
    version = session.execute(
        text("SELECT version FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    r = client.post(
        f"/workbench/parcels/{code}/{action}",
        data={"csrf_token": csrf, "version": version, **data},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    return client.get(r.headers["location"]).text


def test_supplying_a_held_parcel_on_the_edit_form_warns_and_ends_the_hold(
    client: TestClient, session: Session, held: dict[str, Any]
) -> None:
    code = held["code"]
    page = _bureau_posts(client, session, held, "edit", status="supplied")
    said = (
        f"已保存，请核实：状态：地块 {code} 正由招商团队“{TEAM}”的项目预留（至 {held['until']}）；"
        "状态改为已供应后预留已结束，已记入该项目的进展记录"
    )
    assert said in page, page[:3000]
    assert PROJECT not in page  # the bureau is told the team, not the project
    released, notes = _hold_state(session, held)
    assert released is not None
    assert notes == [
        f"t-bureau-sjz|地块 {code} 状态由熟地改为已供应（t-bureau-sjz），本项目对该地块的预留已结束"
    ]
    # The team reads it on its project's page; the parcel is no longer held in the list.
    sign_in(client, held["users"]["promoter"])
    project_page = client.get(f"/workbench/projects/{held['project']}").text
    assert f"地块 {code} 状态由熟地改为已供应" in project_page
    assert _cell(client.get(f"/workbench/parcels?q={code}").text, code) == "—"


def test_deleting_a_held_parcel_ends_the_hold_and_says_so(
    client: TestClient, session: Session, held: dict[str, Any]
) -> None:
    """A held parcel deleted by its bureau kept its hold: the team's project still listed it
    as 预留中 though no one could be offered it. The hold ends with the delete, said beside the
    flash and on the project's timeline."""
    code = held["code"]
    page = _bureau_posts(client, session, held, "delete", reason="重复录入")
    assert f"地块 {code} 已删除；可在本页恢复，请核实：" in page, page[:3000]
    assert f"原由招商团队“{TEAM}”的项目预留（至 {held['until']}）；删除后预留已结束" in page
    released, notes = _hold_state(session, held)
    assert released is not None
    assert notes == [f"t-bureau-sjz|地块 {code} 已删除（t-bureau-sjz），本项目对该地块的预留已结束"]


def test_the_api_delete_answers_the_hold_it_ended_when_asked(
    client: TestClient, session: Session, tokens: dict[str, str], held: dict[str, Any]
) -> None:
    """``DELETE /api/parcels/{code}`` ended a hold and answered 204 with nothing: with
    ``Prefer: return=representation`` it answers 200 with the delete's warnings; without, 204
    with the ETag as before."""
    code = held["code"]
    bureau = auth(tokens["bureau"])
    tag = client.get(f"/api/parcels/{code}", headers=bureau).headers["ETag"]
    prefer = {"Prefer": 'handling=lenient, return="representation"'}
    r = client.delete(f"/api/parcels/{code}", headers={**bureau, "If-Match": tag, **prefer})
    assert r.status_code == 200, r.text
    assert r.headers["Preference-Applied"] == "return=representation"
    assert r.json() == {
        "code": code,
        "deleted": True,
        "warnings": [
            {
                "field": "status",
                "message": f"地块 {code} 原由招商团队“{TEAM}”的项目预留（至 {held['until']}）；"
                "删除后预留已结束，已记入该项目的进展记录",
            }
        ],
    }
    released, notes = _hold_state(session, held)
    assert released is not None and len(notes) == 1
    # Restored (against the delete's ETag) and deleted again without asking: 204, no body.
    back = client.post(
        f"/api/parcels/{code}/restore", json={}, headers={**bureau, "If-Match": r.headers["ETag"]}
    )
    assert back.status_code == 200, back.text
    again = client.delete(
        f"/api/parcels/{code}", headers={**bureau, "If-Match": back.headers["ETag"]}
    )
    assert again.status_code == 204 and again.content == b"" and again.headers["ETag"]
    assert "Preference-Applied" not in again.headers


def test_another_status_by_the_bulk_action_warns_and_keeps_the_hold(
    client: TestClient, session: Session, held: dict[str, Any]
) -> None:
    code = held["code"]
    csrf = sign_in(client, held["users"]["bureau"])
    version = session.execute(
        text("SELECT version FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    r = client.post(
        "/workbench/parcels/bulk",
        data={
            "csrf_token": csrf,
            "action": "status",
            "status": "unsupplied",
            "reason": "核查",
            "sel": f'{code}|"{code}.v{version}"',
        },
    )
    assert (
        f"已将 1 宗地块修改状态为“批而未供”，请核实：状态：地块 {code} 正由招商团队“{TEAM}”的项目"
        f"预留（至 {held['until']}），状态已改为批而未供，请告知该团队" in r.text
    ), r.text[:3000]
    assert _hold_state(session, held) == (None, [])


def test_the_api_answers_the_warning_and_ends_the_hold(
    client: TestClient, session: Session, tokens: dict[str, str], held: dict[str, Any]
) -> None:
    code = held["code"]
    bureau = auth(tokens["bureau"])
    tag = client.get(f"/api/parcels/{code}", headers=bureau).headers["ETag"]
    r = client.patch(
        f"/api/parcels/{code}",
        json={"status": "idle"},
        headers={**bureau, "If-Match": tag},
    )
    assert r.status_code == 200, r.text
    assert {
        "field": "status",
        "message": f"地块 {code} 正由招商团队“{TEAM}”的项目预留"
        f"（至 {held['until']}），状态已改为闲置，请告知该团队",
    } in r.json()["warnings"]
    bulk = client.post(
        "/api/parcels/bulk",
        json={
            "items": [{"code": code, "etag": r.headers["ETag"]}],
            "status": "withdrawn",
            "reason": "撤回",
        },
        headers=bureau,
    )
    assert bulk.status_code == 200, bulk.text
    [warning] = bulk.json()["warnings"]
    assert warning["message"].endswith("状态改为已撤回后预留已结束，已记入该项目的进展记录")
    released, notes = _hold_state(session, held)
    assert released is not None and len(notes) == 1 and "由闲置改为已撤回" in notes[0]


def test_an_import_that_supplies_a_held_parcel_warns_on_its_row_and_ends_the_hold(
    client: TestClient, session: Session, held: dict[str, Any]
) -> None:
    """The 熟地 export, its 状态 changed to 已供应, imported back: its 预留 column is ignored,
    the row is warned of and the hold ends."""
    code = held["code"]
    sign_in(client, held["users"]["bureau"])
    data = client.get(f"/workbench/parcels/export?format=xlsx&q={code}").content
    wb = load_workbook(io.BytesIO(data))
    ws = wb["熟地清单"]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("状态") + 1, value="已供应")
    out = io.BytesIO()
    wb.save(out)
    bureau = Principal(name="t-bureau-sjz", role="bureau", city_code="130100")
    # A dry run says what the import would do (it said 预留已结束 though nothing was written).
    tried = run_import(
        session.connection(), out.getvalue(), "x.xlsx", bureau, ImportOptions(dry_run=True)
    )
    assert [w["message"] for w in tried["rows"][0]["warnings"]] == [
        f"地块 {code} 正由招商团队“{TEAM}”的项目预留（至 {held['until']}）；"
        "状态改为已供应后预留将结束（导入后记入该项目的进展记录）"
    ]
    assert _hold_state(session, held) == (None, [])
    report = run_import(session.connection(), out.getvalue(), "x.xlsx", bureau, ImportOptions())
    assert report["totals"]["updated"] == 1, report
    [row] = report["rows"]
    assert row["warnings"] == [
        {
            "field": "status",
            "message": f"地块 {code} 正由招商团队“{TEAM}”的项目预留（至 {held['until']}）；"
            "状态改为已供应后预留已结束，已记入该项目的进展记录",
        }
    ]
    released, notes = _hold_state(session, held)
    assert released is not None and notes and "由熟地改为已供应" in notes[0]


def test_restoring_a_version_that_was_supplied_warns_and_ends_the_hold(
    client: TestClient, session: Session, held: dict[str, Any]
) -> None:
    """The history page's restore of a version whose status was 已供应 is a status change."""
    code = held["code"]

    def write(sets: str) -> int:
        session.execute(text("SELECT set_config('landmatch.actor', 'legacy-import', true)"))
        session.execute(text(f"UPDATE landmatch.parcel SET {sets} WHERE code = :c"), {"c": code})
        session.flush()
        return int(
            session.execute(
                text("SELECT version FROM landmatch.parcel WHERE code = :c"), {"c": code}
            ).scalar_one()
        )

    supplied = write("status = 'supplied'")
    now = write("status = 'ready'")
    csrf = sign_in(client, held["users"]["bureau"])
    r = client.post(
        f"/workbench/parcels/{code}/restore",
        data={"csrf_token": csrf, "current": now, "version": supplied, "reason": "恢复"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    page = client.get(r.headers["location"]).text
    assert (
        f"已恢复到版本 {supplied}，请核实：状态：地块 {code} 正由招商团队“{TEAM}”的项目预留"
        f"（至 {held['until']}）；状态改为已供应后预留已结束" in page
    ), page[:3000]
    released, notes = _hold_state(session, held)
    assert released is not None and len(notes) == 1
