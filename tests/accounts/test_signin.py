"""Sign-in, sessions, CSRF, throttling and the audit log, through the HTTP app."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute

from landmatch.api.security import SESSION_COOKIE
from tests.conftest import TEST_PASSWORD, auth, sign_in


def _audit(session: Session, event: str, subject: str) -> int:
    return int(
        session.execute(
            text("SELECT count(*) FROM landmatch.audit_log WHERE event = :e AND subject = :s"),
            {"e": event, "s": subject},
        ).scalar_one()
    )


def test_sign_in_sets_a_session_cookie_and_audits(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    name = passwords["bureau"]
    r = client.post(
        "/workbench/login",
        data={"name": name, "password": TEST_PASSWORD},
        headers={"user-agent": "pytest-browser"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/workbench"
    value = client.cookies.get(SESSION_COOKIE)
    stored = session.execute(
        text(
            "SELECT token_hash, user_agent FROM landmatch.user_session s "
            "JOIN landmatch.app_user u ON u.id = s.user_id WHERE u.name = :n"
        ),
        {"n": name},
    ).one()
    assert value and stored[0] != value and len(stored[0]) == 64  # only the hash is stored
    assert stored[1] == "pytest-browser"
    assert _audit(session, "login", name) == 1
    home = client.get("/workbench")
    assert home.status_code == 200 and name in home.text and "石家庄" in home.text


def test_wrong_password_and_unknown_user_answer_alike(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    a = client.post(
        "/workbench/login", data={"name": passwords["admin"], "password": "nope-nope-1"}
    )
    b = client.post("/workbench/login", data={"name": "nobody-here", "password": "nope-nope-1"})
    assert a.status_code == b.status_code == 200
    assert "用户名或密码错误" in a.text and "用户名或密码错误" in b.text
    assert "www-authenticate" not in a.headers  # no browser password dialog on the form
    assert _audit(session, "login_failed", passwords["admin"]) == 1
    assert _audit(session, "login_failed", "nobody-here") == 1


def test_disabled_account_cannot_sign_in(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    session.execute(text("UPDATE landmatch.app_user SET active = false WHERE name = 't-zone'"))
    r = client.post("/workbench/login", data={"name": "t-zone", "password": TEST_PASSWORD})
    assert r.status_code == 200 and "用户名或密码错误" in r.text


def test_throttled_per_account_with_when(
    make_client: Callable[..., TestClient], session: Session, passwords: dict[str, str]
) -> None:
    client = make_client(login_max_failures_per_account=3)
    name = passwords["promoter"]
    for _ in range(3):
        r = client.post("/workbench/login", data={"name": name, "password": "wrong-wrong-1"})
        assert r.status_code == 200 and "用户名或密码错误" in r.text
    # Even the right password is refused now, with when to try again.
    r = client.post("/workbench/login", data={"name": name, "password": TEST_PASSWORD})
    assert r.status_code == 429
    assert "请稍后再试" in r.text and re.search(r"\d\d:\d\d:\d\d", r.text)
    assert 1 <= int(r.headers["retry-after"]) <= 15 * 60
    assert _audit(session, "login_throttled", name) == 1
    # Another account from the same address is not blocked by this one's count.
    assert (
        client.post(
            "/workbench/login", data={"name": passwords["admin"], "password": TEST_PASSWORD}
        ).status_code
        == 200
    )


def test_throttled_per_address(
    make_client: Callable[..., TestClient], passwords: dict[str, str]
) -> None:
    client = make_client(login_max_failures_per_address=4, login_max_failures_per_account=100)
    for i in range(4):
        client.post("/workbench/login", data={"name": f"guess-{i}", "password": "wrong-wrong-1"})
    r = client.post(
        "/workbench/login", data={"name": passwords["admin"], "password": TEST_PASSWORD}
    )
    assert r.status_code == 429 and "请稍后再试" in r.text


def test_a_success_restarts_the_account_count(
    make_client: Callable[..., TestClient], session: Session, passwords: dict[str, str]
) -> None:
    client = make_client(login_max_failures_per_account=2)
    name = passwords["bureau"]
    client.post("/workbench/login", data={"name": name, "password": "wrong-wrong-1"})
    sign_in(client, name)
    client.cookies.clear()
    client.post("/workbench/login", data={"name": name, "password": "wrong-wrong-1"})
    r = client.post(
        "/workbench/login", data={"name": name, "password": TEST_PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("//evil.example.com/x", "/workbench"),
        ("/\\evil.example.com/x", "/workbench"),
        ("https://evil.example.com/", "/workbench"),
        ("javascript:alert(1)", "/workbench"),
        ("evil.example.com", "/workbench"),
        ("/\tevil", "/workbench"),
        ("", "/workbench"),
        ("/%2F%2Fevil.example.com", "/%2F%2Fevil.example.com"),  # a local path, stays local
    ],
)
def test_next_accepts_only_same_site_paths(
    client: TestClient, passwords: dict[str, str], target: str, expected: str
) -> None:
    r = client.post(
        "/workbench/login",
        data={"name": passwords["admin"], "password": TEST_PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == expected
    # Already signed in, the form's GET side redirects to the same safe target.
    page = client.get("/workbench/login", params={"next": target}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == expected


def test_next_keeps_a_local_path(client: TestClient, passwords: dict[str, str]) -> None:
    r = client.post(
        "/workbench/login",
        data={"name": passwords["admin"], "password": TEST_PASSWORD, "next": "/match/abc/map?x=1"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/match/abc/map?x=1"


def test_sign_in_from_another_site_is_refused(
    client: TestClient, passwords: dict[str, str]
) -> None:
    r = client.post(
        "/workbench/login",
        data={"name": passwords["admin"], "password": TEST_PASSWORD},
        headers={"origin": "https://evil.example.com"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and SESSION_COOKIE not in client.cookies


def test_cookie_writes_need_the_csrf_token(
    client: TestClient, session: Session, passwords: dict[str, str], public_code: str
) -> None:
    csrf = sign_in(client, passwords["admin"])
    # A JSON write with the cookie and no token: 403, nothing written.
    r = client.post("/api/me/tokens", json={"name": "x"})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post("/api/me/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    # A form post without the field: 403 (the HTML error page on /workbench).
    r = client.post("/workbench/account/tokens", data={"name": "x"})
    assert r.status_code == 403
    assert (
        session.execute(text("SELECT count(*) FROM landmatch.api_token WHERE name = 'x'")).scalar()
        == 0
    )
    # With the header (scripts) or the field (forms): accepted.
    ok = client.post("/api/me/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201 and ok.json()["token"].startswith("lm_")
    ok = client.post("/workbench/account/tokens", data={"name": "y", "csrf_token": csrf})
    assert ok.status_code == 201 and "只显示这一次" in ok.text


def test_cookie_patch_through_the_api_works_with_csrf(
    client: TestClient, passwords: dict[str, str], public_code: str
) -> None:
    """The 401-on-PATCH of the old cookie is gone: a signed-in admin's script can write."""
    csrf = sign_in(client, passwords["admin"])
    etag = client.get(f"/api/parcels/{public_code}").headers["etag"]
    body = {"name": "会话写入测试"}
    no = client.patch(f"/api/parcels/{public_code}", json=body, headers={"If-Match": etag})
    assert no.status_code == 403
    ok = client.patch(
        f"/api/parcels/{public_code}", json=body, headers={"If-Match": etag, "X-CSRF-Token": csrf}
    )
    assert ok.status_code == 200, ok.text


