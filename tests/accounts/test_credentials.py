"""Credentials: HTTP Basic (QGIS), WWW-Authenticate on every 401, none in a URL."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from landmatch.api.security import CHALLENGE
from tests.conftest import TEST_PASSWORD, auth
from tests.tiles.test_tiles import busiest_tile, features


def basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def _internal_code(session: Session) -> str:
    return str(
        session.execute(
            text("SELECT code FROM landmatch.parcel WHERE status = 'idle' ORDER BY code LIMIT 1")
        ).scalar_one()
    )


def test_basic_password_on_ogc_items(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    code = _internal_code(session)
    url = f"/ogc/collections/parcels/items?code={code}"
    public = client.get(url).json()
    assert public["numberMatched"] == 0  # an idle parcel is not public
    staff = client.get(url, headers=basic(passwords["promoter"], TEST_PASSWORD))
    assert staff.status_code == 200 and staff.json()["numberMatched"] == 1
    wrong = client.get(url, headers=basic(passwords["promoter"], "wrong-password-1"))
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == CHALLENGE


def test_basic_with_a_token_as_password(
    client: TestClient, session: Session, passwords: dict[str, str], tokens: dict[str, str]
) -> None:
    code = _internal_code(session)
    url = f"/ogc/collections/parcels/items?code={code}"
    ok = client.get(url, headers=basic(passwords["promoter"], tokens["promoter"]))
    assert ok.status_code == 200 and ok.json()["numberMatched"] == 1
    # A token under another account's name is refused (and counted as a failure).
    other = client.get(url, headers=basic(passwords["admin"], tokens["promoter"]))
    assert other.status_code == 401


def test_basic_on_tiles(
    make_client: Callable[..., TestClient], conn: Connection, passwords: dict[str, str]
) -> None:
    client = make_client()
    x, y = busiest_tile(conn, 12)
    url = f"/tiles/parcels/12/{x}/{y}.pbf"
    public = features(client.get(url).content, "parcels")
    staff = client.get(url, headers=basic(passwords["bureau"], TEST_PASSWORD))
    assert staff.status_code == 200
    assert len(features(staff.content, "parcels")) > len(public)
    bad = client.get(url, headers=basic(passwords["bureau"], "wrong-password-1"))
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == CHALLENGE


def test_basic_is_throttled_like_the_form(
    make_client: Callable[..., TestClient], passwords: dict[str, str]
) -> None:
    client = make_client(login_max_failures_per_account=3)
    name = passwords["zone"]
    for _ in range(3):
        assert (
            client.get("/api/parcels?limit=1", headers=basic(name, "wrong-password-1")).status_code
            == 401
        )
    r = client.get("/api/parcels?limit=1", headers=basic(name, TEST_PASSWORD))
    assert r.status_code == 429 and "请稍后再试" in r.json()["detail"]
    assert int(r.headers["retry-after"]) >= 1
    # The sign-in form shares the count.
    form = client.post("/workbench/login", data={"name": name, "password": TEST_PASSWORD})
    assert form.status_code == 429


def test_basic_refused_until_the_initial_password_is_changed(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    session.execute(
        text("UPDATE landmatch.app_user SET must_change_password = true WHERE name = 't-admin'")
    )
    r = client.get("/api/users", headers=basic("t-admin", TEST_PASSWORD))
    assert r.status_code == 401 and "修改初始密码" in r.json()["detail"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/users", {}),  # public on an admin endpoint
        ("/api/parcels", {"Authorization": "Bearer lm_forged"}),
        ("/api/parcels", {"Authorization": "Basic !!!"}),
        ("/api/parcels", {"Authorization": "Digest abc"}),
        ("/ogc/collections/parcels/items", {"Authorization": "Bearer lm_forged"}),
        ("/tiles/parcels/6/52/24.pbf", {"Authorization": "Bearer lm_forged"}),
        ("/api/monitoring/summary", {}),
        ("/api/me", {}),
    ],
)
def test_every_401_carries_the_challenge(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    r = client.get(path, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == CHALLENGE
    assert 'Bearer realm="landmatch"' in CHALLENGE and 'Basic realm="landmatch"' in CHALLENGE
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "url",
    [
        "/internal/map?token=lm_secret123",
        "/api/parcels?access_token=lm_secret123",
        "/tiles/parcels/6/52/24.pbf?TOKEN=lm_secret123",
        "/ogc/collections/parcels/items?f=json&token=lm_secret123",
        "/dashboard?access_token=",
        "/workbench?token=x",
    ],
)
def test_no_credential_in_a_query_string(
    client: TestClient, tokens: dict[str, str], url: str
) -> None:
    r = client.get(url.replace("lm_secret123", tokens["admin"]), follow_redirects=False)
    assert r.status_code == 400
    assert "网址中不能携带令牌" in r.json()["detail"]
    assert "set-cookie" not in r.headers


def test_a_query_credential_never_reaches_the_access_log(
    live_server: str, tokens: dict[str, str], engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn logs the request line from the request's scope; the refusal blanks it first."""
    import httpx
    import uvicorn

    from landmatch.api.app import create_app
    from landmatch.settings import load_settings
    from tests.conftest import _free_port

    secret = "lm_never-logged-" + "x" * 20
    app = create_app(
        load_settings(
            database_url=str(engine.url.render_as_string(hide_password=False)), mode="test"
        )
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=True)
    )
    import threading
    import time

    thread = threading.Thread(target=server.run, daemon=True)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        thread.start()
        while not server.started:
            time.sleep(0.05)
        r = httpx.get(f"http://127.0.0.1:{port}/api/parcels?limit=1&token={secret}")
        server.should_exit = True
        thread.join(timeout=10)
    assert r.status_code == 400
    logged = "\n".join(rec.getMessage() for rec in caplog.records if rec.name == "uvicorn.access")
    assert "/api/parcels" in logged and "token=%2A%2A%2A" in logged
    assert secret not in logged and secret not in caplog.text


def test_expired_and_revoked_tokens(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    assert client.get("/api/me", headers=auth(tokens["bureau"])).status_code == 200
    session.execute(
        text(
            "UPDATE landmatch.api_token t SET expires_at = now() - interval '1 minute' "
            "FROM landmatch.app_user u WHERE u.id = t.user_id AND u.name = 't-bureau-sjz'"
        )
    )
    r = client.get("/api/me", headers=auth(tokens["bureau"]))
    assert r.status_code == 401 and "过期" in r.json()["detail"]


def test_token_last_used_is_noted(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    client.get("/api/me", headers=auth(tokens["zone"]))
    used = session.execute(
        text(
            "SELECT t.last_used_at FROM landmatch.api_token t JOIN landmatch.app_user u "
            "ON u.id = t.user_id WHERE u.name = 't-zone'"
        )
    ).scalar()
    assert used is not None
