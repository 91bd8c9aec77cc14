"""QA, monitoring and disposal cases in the workbench (issue #14 §4) through the app, without a
browser: every new page and endpoint walked as each role (the public, a bureau in its own city
and asking for another, a zone committee, a promoter, an admin), CSRF and the case's version on
every write, the QA report paged over the checks' own flags, the dashboard and its summary API
scoped by city, and a disposal case opened, stepped through (errors beside the field, the
conflict screen, re-applying), seen overdue and closed by recovery (the parcel becomes ready).

Decided per page (README "QA, monitoring and disposal cases"): the QA report is for those who
fix the inventory (admins, bureaus, zone committees); disposal cases for admins and bureaus
(the service's writers); the dashboard for every staff role, a city bureau held to its city.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.monitoring import cases
from tests.accounts_made import add_usable_user
from tests.conftest import sign_in

ROLES = ("public", "admin", "bureau", "zone", "promoter")
ADMIN = Principal(name="t-admin", role="admin")


def _one(session: Session, sql: str, **params: Any) -> Any:
    return session.execute(text(sql), params).scalar_one()


def _idle(session: Session, city: str) -> str:
    return str(
        _one(
            session,
            "SELECT p.code FROM landmatch.parcel p WHERE p.city_code = :c AND p.status = 'idle' "
            "AND p.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM landmatch.disposal_case d "
            "WHERE d.parcel_id = p.id AND d.status = 'open') ORDER BY p.code LIMIT 1",
            c=city,
        )
    )


def _recoverable(session: Session, city: str) -> str:
    """An idle parcel of ``city`` without an open case that the holder's delay makes
    recoverable today (Order 53 Art. 14: free recovery from the second year)."""
    from landmatch.monitoring import scan
    from landmatch.monitoring.idle import IdleRule

    busy = {c["parcel_code"] for c in cases.list_cases(session, ADMIN, status="open")}
    return next(
        r["code"]
        for r in scan.scan_rows(session, beijing_today(), IdleRule(), city)
        if r["stage"] == "recoverable" and r["status"] == "idle" and r["code"] not in busy
    )


@pytest.fixture
def opened(session: Session, tokens: dict[str, str]) -> dict[str, Any]:
    """An open case on an idle parcel of 石家庄 (the bureau's city), opened 200 days ago (its
    first step overdue), and one of 唐山 (another city)."""
    out = {}
    for which, city in (("own", "130100"), ("other", "130200")):
        code = _idle(session, city)
        c = cases.open_case(
            session,
            ADMIN,
            code,
            opened_on=beijing_today() - dt.timedelta(days=200),
            fee_rate=0.2,
        )
        out[which] = {"id": c["id"], "code": code, "version": c["version"]}
    session.flush()
    return out


def _status(r: Any) -> int:
    return int(r.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(
    client: TestClient, passwords: dict[str, str], opened: dict[str, Any], role: str
) -> None:
    if role != "public":
        sign_in(client, passwords[role])
    own, other = opened["own"], opened["other"]
    keepers = ("admin", "bureau", "zone")
    disposers = ("admin", "bureau")
    staff = ("admin", "bureau", "zone", "promoter")
    walk = [
        ("/workbench/qa", keepers),
        ("/workbench/qa?check=ready_checklist", keepers),
        ("/workbench/qa?check=ready_checklist&city=130100", keepers),
        ("/workbench/qa?city=130200", ("admin", "zone")),
        ("/workbench/cases", disposers),
        ("/workbench/cases?overdue=1", disposers),
        ("/workbench/cases?status=all&city=130200", ("admin",)),
        ("/workbench/cases/idle", disposers),
        ("/workbench/cases/idle?stage=recoverable&city=130100", disposers),
        ("/workbench/cases/new", disposers),
        (f"/workbench/cases/{own['id']}", disposers),
        (f"/workbench/cases/{other['id']}", ("admin",)),
        (f"/workbench/cases/new?parcel={_q(own['code'])}", disposers),  # redirects to the case
        (f"/workbench/cases/new?parcel={_q(other['code'])}", ("admin",)),
        ("/dashboard", staff),
        ("/dashboard?city=130100", staff),
        ("/dashboard?city=130200", ("admin", "zone", "promoter")),
    ]
    for path, allowed in walk:
        r = client.get(path, follow_redirects=False)
        if role == "public":
            assert _status(r) == 303 and "/workbench/login" in r.headers["location"], path
            continue
        if role in allowed:
            assert _status(r) in (200, 303), (role, path, r.text[:300])
            if _status(r) == 303:
                assert r.headers["location"] in (
                    f"/workbench/cases/{own['id']}",
                    f"/workbench/cases/{other['id']}",
                )
        else:
            assert _status(r) == 403, (role, path, _status(r))
            assert "<html" in r.text and "无权" in r.text
    for path, allowed in [
        ("/api/monitoring/summary?city=130100", staff),
        ("/api/monitoring/summary?city=130200", ("admin", "zone", "promoter")),
    ]:
        r = client.get(path)
        if role == "public":
            assert _status(r) == 401, path
        else:
            assert _status(r) == (200 if role in allowed else 403), (role, path)


def _q(code: str) -> str:
    from urllib.parse import quote

    return quote(code, safe="")


def _csrf(client: TestClient, url: str) -> str:
    page = client.get(url)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


@pytest.mark.parametrize("role", ROLES)
def test_writes_as_each_role_and_scope(
    client: TestClient,
    passwords: dict[str, str],
    opened: dict[str, Any],
    session: Session,
    role: str,
) -> None:
    """Opening a case, recording a step and deciding, on a case of the bureau's city and one of
    another: refused (403) or done; the public is sent to sign in; nothing written when
    refused."""
    csrf = sign_in(client, passwords[role]) if role != "public" else ""
    today = beijing_today().isoformat()
    for which in ("own", "other"):
        case = opened[which]
        allowed = role == "admin" or (role == "bureau" and which == "own")
        before = _one(
            session, "SELECT version FROM landmatch.disposal_case WHERE id = :i", i=case["id"]
        )
        r = client.post(
            f"/workbench/cases/{case['id']}/steps",
            data={
                "csrf_token": csrf,
                "version": before,
                "kind": "investigation_notice",
                "done_on": today,
                "doc_no": f"walk-{role}",
            },
            follow_redirects=False,
        )
        after = _one(
            session, "SELECT version FROM landmatch.disposal_case WHERE id = :i", i=case["id"]
        )
        if role == "public":
            assert _status(r) == 303 and "/workbench/login" in r.headers["location"]
        elif allowed:
            assert _status(r) == 303 and after == before + 1, r.text[:300]
        else:
            assert _status(r) == 403 and after == before, (role, which)
        # Opening a case on a parcel with one open: refused by scope first, else shown beside
        # the form (never a second case).
        r = client.post(
            "/workbench/cases",
            data={"csrf_token": csrf, "parcel_code": case["code"], "opened_on": today},
            follow_redirects=False,
        )
        n = _one(
            session,
            "SELECT count(*) FROM landmatch.disposal_case d JOIN landmatch.parcel p ON "
            "p.id = d.parcel_id WHERE p.code = :c",
            c=case["code"],
        )
        assert n == 1
        if role == "public":
            assert _status(r) == 303
        elif allowed:
            assert _status(r) == 200 and "已有办理中的处置案件" in r.text
        else:
            assert _status(r) == 403


def test_unsafe_requests_need_the_csrf_token(
    client: TestClient, passwords: dict[str, str], opened: dict[str, Any], session: Session
) -> None:
    sign_in(client, passwords["bureau"])
    case = opened["own"]
    for url, data in [
        (
            f"/workbench/cases/{case['id']}/steps",
            {"version": 1, "kind": "investigation_notice", "done_on": beijing_today().isoformat()},
        ),
        (
            f"/workbench/cases/{case['id']}/decision",
            {"version": 1, "decision": "recovery", "decided_on": beijing_today().isoformat()},
        ),
        ("/workbench/cases", {"parcel_code": _idle(session, "130100")}),
    ]:
        r = client.post(url, data=data, follow_redirects=False)
        assert _status(r) == 403, url
    assert (
        _one(session, "SELECT version FROM landmatch.disposal_case WHERE id = :i", i=case["id"])
        == 1
    )


def test_qa_report_counts_pages_and_links_to_the_edit_form(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    from landmatch.inventory import listing

    sign_in(client, passwords["bureau"])
    bureau = Principal(name="t-bureau-sjz", role="bureau", city_code="130100")
    counted = listing.flag_counts(session, bureau, stale_days=365, max_age_s=0)
    html = client.get("/workbench/qa").text
    for f in counted["flags"]:
        assert re.search(
            rf'data-check="{f["check"]}">{f["title"]}<span class="badge [^"]+">{f["count"]:,}</span>',
            html,
        ), f
    # Opened without a check, the report lists an attribute check's parcels first (a spatial
    # check's list reads every boundary of the city: seconds on a large one).
    from landmatch.api.routes.workbench.qa import BOUNDARY_CHECKS

    shown = re.search(r'aria-current="true" href="[^"]*" data-check="([^"]+)"', html)
    flagged = [f["check"] for f in counted["flags"] if f["count"]]
    attribute = [c for c in flagged if c not in BOUNDARY_CHECKS]
    assert shown and shown.group(1) == (attribute or flagged)[0], (shown, flagged)
    check = next(f for f in counted["flags"] if f["count"] > 50 or f["check"] == "ready_checklist")
    first = client.get(f"/workbench/qa?check={check['check']}").text
    codes = re.findall(r'<tr data-code="([^"]+)">', first)
    assert len(codes) == min(50, check["count"])
    for code in codes:
        assert f'href="/workbench/parcels/{_q(code)}/edit"' in first
    assert f"共 {check['count']:,} 条" in first
    if check["count"] > 50:
        second = client.get(f"/workbench/qa?check={check['check']}&offset=50").text
        more = re.findall(r'<tr data-code="([^"]+)">', second)
        assert more and not set(more) & set(codes)
    # The report's rows are exactly the flagged parcels of the city (the checks' own SQL).
    from landmatch.inventory.qa import flag_params, flag_sql

    expected = (
        session.execute(
            text(
                "SELECT p.code FROM landmatch.parcel p WHERE p.deleted_at IS NULL AND "
                f"p.city_code = '130100' AND {flag_sql(check['check'])} ORDER BY p.code LIMIT 50"
            ),
            flag_params(365),
        )
        .scalars()
        .all()
    )
    assert sorted(codes) == sorted(expected)
    bad = client.get("/workbench/qa?check=nonsense")
    assert _status(bad) == 400 and "未知的数据质量检查项" in bad.text


def test_dashboard_and_summary_scoped_by_city(
    client: TestClient, passwords: dict[str, str]
) -> None:
    sign_in(client, passwords["bureau"])
    page = client.get("/dashboard").text
    assert 'data-city="130100"' in page and 'id="dash-city"' not in page
    assert "/static/app/wb-dashboard.js" in page and 'href="/workbench/qa"' in page
    mine = client.get("/api/monitoring/summary").json()
    assert mine["city"] == "130100"
    assert {r["city_code"] for r in mine["area_by_city_status"]} == {"130100"}
    assert all(a["city_code"] == "130100" for a in mine["alerts"])
    client.post("/workbench/logout", data={"csrf_token": _csrf(client, "/workbench/account")})
    sign_in(client, passwords["admin"])
    page = client.get("/dashboard").text
    assert 'data-city=""' in page and 'id="dash-city"' in page
    one = client.get("/api/monitoring/summary?city=130200").json()
    assert one["city_name"] == "唐山市" and {
        r["city_code"] for r in one["area_by_city_status"]
    } == {"130200"}
    assert _status(client.get("/api/monitoring/summary?city=999999")) == 400


def test_case_journey_errors_conflict_overdue_and_recovery(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    code = _recoverable(session, "130100")
    parcel = client.get(f"/workbench/parcels/{_q(code)}").text
    assert f'href="/workbench/cases/new?parcel={_q(code)}"' in parcel
    form = client.get(f"/workbench/cases/new?parcel={_q(code)}")
    assert form.status_code == 200 and 'id="open-case-form"' in form.text
    long_ago = (beijing_today() - dt.timedelta(days=120)).isoformat()
    r = client.post(
        "/workbench/cases",
        data={"csrf_token": csrf, "parcel_code": code, "opened_on": "2026-13-40"},
    )
    assert r.status_code == 200 and "日期格式应为" in r.text and "is-invalid" in r.text
    tomorrow = (beijing_today() + dt.timedelta(days=1)).isoformat()
    r = client.post(
        "/workbench/cases",
        data={"csrf_token": csrf, "parcel_code": code, "opened_on": tomorrow},
    )
    assert r.status_code == 200 and "立案日期不能晚于今天" in r.text
    assert 'id="f-opened_on-msg"' in r.text  # beside its field
    r = client.post(
        "/workbench/cases",
        data={"csrf_token": csrf, "parcel_code": code, "opened_on": long_ago, "note": "<b>x</b>"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    case_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/workbench/cases/{case_id}").text
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    # The first step (15 days after opening) is overdue; so say the list and the home card.
    assert re.search(r'data-step="investigation_notice" class="table-danger"', page)
    assert "逾期 105 天" in page
    assert (
        f'data-case="{case_id}" class="table-danger"'
        in client.get("/workbench/cases?overdue=1").text
    )
    assert f'href="/workbench/cases/{case_id}"' in client.get("/workbench").text
    # A date before the opening is refused beside the field, nothing recorded.
    early = (beijing_today() - dt.timedelta(days=200)).isoformat()
    r = client.post(
        f"/workbench/cases/{case_id}/steps",
        data={"csrf_token": csrf, "version": 1, "kind": "investigation_notice", "done_on": early},
    )
    assert r.status_code == 200 and "早于上一步骤或立案日期" in r.text and "is-invalid" in r.text
    # Recorded with its document number (stored text is text).
    doc = "石自然资闲调〔2026〕<i>1</i>号"
    step_day = (beijing_today() - dt.timedelta(days=100)).isoformat()
    r = client.post(
        f"/workbench/cases/{case_id}/steps",
        data={
            "csrf_token": csrf,
            "version": 1,
            "kind": "investigation_notice",
            "done_on": step_day,
            "doc_no": doc,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/workbench/cases/{case_id}").text
    assert "石自然资闲调〔2026〕&lt;i&gt;1&lt;/i&gt;号" in page
    # A second tab still holding version 1: the conflict screen, then re-applying is refused
    # for a step already done; a stale form for the next step re-applies on the new version.
    r = client.post(
        f"/workbench/cases/{case_id}/steps",
        data={
            "csrf_token": csrf,
            "version": 1,
            "kind": "investigation_notice",
            "done_on": step_day,
        },
    )
    assert r.status_code == 200 and 'id="conflict"' in r.text and 'id="no-reapply"' in r.text
    assert "t-bureau-sjz" in r.text
    r = client.post(
        f"/workbench/cases/{case_id}/steps",
        data={
            "csrf_token": csrf,
            "version": 1,
            "kind": "holder_reply",
            "done_on": step_day,
            "doc_no": "答复-1",
        },
    )
    assert r.status_code == 200 and 'id="reapply-form"' in r.text
    hidden = dict(
        re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
            r.text.split('id="reapply-form"')[1],
        )
    )
    assert hidden["version"] == "2" and hidden["kind"] == "holder_reply"
    r = client.post(f"/workbench/cases/{case_id}/steps", data=hidden, follow_redirects=False)
    assert r.status_code == 303
    for kind in ("determination", "public_notice"):
        version = _one(
            session, "SELECT version FROM landmatch.disposal_case WHERE id = :i", i=case_id
        )
        r = client.post(
            f"/workbench/cases/{case_id}/steps",
            data={"csrf_token": csrf, "version": version, "kind": kind, "done_on": step_day},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:300]
    page = client.get(f"/workbench/cases/{case_id}").text
    assert 'id="decision-form"' in page and 'id="step-form"' not in page
    version = _one(session, "SELECT version FROM landmatch.disposal_case WHERE id = :i", i=case_id)
    r = client.post(
        f"/workbench/cases/{case_id}/decision",
        data={
            "csrf_token": csrf,
            "version": version,
            "decision": "",
            "decided_on": beijing_today().isoformat(),
        },
    )
    assert r.status_code == 200 and "请选择处置方式" in r.text
    # The form offers what the parcel's stage allows today (recoverable: the fee, recovery);
    # a decision it does not allow is refused beside the field, naming the stage and the rule.
    form = page.split('id="decision-form"')[1].split("</form>")[0]
    offered = re.findall(
        r'<option value="([^"]+)"', form.split('name="decision"')[1].split("</select>")[0]
    )
    assert offered == ["fee", "recovery"] and "可无偿收回" in form
    r = client.post(
        f"/workbench/cases/{case_id}/decision",
        data={
            "csrf_token": csrf,
            "version": version,
            "decision": "swap",
            "decided_on": beijing_today().isoformat(),
        },
    )
    assert r.status_code == 200 and 'id="decision-form"' in r.text
    assert "“可无偿收回”" in r.text and "只适用于政府原因造成的闲置土地" in r.text
    assert re.search(r'<select class="form-select is-invalid" id="f-decision"', r.text)
    r = client.post(
        f"/workbench/cases/{case_id}/decision",
        data={
            "csrf_token": csrf,
            "version": version,
            "decision": "recovery",
            "decided_on": beijing_today().isoformat(),
            "doc_no": "收回-1",
            "publish": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    status, visibility, holder = session.execute(
        text("SELECT status, visibility, holder FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).one()
    assert (status, visibility, holder) == ("ready", "public", None)
    page = client.get(f"/workbench/cases/{case_id}").text
    assert "已办结" in page and "无偿收回" in page and 'id="decision-form"' not in page


def test_idle_list_opens_a_case(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    html = client.get("/workbench/cases/idle").text
    rows = re.findall(r'<tr data-code="([^"]+)">', html)
    assert rows
    code = next(c for c in rows if f'value="{c}"><input type="hidden" name="opened_on"' in html)
    r = client.post(
        "/workbench/cases",
        data={"csrf_token": csrf, "parcel_code": code, "opened_on": beijing_today().isoformat()},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/workbench/cases/")
    case_id = r.headers["location"].rsplit("/", 1)[1]
    html = client.get("/workbench/cases/idle").text
    assert f'href="/workbench/cases/{case_id}"' in html


def test_land_neither_idle_nor_at_risk_is_not_opened(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """A parcel whose stage cannot be told is listed without 立案 (a link to fill its dates
    in instead), and opening it, or normal land, is refused on the form, in Chinese."""
    csrf = sign_in(client, passwords["bureau"])
    unknown, normal = (
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE city_code = '130100' AND status = "
                "'supplied' AND deleted_at IS NULL ORDER BY code LIMIT 2"
            )
        )
        .scalars()
        .all()
    )
    session.execute(
        text(
            "UPDATE landmatch.parcel SET contract_date = NULL, agreed_start_date = NULL, "
            "actual_start_date = NULL, stopped_since = NULL WHERE code = :c"
        ),
        {"c": unknown},
    )
    later = beijing_today() + dt.timedelta(days=400)
    session.execute(
        text(
            "UPDATE landmatch.parcel SET agreed_start_date = :d, actual_start_date = NULL, "
            "stopped_since = NULL WHERE code = :c"
        ),
        {"c": normal, "d": later},
    )
    html = client.get("/workbench/cases/idle?stage=unknown").text
    row = html.split(f'<tr data-code="{unknown}">')[1].split("</tr>")[0]
    assert "lm-open-case" not in row and f'href="/workbench/parcels/{_q(unknown)}/edit"' in row
    for code, reason in ((unknown, "无法判定闲置阶段"), (normal, "“正常”")):
        r = client.post(
            "/workbench/cases",
            data={
                "csrf_token": csrf,
                "parcel_code": code,
                "opened_on": beijing_today().isoformat(),
            },
            follow_redirects=False,
        )
        assert r.status_code == 200 and reason in r.text and 'id="open-case-form"' in r.text
        assert not cases.open_case_of(
            session, [_one(session, "SELECT id FROM landmatch.parcel WHERE code = :c", c=code)]
        )


def test_province_idle_scans_run_on_the_job_session(
    app: Any, client: Any, passwords: dict[str, str], tokens: dict[str, str]
) -> None:
    """The idle-land list of every city (the API without a city, the workbench's list for an
    admin) reads every supplied parcel of the province: it runs on the job session's statement
    limit, as the dashboard's summary does; one city's stays on the request's."""
    from tests.conftest import auth

    real = app.state.job_sessions
    used: list[str] = []

    def counted() -> Any:
        used.append("job")
        return real()

    app.state.job_sessions = counted
    try:
        h = auth(tokens["admin"])
        whole = client.get("/api/monitoring/idle?limit=5", headers=h)
        assert whole.status_code == 200 and len(whole.json()["by_city"]) > 1
        assert used == ["job"]
        one = client.get("/api/monitoring/idle?city=130100&limit=5", headers=h)
        assert one.status_code == 200 and used == ["job"]
        sign_in(client, passwords["admin"])
        page = client.get("/workbench/cases/idle")
        assert page.status_code == 200 and 'id="idle-parcels"' in page.text
        assert used == ["job", "job"]
        assert client.get("/workbench/cases/idle?city=130100").status_code == 200
        assert used == ["job", "job"]
    finally:
        app.state.job_sessions = real


