"""Typed contracts of ``/api/users``, ``/api/me``, ``/api/audit`` and ``/api/monitoring``:
every JSON route declares a response model (so /openapi.json shows the real shape), and the
live answers are those models (extra keys refused: landmatch/api/schemas/accounts.py and
monitoring.py)."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.api.routes import monitoring as monitoring_routes
from landmatch.api.routes import users as users_routes
from landmatch.api.schemas.accounts import (
    Account,
    AccountPage,
    AuditPage,
    NewToken,
    Revoked,
    SignInSession,
    Token,
)
from landmatch.api.schemas.monitoring import (
    Alerts,
    Case,
    CaseList,
    CityRules,
    CityRuleSet,
    IdleReport,
    Rules,
    Targets,
    TargetSetting,
    TransferRoutes,
    Unsupplied,
    ZoneRanking,
)
from landmatch.dates import beijing_today
from tests.conftest import TEST_PASSWORD, auth, sign_in, with_etag

TOKENS = TypeAdapter(list[Token])


@pytest.mark.parametrize("module", [users_routes, monitoring_routes])
def test_every_json_route_declares_its_model(module: object) -> None:
    """Every route of the module answers a declared model, but the workbooks (files, which
    declare their media type)."""
    routes = [r for r in module.router.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    assert routes
    untyped = [
        r.path
        for r in routes
        if r.response_model is None and not r.responses.get(200, {}).get("content")
    ]
    assert untyped == []


def test_openapi_names_the_account_and_monitoring_models(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    def ref(path: str, method: str, status: str) -> str:
        content = paths[path][method]["responses"][status]["content"]["application/json"]
        schema = content["schema"]
        return str(schema.get("$ref") or schema["items"]["$ref"]).rsplit("/", 1)[-1]

    assert ref("/api/users/{name}/tokens", "post", "201") == "NewToken"
    assert ref("/api/me/sessions/{session_id}", "delete", "200") == "Revoked"
    assert ref("/api/audit", "get", "200") == "AuditPage"
    assert ref("/api/monitoring/idle", "get", "200") == "IdleReport"
    assert ref("/api/monitoring/cases/{case_id}/decision", "post", "200") == "Case"
    assert ref("/api/monitoring/rules/{city_code}", "put", "200") == "CityRules"


def test_account_writes_and_the_audit_log_are_their_models(
    client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    body = {"name": "t-contract", "role": "bureau", "city_code": "130200"}
    made = client.post("/api/users", json=body | {"password": TEST_PASSWORD}, headers=admin)
    assert made.status_code == 201, made.text
    assert Account.model_validate(made.json()).scope == "唐山市"
    url = "/api/users/t-contract"
    patched = client.patch(url, json={"team": "契约组"}, headers=with_etag(client, url, admin))
    assert Account.model_validate(patched.json()).team == "契约组"
    assert not Account.model_validate(client.post(url + "/disable", headers=admin).json()).active
    assert Account.model_validate(client.post(url + "/enable", headers=admin).json()).active
    reset = client.post(url + "/password", json={"password": TEST_PASSWORD + "x"}, headers=admin)
    assert Account.model_validate(reset.json()).must_change_password
    new = NewToken.model_validate(
        client.post(url + "/tokens", json={"name": "契约"}, headers=admin).json()
    )
    assert new.token.startswith("lm_") and new.user == "t-contract" and new.state == "active"
    listed = TOKENS.validate_python(client.get(url + "/tokens", headers=admin).json())
    assert [t.id for t in listed] == [new.id]
    gone = client.delete(f"{url}/tokens/{new.id}", headers=admin)
    assert Token.model_validate(gone.json()).state == "revoked"
    log = AuditPage.model_validate(client.get("/api/audit?user=t-contract", headers=admin).json())
    assert {"user_created", "user_updated", "token_created", "token_revoked"} <= {
        e.event for e in log.entries
    }
    assert AccountPage.model_validate(client.get("/api/users?q=contract", headers=admin).json())


def test_my_tokens_and_sessions_are_their_models(
    client: TestClient, tokens: dict[str, str], passwords: dict[str, str]
) -> None:
    sign_in(client, passwords["bureau"])
    me = auth(tokens["bureau"])
    new = NewToken.model_validate(client.post("/api/me/tokens", json={}, headers=me).json())
    assert new.user == "t-bureau-sjz"
    assert new.id in {
        t.id for t in TOKENS.validate_python(client.get("/api/me/tokens", headers=me).json())
    }
    assert Token.model_validate(client.delete(f"/api/me/tokens/{new.id}", headers=me).json())
    mine = TypeAdapter(list[SignInSession]).validate_python(
        client.get("/api/me/sessions", headers=me).json()
    )
    assert mine
    admin = auth(tokens["admin"])
    seen = client.get("/api/users/t-bureau-sjz/sessions", headers=admin).json()
    assert [s.id for s in TypeAdapter(list[SignInSession]).validate_python(seen)] == [
        s.id for s in mine
    ]
    ended = client.delete(f"/api/me/sessions/{mine[0].id}", headers=me)
    assert Revoked.model_validate(ended.json()).status == "revoked"


def test_a_non_admin_is_refused_the_admin_reads(client: TestClient, tokens: dict[str, str]) -> None:
    """The accounts services refuse (the routes no longer gate): 403 for staff, 401 public."""
    bureau = auth(tokens["bureau"])
    for path in (
        "/api/users",
        "/api/users/t-admin",
        "/api/users/t-admin/tokens",
        "/api/users/t-admin/sessions",
        "/api/audit",
    ):
        assert client.get(path, headers=bureau).status_code == 403, path
        assert client.get(path).status_code == 401, path
    assert client.get("/api/me/tokens").status_code == 401


@pytest.mark.parametrize("role", ["admin", "bureau"])
def test_the_monitoring_reads_are_their_models(
    client: TestClient, tokens: dict[str, str], role: str
) -> None:
    headers = auth(tokens[role])
    models: dict[str, type[BaseModel]] = {
        "/api/monitoring/idle?limit=50": IdleReport,
        "/api/monitoring/unsupplied": Unsupplied,
        "/api/monitoring/transfer": TransferRoutes,
        "/api/monitoring/zones": ZoneRanking,
        "/api/monitoring/targets": Targets,
        "/api/monitoring/alerts": Alerts,
        "/api/monitoring/cases": CaseList,
        "/api/monitoring/rules": Rules,
        "/api/monitoring/rules/130100": CityRuleSet,
        "/api/monitoring/targets/130100/2026/idle": TargetSetting,
    }
    shown: dict[str, BaseModel] = {}
    for path, model in models.items():
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        shown[path] = model.model_validate(r.json())
    idle = shown["/api/monitoring/idle?limit=50"]
    assert isinstance(idle, IdleReport) and idle.items
    if role == "bureau":  # the services scope themselves: 石家庄's rows only
        assert {i.city_code for i in idle.items} == {"130100"}
        transfer = shown["/api/monitoring/transfer"]
        assert isinstance(transfer, TransferRoutes)
        assert {t.city_code for t in transfer.rows} == {"130100"}


def test_a_case_through_its_steps_and_the_writes_are_their_models(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    from landmatch.monitoring import scan
    from landmatch.monitoring.idle import IdleRule

    admin = auth(tokens["admin"])
    busy = (
        session.execute(
            text(
                "SELECT p.code FROM landmatch.disposal_case c JOIN landmatch.parcel p ON p.id = c.parcel_id WHERE c.status = 'open'"
            )
        )
        .scalars()
        .all()
    )
    parcel = next(  # recovery without compensation: idle through the holder, 满两年
        r["code"]
        for r in scan.scan_rows(session, beijing_today(), IdleRule())
        if r["stage"] == "recoverable" and r["status"] == "idle" and r["code"] not in busy
    )
    today = beijing_today().isoformat()
    r = client.post("/api/monitoring/cases", json={"parcel_code": parcel}, headers=admin)
    assert r.status_code == 201, r.text
    case = Case.model_validate(r.json())
    url = f"/api/monitoring/cases/{case.id}"
    assert Case.model_validate(client.get(url, headers=admin).json()) == case
    while (pending := [s for s in case.steps if s.done_on is None])[0].kind != "decision":
        step = {"kind": pending[0].kind, "done_on": today}
        r = client.post(url + "/steps", json=step, headers=with_etag(client, url, admin))
        assert r.status_code == 200, r.text
        case = Case.model_validate(r.json())
    decision = {"decision": "recovery", "decided_on": today, "publish": False}
    r = client.post(url + "/decision", json=decision, headers=with_etag(client, url, admin))
    assert r.status_code == 200, r.text
    assert Case.model_validate(r.json()).status == "closed"
    target = {"city_code": "130100", "year": 2026, "kind": "idle", "target_area_m2": 1000}
    one = with_etag(client, "/api/monitoring/targets/130100/2026/idle", admin)
    put = client.put("/api/monitoring/targets", json=target, headers=one)
    assert Targets.model_validate(put.json()).targets
    city = with_etag(client, "/api/monitoring/rules/130100", admin)
    rule = client.put("/api/monitoring/rules/130100", json={"idle_after_months": 12}, headers=city)
    assert [c.city_code for c in CityRules.model_validate(rule.json()).rules] == ["130100"]


def test_timestamps_are_sent_as_the_services_write_them(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """``…+08:00`` (``datetime.isoformat()`` of what the database session, in Beijing time,
    hands back), as every other answer: the models do not re-write them as ``…Z``
    (api/schemas/common.Timestamp)."""
    me = auth(tokens["bureau"])
    new = client.post("/api/me/tokens", json={}, headers=me).json()
    assert new["created_at"].endswith("+08:00"), new["created_at"]
    log = client.get("/api/audit", headers=auth(tokens["admin"])).json()
    assert log["entries"] and all(e["at"].endswith("+08:00") for e in log["entries"])
