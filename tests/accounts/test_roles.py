"""Every new page and endpoint walked as each role: public, admin, bureau, zone, promoter."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import TEST_PASSWORD, auth, sign_in

ROLES = ("public", "admin", "bureau", "zone", "promoter")
STAFF = ("admin", "bureau", "zone", "promoter")

# (path, who may see it): the workbench pages (GET).
PAGES = [
    ("/workbench", STAFF),
    ("/workbench/account", STAFF),
    ("/workbench/password", STAFF),
    ("/workbench/logout", STAFF),
    ("/workbench/users", ("admin",)),
    ("/workbench/users/new", ("admin",)),
    ("/workbench/users/t-zone", ("admin",)),
    ("/workbench/audit", ("admin",)),
    ("/workbench/audit?event=login&offset=0", ("admin",)),
    ("/internal/map", STAFF),
    ("/dashboard", STAFF),
]

# (method, path, body, who may do it): the JSON API of accounts.
API = [
    ("GET", "/api/users", None, ("admin",)),
    ("GET", "/api/users/t-zone", None, ("admin",)),
    ("GET", "/api/users/t-zone/tokens", None, ("admin",)),
    ("GET", "/api/users/t-zone/sessions", None, ("admin",)),
    ("GET", "/api/audit", None, ("admin",)),
    ("GET", "/api/me", None, STAFF),
    ("GET", "/api/me/tokens", None, STAFF),
    ("GET", "/api/me/sessions", None, STAFF),
    ("POST", "/api/me/tokens", {"name": "walk"}, STAFF),
    ("POST", "/api/users", {"name": "walk-new", "role": "promoter"}, ("admin",)),
    ("PATCH", "/api/users/t-promoter", {"team": "北区招商"}, ("admin",)),
    ("POST", "/api/users/t-promoter/tokens", {"name": "walk"}, ("admin",)),
    ("POST", "/api/users/t-promoter/password", {"password": "新的-初始-口令-2026"}, ("admin",)),
    ("POST", "/api/users/t-promoter/disable", None, ("admin",)),
    ("POST", "/api/users/t-promoter/enable", None, ("admin",)),
]


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(client: TestClient, passwords: dict[str, str], role: str) -> None:
    if role != "public":
        sign_in(client, passwords[role])
    for path, allowed in PAGES:
        r = client.get(path, follow_redirects=False)
        if role == "public":
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/workbench/login"), path
        elif role in allowed:
            assert r.status_code == 200, (path, r.text[:300])
            assert r.headers["content-type"].startswith("text/html")
        else:
            assert r.status_code == 403, path
            assert "无权访问" in r.text and "<html" in r.text  # the HTML error page


@pytest.mark.parametrize("role", ROLES)
def test_account_api_as_each_role(client: TestClient, tokens: dict[str, str], role: str) -> None:
    headers = {} if role == "public" else auth(tokens[role])
    for method, path, body, allowed in API:
        # A change of an account's role or scope names its version; "*" is any version.
        r = client.request(
            method,
            path,
            json=body,
            headers=headers | ({"If-Match": "*"} if method == "PATCH" else {}),
        )
        if role == "public":
            assert r.status_code == 401, (method, path)
            assert "Basic" in r.headers["www-authenticate"]
        elif role in allowed:
            assert r.status_code in (200, 201), (method, path, r.text)
        else:
            assert r.status_code == 403, (method, path, r.text)


def test_admin_manages_an_account_through_the_api(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    h = auth(tokens["admin"])
    r = client.post(
        "/api/users",
        json={
            "name": "api-wang",
            "role": "bureau",
            "city_code": "130200",
            "password": TEST_PASSWORD,
        },
        headers=h,
    )
    assert r.status_code == 201 and r.json()["must_change_password"] is True
    assert r.json()["scope"] == "唐山市"
    bad = client.post(
        "/api/users", json={"name": "x y", "role": "bureau", "password": "123"}, headers=h
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"name", "city_code", "password"} <= fields  # every problem at once
    made = client.post("/api/users/api-wang/tokens", json={"name": "导出"}, headers=h).json()
    assert client.get("/api/me", headers=auth(made["token"])).json()["name"] == "api-wang"
    # Revoke the token: refused at once (the API checks on every request).
    assert (
        client.delete(f"/api/users/api-wang/tokens/{made['id']}", headers=h).json()["state"]
        == "revoked"
    )
    assert client.get("/api/me", headers=auth(made["token"])).status_code == 401
    # A token of another account cannot be revoked under this one's name.
    other = client.get("/api/users/t-zone/tokens", headers=h).json()[0]["id"]
    assert client.delete(f"/api/users/api-wang/tokens/{other}", headers=h).status_code == 404
    # Disable: the account's tokens stop working.
    made = client.post("/api/users/api-wang/tokens", json={}, headers=h).json()
    assert client.post("/api/users/api-wang/disable", headers=h).json()["active"] is False
    assert client.get("/api/me", headers=auth(made["token"])).status_code == 401
    events = [
        e["event"]
        for e in client.get("/api/audit", params={"user": "api-wang"}, headers=h).json()["entries"]
    ]
    assert {"user_created", "token_created", "token_revoked", "user_disabled"} <= set(events)


def test_admin_cannot_lock_themself_out(client: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens["admin"])
    assert client.post("/api/users/t-admin/disable", headers=h).status_code == 403
    assert (
        client.patch("/api/users/t-admin", json={"role": "promoter"}, headers=h).status_code == 403
    )


def test_users_own_tokens_only(client: TestClient, tokens: dict[str, str]) -> None:
    mine = client.post("/api/me/tokens", json={"name": "m"}, headers=auth(tokens["zone"])).json()
    assert (
        client.delete(f"/api/me/tokens/{mine['id']}", headers=auth(tokens["promoter"])).status_code
        == 404
    )
    assert (
        client.delete(f"/api/me/tokens/{mine['id']}", headers=auth(tokens["zone"])).status_code
        == 200
    )


def test_user_text_is_text_on_the_pages(
    client: TestClient, session: Session, passwords: dict[str, str], tokens: dict[str, str]
) -> None:
    payload = "<img src=x onerror=alert(1)>"
    saved = client.patch(
        "/api/users/t-promoter",
        json={"team": payload},
        headers=auth(tokens["admin"]) | {"If-Match": "*"},
    )
    assert saved.status_code == 200 and saved.json()["team"] == payload
    client.post("/api/me/tokens", json={"name": payload}, headers=auth(tokens["admin"]))
    sign_in(client, passwords["admin"])
    for path in (
        "/workbench/users",
        "/workbench/users/t-promoter",
        "/workbench/account",
        "/workbench/audit",
    ):
        html = client.get(path).text
        assert payload not in html, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, path


def test_admin_pages_create_and_reset(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    csrf = sign_in(client, passwords["admin"])
    bad = client.post(
        "/workbench/users",
        data={"name": "new-li", "role": "zone", "password": "new-li-pass-1", "csrf_token": csrf},
    )
    assert bad.status_code == 200
    assert "开发区账号需要指定开发区编码" in bad.text and "用户名" in bad.text
    assert 'class="form-control is-invalid" id="f-password"' in bad.text
    ok = client.post(
        "/workbench/users",
        data={
            "name": "new-li",
            "role": "promoter",
            "team": "一组",
            "password": "石家庄-招商-2026",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/workbench/users/new-li"
    page = client.get("/workbench/users/new-li")
    assert "账号 new-li 已创建" in page.text and "待改密码" in page.text
    r = client.post(
        "/workbench/users/new-li/password", data={"password": "short", "csrf_token": csrf}
    )
    assert r.status_code == 200 and "密码太短" in r.text
    changed = session.execute(
        text(
            "SELECT count(*) FROM landmatch.audit_log WHERE event = 'password_reset' AND subject = 'new-li'"
        )
    ).scalar()
    assert changed == 0


def test_a_bureau_without_a_city_is_told_what_to_pick_on_the_form(
    client: TestClient, passwords: dict[str, str]
) -> None:
    """The form offers cities by name and "全省" (no codes): its error names the choice."""
    csrf = sign_in(client, passwords["admin"])
    bad = client.post(
        "/workbench/users",
        data={
            "name": "new-wang",
            "role": "bureau",
            "password": "new-wang-pass-1",
            "csrf_token": csrf,
        },
    )
    assert bad.status_code == 200
    assert "自然资源局账号需要选择城市范围（省厅账号选“全省”" in bad.text