def _at_risk(session: Session) -> str:
    """A 石家庄 parcel recorded as idle, without an open case, not started and 100 days past
    its agreed start date: at risk today (the holder's delay)."""
    code = _idle(session, "130100")
    today = beijing_today()
    session.execute(
        text(
            "UPDATE landmatch.parcel SET contract_date = :c, agreed_start_date = :a, "
            "actual_start_date = NULL, stopped_since = NULL, gov_caused = false, "
            "gov_cause = NULL, start_extended = false WHERE code = :code"
        ),
        {"c": today - dt.timedelta(days=200), "a": today - dt.timedelta(days=100), "code": code},
    )
    return code


def _close_form(page: str) -> str:
    return page.split('id="close-form"')[1].split("</form>")[0]


def test_a_case_closes_without_disposal_on_its_page(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """The case page offers 不予处置，结案 only as the day allows: before the investigation
    notice neither closure (each says why), then 不构成闲置，撤销 (its reason required, shown
    beside the field), and 已动工，结案 once the start is recorded; the closed case shows who
    and why, and the steps not taken as such."""
    csrf = sign_in(client, passwords["bureau"])
    today = beijing_today().isoformat()
    code = _at_risk(session)
    r = client.post(
        "/workbench/cases",
        data={"csrf_token": csrf, "parcel_code": code, "opened_on": today},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    case_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/workbench/cases/{case_id}").text
    assert 'id="h-close-form"' in page and 'id="close-form"' not in page
    refused = re.findall(r'<p class="small text-muted lm-closure-refused">([^<]+)</p>', page)
    assert len(refused) == 2
    assert "“已动工，结案”暂不可选" in refused[0] and "“临近闲置”" in refused[0]
    assert "调查通知书" in refused[1]
    # A closure the day does not allow (a page out of date) is refused in the card, not lost.
    sent = {"csrf_token": csrf, "version": 1, "decision": "not_idle", "decided_on": today}
    r = client.post(f"/workbench/cases/{case_id}/decision", data={**sent, "note": "核查"})
    assert r.status_code == 200 and 'id="close-form"' not in r.text
    card = r.text.split('id="h-close-form"')[1]
    assert 'id="form-error"' in card and "尚未登记“下达闲置土地调查通知书”" in card
    r = client.post(
        f"/workbench/cases/{case_id}/steps",
        data={"csrf_token": csrf, "version": 1, "kind": "investigation_notice", "done_on": today},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/workbench/cases/{case_id}").text
    form = _close_form(page)
    assert re.findall(r'<option value="([^"]+)"', form) == ["not_idle"]
    assert "data-confirm=" in page.split('id="close-form"')[1].split(">")[0]
    # A page opened before the notice was recorded (version 1): the conflict screen, and the
    # closure re-applies on the new version (a closure does not wait for a step).
    r = client.post(f"/workbench/cases/{case_id}/decision", data={**sent, "note": "核查"})
    assert r.status_code == 200 and 'id="conflict"' in r.text and 'id="reapply-form"' in r.text
    hidden = dict(
        re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
            r.text.split('id="reapply-form"')[1],
        )
    )
    assert (hidden["version"], hidden["decision"], hidden["note"]) == ("2", "not_idle", "核查")
    sent = {**sent, "version": 2, "decision": "started"}
    r = client.post(f"/workbench/cases/{case_id}/decision", data=sent)
    assert r.status_code == 200 and "不能以“已动工，结案”结案" in _close_form(r.text)
    assert 'class="form-select is-invalid" id="f-closure"' in r.text
    # No reason: refused beside the reason, in the closure form only; nothing written.
    sent = {**sent, "decision": "not_idle"}
    r = client.post(f"/workbench/cases/{case_id}/decision", data={**sent, "note": " "})
    assert r.status_code == 200 and "请写明不构成闲置的理由" in r.text
    assert 'class="form-control is-invalid" id="f-close_note"' in r.text
    assert (
        'id="form-error"' not in r.text and "is-invalid" not in r.text.split('id="close-form"')[0]
    )
    assert "selected" in _close_form(r.text).split('value="not_idle"')[1].split(">")[0]
    # The holder started ten days ago: 已动工，结案 is offered too, and taken.
    session.execute(
        text(
            "UPDATE landmatch.parcel SET actual_start_date = :d, developed_ratio = 0.5 "
            "WHERE code = :c"
        ),
        {"d": beijing_today() - dt.timedelta(days=10), "c": code},
    )
    form = _close_form(client.get(f"/workbench/cases/{case_id}").text)
    assert re.findall(r'<option value="([^"]+)"', form) == ["started", "not_idle"]
    r = client.post(
        f"/workbench/cases/{case_id}/decision",
        data={**sent, "decision": "started", "doc_no": "核查-1", "note": "<b>现场核查</b>"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    page = client.get(f"/workbench/cases/{case_id}").text
    assert "已办结：已动工，结案" in page
    reason = page.split('id="case-close-reason">')[1].split("</dd>")[0]
    assert "实际开工日期" in reason and "&lt;b&gt;现场核查&lt;/b&gt;" in reason
    assert "t-bureau-sjz" in reason and "<b>" not in page
    assert page.count("未办理（已结案）") == 3 and "逾期" not in page
    assert 'id="h-close-form"' not in page and 'id="step-form"' not in page
    status = _one(session, "SELECT status FROM landmatch.parcel WHERE code = :c", c=code)
    assert status == "supplied"


@pytest.mark.parametrize("role", (*ROLES, "province"))
def test_closing_without_disposal_as_each_role(
    client: TestClient,
    passwords: dict[str, str],
    password_hash: str,
    opened: dict[str, Any],
    session: Session,
    role: str,
) -> None:
    """不构成闲置，撤销 posted on a case of the bureau's city and one of another's: done by the
    admin, the province's bureau and the city's own bureau; refused (403, nothing written) to
    another city's bureau, a zone committee and a promoter; the public is sent to sign in."""
    from landmatch.db.locking import ANY

    names = dict(passwords)
    if role == "province":
        add_usable_user(session, "t-bureau-prov", "bureau", "130000", password_hash=password_hash)
        names["province"] = "t-bureau-prov"
    today = beijing_today()
    for case in opened.values():
        cases.complete_step(
            session, ADMIN, case["id"], "investigation_notice", done_on=today, if_match=ANY
        )
    session.flush()
    csrf = sign_in(client, names[role]) if role != "public" else ""
    for which in ("own", "other"):
        case = opened[which]
        allowed = role in ("admin", "province") or (role == "bureau" and which == "own")
        before = _one(
            session, "SELECT version FROM landmatch.disposal_case WHERE id = :i", i=case["id"]
        )
        r = client.post(
            f"/workbench/cases/{case['id']}/decision",
            data={
                "csrf_token": csrf,
                "version": before,
                "decision": "not_idle",
                "decided_on": today.isoformat(),
                "note": f"walk {role}",
            },
            follow_redirects=False,
        )
        status, decision = session.execute(
            text("SELECT status, decision FROM landmatch.disposal_case WHERE id = :i"),
            {"i": case["id"]},
        ).one()
        if role == "public":
            assert _status(r) == 303 and "/workbench/login" in r.headers["location"]
        elif allowed:
            assert _status(r) == 303, (role, which, r.text[:300])
            assert (status, decision) == ("closed", "not_idle")
        else:
            assert _status(r) == 403, (role, which, _status(r))
        if not allowed:
            assert (status, decision) == ("open", None)


@pytest.mark.parametrize("role", ROLES)
def test_lease_terms_over_the_ceiling_on_the_qa_report(
    client: TestClient, passwords: dict[str, str], session: Session, role: str
) -> None:
    """Parcels stored with 出让年限 over their use's ceiling are a QA finding with the term
    and the ceiling, each viewer seeing their own scope (a city bureau its city, a zone
    committee its zone); promoters are refused, the public sent to sign in."""
    zone = _one(session, "SELECT id FROM landmatch.dev_zone ORDER BY id LIMIT 1")
    planted = {}
    for key, where in (
        ("sjz", "p.city_code = '130100' AND p.zone_id IS DISTINCT FROM :z"),
        ("ts", "p.city_code = '130200' AND p.zone_id IS DISTINCT FROM :z"),
        ("zone", "p.zone_id = :z"),
    ):
        planted[key] = _one(
            session,
            "UPDATE landmatch.parcel SET lease_years = 70 WHERE id = (SELECT p.id FROM "
            f"landmatch.parcel p WHERE {where} AND p.land_use LIKE '1001%' "
            "AND p.deleted_at IS NULL ORDER BY p.id LIMIT 1) RETURNING code",
            z=zone,
        )
    if role != "public":
        sign_in(client, passwords[role])
    r = client.get("/workbench/qa?check=lease_over_ceiling", follow_redirects=False)
    if role == "public":
        assert _status(r) == 303 and "/workbench/login" in r.headers["location"]
        return
    if role == "promoter":
        assert _status(r) == 403 and "无权" in r.text
        return
    assert _status(r) == 200, r.text[:300]
    page = r.text
    assert "出让年限超过用途最高年限" in page
    seen = {k for k, code in planted.items() if f'data-code="{code}"' in page}
    sjz_zone = _one(session, "SELECT city_code FROM landmatch.dev_zone WHERE id = :z", z=zone)
    expected = {
        "admin": {"sjz", "ts", "zone"},
        "bureau": {"sjz"} | ({"zone"} if sjz_zone == "130100" else set()),
        "zone": {"zone"},
    }[role]
    assert seen == expected, (role, seen)
    assert "出让年限 70 年超过工业用地最高 50 年" in page
    count = re.search(
        r'data-check="lease_over_ceiling">[^<]*<span class="badge[^"]*">([0-9,]+)<', page
    )
    assert count and int(count.group(1).replace(",", "")) == len(expected)
