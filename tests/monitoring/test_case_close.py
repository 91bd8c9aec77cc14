"""An idle-land case closed without a disposal (docs/domain.md §5), through the API:
``started`` (已动工，结案) only when the parcel's stage that day (the scan's) is normal,
``not_idle`` (不构成闲置，撤销) after the investigation notice and with a reason; either
records who and why in the decision step, the case's history and the parcel's, closes the
case at any step and counts nothing towards the disposal targets. Walked as each role: the
city's bureau, another city's, a zone committee, a promoter, the province's bureau, the admin
and the public."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from landmatch.accounts.users import add_user
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db.locking import ANY
from landmatch.monitoring import cases, targets
from tests.conftest import auth, with_etag

TODAY = beijing_today()
ADMIN = Principal(name="t-admin", role="admin")


def _set(session: Session, code: str, **values: Any) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in values)
    session.execute(
        text(f"UPDATE landmatch.parcel SET {sets} WHERE code = :code"), {**values, "code": code}
    )


@pytest.fixture
def at_risk(session: Session) -> str:
    """A 石家庄 parcel recorded as idle, not started, 100 days past its agreed start date: at
    risk today (idle on the start's anniversary), the holder's delay."""
    code = str(
        session.execute(
            text(
                "SELECT p.code FROM landmatch.parcel p WHERE p.city_code = '130100' "
                "AND p.status IN ('supplied', 'idle') AND p.deleted_at IS NULL AND NOT EXISTS ("
                "SELECT 1 FROM landmatch.disposal_case d WHERE d.parcel_id = p.id "
                "AND d.status = 'open') ORDER BY p.code LIMIT 1"
            )
        ).scalar_one()
    )
    _set(
        session,
        code,
        status="idle",
        contract_date=TODAY - dt.timedelta(days=200),
        agreed_start_date=TODAY - dt.timedelta(days=100),
        actual_start_date=None,
        stopped_since=None,
        gov_caused=False,
        gov_cause=None,
        start_extended=False,
    )
    return code


@pytest.fixture
def everyone(session: Session, tokens: dict[str, str]) -> dict[str, str | None]:
    """A token per caller of the walk (None: the public)."""
    out: dict[str, str | None] = {
        **tokens,
        "public": None,
        "province": add_user(session, "t-bureau-prov", "bureau", "130000"),
        "bureau_other": add_user(session, "t-bureau-ts", "bureau", "130200"),
    }
    session.flush()
    return out


def _open(client: TestClient, token: str | None, code: str) -> dict[str, Any]:
    r = client.post(
        "/api/monitoring/cases",
        json={"parcel_code": code, "opened_on": TODAY.isoformat()},
        headers=auth(token or ""),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _decide(client: TestClient, token: str | None, case_id: int, etag: str, **body: Any) -> Any:
    """POST the decision as ``token``'s caller (None: the public) at the version ``etag``."""
    headers = {**(auth(token) if token else {}), "If-Match": etag}
    return client.post(
        f"/api/monitoring/cases/{case_id}/decision",
        json={"decided_on": TODAY.isoformat(), **body},
        headers=headers,
    )


def _etag(client: TestClient, token: str, case_id: int) -> str:
    r = client.get(f"/api/monitoring/cases/{case_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    return str(r.headers["ETag"])


def _step(client: TestClient, token: str, case_id: int, kind: str) -> None:
    url = f"/api/monitoring/cases/{case_id}"
    r = client.post(
        f"{url}/steps",
        json={"kind": kind, "done_on": TODAY.isoformat(), "doc_no": "石自然资闲调〔2026〕1号"},
        headers=with_etag(client, url, auth(token)),
    )
    assert r.status_code == 200, r.text


def _history(session: Session, layer: str, record_id: int) -> Any:
    return session.execute(
        text(
            "SELECT actor, reason, row FROM landmatch.layer_version WHERE layer = :l "
            "AND record_id = :i ORDER BY id DESC LIMIT 1"
        ),
        {"l": layer, "i": record_id},
    ).one()


def test_started_needs_the_land_no_longer_idle_nor_at_risk(
    client: TestClient, session: Session, tokens: dict[str, str], at_risk: str
) -> None:
    """At risk and not started: 已动工，结案 is refused naming the stage and what to do; once
    the start is recorded (the scan's stage is normal that day) it closes the case at its first
    step, records who and why, and the parcel recorded as idle is supplied land again."""
    bureau = tokens["bureau"]
    case = _open(client, bureau, at_risk)
    assert case["stage_at_open"] == "at_risk"
    etag = _etag(client, bureau, case["id"])
    r = _decide(client, bureau, case["id"], etag, decision="started")
    assert r.status_code == 400, r.text
    body = r.json()
    assert "“临近闲置”" in body["detail"] and "实际开工日期" in body["detail"]
    assert cases.closures_allowed(session, ADMIN, case["id"], TODAY, 0.2)["started"]
    assert client.get(f"/api/monitoring/cases/{case['id']}", headers=auth(bureau)).json()[
        "status"
    ] == ("open")
    # Started 10 days ago, half developed, not stopped: normal today, not on the eve of it.
    _set(session, at_risk, actual_start_date=TODAY - dt.timedelta(days=10), developed_ratio=0.5)
    assert cases.closures_allowed(session, ADMIN, case["id"], TODAY, 0.2)["started"] is None
    early = _decide(
        client,
        bureau,
        case["id"],
        etag,
        decision="started",
        decided_on=(TODAY - dt.timedelta(days=11)).isoformat(),
    )
    assert early.status_code == 400 and "早于" in early.json()["detail"]
    r = _decide(client, bureau, case["id"], etag, decision="started", fee_wan=10)
    assert r.status_code == 400 and r.json()["errors"]["field"] == "fee_wan"
    stale = _decide(client, bureau, case["id"], etag.replace(".v", ".v9"), decision="started")
    assert stale.status_code == 412, stale.text
    r = _decide(
        client,
        bureau,
        case["id"],
        etag,
        decision="started",
        doc_no="开工核查 7 号",
        note="现场核查",
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["decision"], done["decision_label"]) == (
        "closed",
        "started",
        "已动工，结案",
    )
    assert done["closed_on"] == TODAY.isoformat() and done["fee_wan"] is None
    steps = {s["kind"]: s for s in done["steps"]}
    decision = steps["decision"]
    assert decision["done_on"] == TODAY.isoformat() and decision["actor"] == "t-bureau-sjz"
    assert decision["doc_no"] == "开工核查 7 号"
    started = (TODAY - dt.timedelta(days=10)).isoformat()
    assert decision["note"] == f"实际开工日期 {started}；现场核查"
    assert steps["investigation_notice"]["done_on"] is None  # not taken, and never will be
    actor, reason, row = _history(session, "disposal_case", case["id"])
    assert actor == "t-bureau-sjz" and row["decision"] == "started"
    assert "已动工，结案" in reason and "现场核查" in reason
    actor, reason, status, notes = session.execute(
        text(
            "SELECT actor, reason, row->>'status', row->>'notes' FROM "
            "landmatch.parcel_version_full WHERE code = :c ORDER BY version DESC LIMIT 1"
        ),
        {"c": at_risk},
    ).one()
    assert (actor, status) == ("t-bureau-sjz", "supplied")
    assert "已动工，结案" in reason and "已动工，结案" in notes
    # Closed: nothing more is taken, and the case no longer offers a closure.
    etag = _etag(client, bureau, case["id"])
    again = _decide(client, bureau, case["id"], etag, decision="not_idle", note="重复")
    assert again.status_code == 409
    assert cases.closures_allowed(session, ADMIN, case["id"], TODAY, 0.2) == {}


def test_not_idle_needs_the_investigation_and_a_reason(
    client: TestClient, session: Session, tokens: dict[str, str], at_risk: str
) -> None:
    """不构成闲置，撤销 in any stage, once the investigation notice is recorded, with the
    reason the investigation found (required); the targets do not count the case."""
    bureau = tokens["bureau"]
    _set(  # idle, a year and four months past the agreed start
        session,
        at_risk,
        contract_date=TODAY - dt.timedelta(days=600),
        agreed_start_date=TODAY - dt.timedelta(days=500),
    )
    year = TODAY.year
    targets.set_target(
        session, ADMIN, city_code="130100", year=year, kind="idle", target_area_m2=1e6, if_match=ANY
    )
    before = targets.progress(session, ADMIN, TODAY, city="130100")["targets"][0]
    case = _open(client, bureau, at_risk)
    assert case["stage_at_open"] == "idle_fee"
    r = _decide(
        client, bureau, case["id"], _etag(client, bureau, case["id"]), decision="not_idle", note="x"
    )
    assert r.status_code == 400 and "调查通知书" in r.json()["detail"]
    _step(client, bureau, case["id"], "investigation_notice")
    etag = _etag(client, bureau, case["id"])
    for note in (None, "   "):
        r = _decide(client, bureau, case["id"], etag, decision="not_idle", note=note)
        assert r.status_code == 400, r.text
        assert r.json()["errors"]["field"] == "note" and "理由" in r.json()["detail"]
    # 已动工，结案 is not allowed (idle, not started): the closure is the investigation's.
    assert _decide(client, bureau, case["id"], etag, decision="started").status_code == 400
    reason = "经调查，交地时存在地上物，<b>已于合同约定期内动工</b>"
    r = _decide(client, bureau, case["id"], etag, decision="not_idle", note=reason)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["decision_label"]) == ("closed", "不构成闲置，撤销")
    step = next(s for s in done["steps"] if s["kind"] == "decision")
    assert (step["note"], step["actor"]) == (reason, "t-bureau-sjz")
    actor, why, _row = _history(session, "disposal_case", case["id"])
    assert actor == "t-bureau-sjz" and reason in why
    after = targets.progress(session, ADMIN, TODAY, city="130100")["targets"][0]
    assert (after["done_area_m2"], after["cases"]) == (before["done_area_m2"], before["cases"])


def test_an_unsupplied_case_has_no_closure(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    code = session.execute(
        text(
            "SELECT p.code FROM landmatch.parcel p WHERE p.city_code = '130100' "
            "AND p.status = 'unsupplied' AND p.deleted_at IS NULL AND NOT EXISTS ("
            "SELECT 1 FROM landmatch.disposal_case d WHERE d.parcel_id = p.id "
            "AND d.status = 'open') ORDER BY p.code LIMIT 1"
        )
    ).scalar_one()
    case = _open(client, tokens["bureau"], code)
    etag = _etag(client, tokens["bureau"], case["id"])
    r = _decide(client, tokens["bureau"], case["id"], etag, decision="not_idle", note="x")
    assert r.status_code == 400 and "批而未供处置的处置方式只能是" in r.json()["detail"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("public", 401),
        ("bureau", 200),
        ("bureau_other", 403),
        ("zone", 403),
        ("promoter", 403),
        ("province", 200),
        ("admin", 200),
    ],
)
def test_closing_as_each_role(
    client: TestClient,
    session: Session,
    everyone: dict[str, str | None],
    at_risk: str,
    who: str,
    status: int,
) -> None:
    """A 石家庄 case closed as 已动工，结案 by each caller: done by the city's bureau, the
    province's and the admin; refused, with nothing written, to everyone else."""
    admin = everyone["admin"]
    assert admin
    case = _open(client, admin, at_risk)
    # The holder has started since: normal today.
    _set(session, at_risk, actual_start_date=TODAY - dt.timedelta(days=10), developed_ratio=0.5)
    etag = _etag(client, admin, case["id"])
    r = _decide(client, everyone[who], case["id"], etag, decision="started", note=f"walk {who}")
    assert r.status_code == status, (who, r.text)
    now = client.get(f"/api/monitoring/cases/{case['id']}", headers=auth(admin)).json()
    if status == 200:
        assert now["status"] == "closed" and now["version"] == case["version"] + 1
    else:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (now["status"], now["version"]) == ("open", case["version"])


def test_the_downgrade_refuses_while_a_case_is_closed_without_disposal(
    conn: Connection, session: Session, at_risk: str
) -> None:
    """0043_case_close's downgrade: the old decision checks cannot hold a closure, so the
    downgrade refuses while one exists (naming how many), instead of rewriting it; without
    one it goes down, and up again."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    mod = importlib.import_module("landmatch.db.migrations.versions.0043_case_close")
    case = cases.open_case(session, ADMIN, at_risk, opened_on=TODAY, fee_rate=0.2)
    cases.complete_step(
        session, ADMIN, case["id"], "investigation_notice", done_on=TODAY, if_match=ANY
    )
    cases.decide(
        session,
        ADMIN,
        case["id"],
        "not_idle",
        decided_on=TODAY,
        fee_rate=0.2,
        note="核查",
        if_match=ANY,
    )
    session.flush()
    with Operations.context(MigrationContext.configure(conn)):
        refused = conn.begin_nested()
        with pytest.raises(DBAPIError, match="1 disposal case"):
            mod.downgrade()
        refused.rollback()
        conn.execute(text("DELETE FROM landmatch.disposal_case WHERE id = :i"), {"i": case["id"]})
        mod.downgrade()
        check = conn.begin_nested()
        with pytest.raises(IntegrityError):
            conn.execute(
                text(
                    "UPDATE landmatch.disposal_case SET status = 'closed', decision = 'started', "
                    "closed_on = opened_on WHERE id = (SELECT min(id) FROM "
                    "landmatch.disposal_case WHERE kind = 'idle')"
                )
            )
        check.rollback()
        mod.upgrade()


def test_no_step_of_a_case_is_recorded_after_today(
    client: TestClient, session: Session, tokens: dict[str, str], at_risk: str
) -> None:
    """立案, a step and a decision are recorded as taken: a date after today (Beijing's) is
    refused through the API as in the workbench, naming the field, nothing written."""
    headers = auth(tokens["bureau"])
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    r = client.post(
        "/api/monitoring/cases",
        json={"parcel_code": at_risk, "opened_on": tomorrow},
        headers=headers,
    )
    assert r.status_code == 400 and "立案日期不能晚于今天" in r.text, r.text
    case_id = _open(client, tokens["bureau"], at_risk)["id"]
    url = f"/api/monitoring/cases/{case_id}"
    r = client.post(
        f"{url}/steps",
        json={"kind": "investigation_notice", "done_on": tomorrow},
        headers=with_etag(client, url, headers),
    )
    assert r.status_code == 400 and "完成日期不能晚于今天" in r.text, r.text
    r = client.post(
        f"{url}/decision",
        json={"decision": "started", "decided_on": tomorrow},
        headers=with_etag(client, url, headers),
    )
    assert r.status_code == 400 and "决定日期不能晚于今天" in r.text, r.text
    steps = client.get(url, headers=headers).json()["steps"]
    assert all(s["done_on"] is None for s in steps)