def test_bearer_needs_no_csrf(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/api/me/tokens", json={"name": "script"}, headers=auth(tokens["promoter"]))
    assert r.status_code == 201


def test_every_unsafe_route_resolves_the_caller_through_the_csrf_check(app: FastAPI) -> None:
    """Structural: each POST/PUT/PATCH/DELETE route depends on get_auth (API) or the page
    dependency (workbench), both of which check CSRF for the cookie; only the sign-in form
    itself is exempt (it has no session yet; it checks Origin). The public's own writes (the
    match, an inquiry) depend on get_public_write_auth, which checks CSRF the same way and
    reads an ended session's cookie as the public: those two only."""
    from fastapi.routing import APIRoute

    from landmatch.api.deps import get_auth, get_public_write_auth
    from landmatch.api.routes.workbench.common import _signed_in

    def routes(rs: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
        for r in rs:
            if hasattr(r, "original_router"):
                yield from routes(r.original_router.routes)
            else:
                yield r

    def calls(d: Dependant) -> Iterator[Callable[..., Any] | None]:
        yield d.call
        for s in d.dependencies:
            yield from calls(s)

    unsafe = [
        r
        for r in routes(app.routes)
        if isinstance(r, APIRoute) and set(r.methods or ()) - {"GET", "HEAD", "OPTIONS"}
    ]
    assert len(unsafe) > 40
    checked = {get_auth, _signed_in, get_public_write_auth}
    missing = [r.path for r in unsafe if not (checked & set(calls(r.dependant)))]
    assert missing == ["/workbench/login"]
    public = sorted(r.path for r in unsafe if get_public_write_auth in set(calls(r.dependant)))
    assert public == ["/api/inquiries", "/api/match"]


def test_sign_out_ends_the_session(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    csrf = sign_in(client, passwords["zone"])
    old = client.cookies.get(SESSION_COOKIE)
    assert client.post("/workbench/logout").status_code == 403  # no token
    r = client.post("/workbench/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/workbench/login"
    assert _audit(session, "logout", passwords["zone"]) == 1
    client.cookies.set(SESSION_COOKIE, old)  # a copy of the old cookie is dead
    assert client.get("/workbench", follow_redirects=False).status_code == 303
    assert client.get("/api/me").status_code == 401


def test_idle_and_absolute_timeouts(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    sign_in(client, passwords["promoter"])
    assert client.get("/api/me").status_code == 200
    session.execute(
        text("UPDATE landmatch.user_session SET last_seen_at = now() - interval '61 minutes'")
    )
    assert client.get("/api/me").status_code == 401
    client.cookies.clear()
    sign_in(client, passwords["promoter"])
    session.execute(
        text(
            "UPDATE landmatch.user_session SET expires_at = now() - interval '1 second' "
            "WHERE revoked_at IS NULL"
        )
    )
    r = client.get("/internal/map", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/workbench/login")


def test_secure_cookie_behind_https(
    make_client: Callable[..., TestClient], passwords: dict[str, str]
) -> None:
    direct = make_client(public_base_url="https://landmatch.example.cn")
    r = direct.post(
        "/workbench/login",
        data={"name": passwords["admin"], "password": TEST_PASSWORD},
        follow_redirects=False,
    )
    assert "secure" in r.headers["set-cookie"].lower()
    # X-Forwarded-Proto counts only from a trusted proxy (the test client is "testclient").
    untrusted = make_client()
    r = untrusted.post(
        "/workbench/login",
        data={"name": passwords["admin"], "password": TEST_PASSWORD},
        headers={"x-forwarded-proto": "https"},
        follow_redirects=False,
    )
    assert "secure" not in r.headers["set-cookie"].lower()


def test_forwarded_address_only_from_a_trusted_proxy() -> None:
    from starlette.requests import Request

    from landmatch.api.security import base_url, client_of, is_https
    from landmatch.settings import load_settings

    def req(peer: str, xff: str, proto: str = "http") -> Request:
        headers = [(b"x-forwarded-for", xff.encode()), (b"x-forwarded-proto", proto.encode())]
        return Request(
            {
                "type": "http",
                "headers": headers,
                "client": (peer, 1),
                "scheme": "http",
                "server": ("x", 80),
                "root_path": "",
                "path": "/",
                "query_string": b"",
            }
        )

    trusting = load_settings(trusted_proxies="10.0.0.0/8", mode="test")
    assert client_of(req("10.0.0.5", "1.2.3.4, 10.0.0.9"), trusting).address == "1.2.3.4"
    assert client_of(req("8.8.8.8", "1.2.3.4"), trusting).address == "8.8.8.8"
    assert is_https(req("10.0.0.5", "", "https"), trusting)
    assert not is_https(req("8.8.8.8", "", "https"), trusting)
    # nginx (deploy/nginx) appends the address it saw to what the client sent, and sets
    # X-Forwarded-Proto itself: the client's own claims before it are not believed.
    assert client_of(req("10.0.0.5", "6.6.6.6, 10.0.0.1, 203.0.113.9"), trusting).address == (
        "203.0.113.9"
    )
    # Links: the configured address, else the request's host over the scheme a trusted proxy
    # reports (an untrusted peer's X-Forwarded-Proto is ignored).
    assert base_url(req("10.0.0.5", "", "https"), trusting) == "https://x"
    assert base_url(req("8.8.8.8", "", "https"), trusting) == "http://x"
    configured = load_settings(public_base_url="https://lm.example/gis/", mode="test")
    assert base_url(req("8.8.8.8", "", "http"), configured) == "https://lm.example/gis"
