"""Real clients against a real server (issue 17 item 8): the app served by uvicorn behind a
middleware that records every request (so a test can count what a client asked for), a
committed staff account with a password (QGIS signs in with HTTP Basic), and a second origin
serving a MapLibre page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from landmatch.settings import SERVER_OPTIONS, Settings
from tests.conftest import TEST_PASSWORD, _free_port

STAFF = "t-interop-qgis"


@dataclass
class Counted:
    """The live server's base URL and every request it has answered: (method, path, query)."""

    url: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int) -> list[tuple[str, str, str]]:
        with self.lock:
            return list(self.requests[mark:])


class _Recorder:
    def __init__(self, app: Any, into: Counted) -> None:
        self.app = app
        self.into = into

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            with self.into.lock:
                self.into.requests.append(
                    (scope["method"], scope["path"], scope["query_string"].decode("latin-1"))
                )
        await self.app(scope, receive, send)


def serve(app: Any) -> tuple[str, Any, threading.Thread]:
    """Serve an ASGI app with uvicorn on a free port in a thread; (url, server, thread)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            **SERVER_OPTIONS,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("a test server did not start", pytrace=False)
        time.sleep(0.05)
    return url, server, thread


@pytest.fixture(scope="session")
def counted(settings: Settings, engine: Engine) -> Iterator[Counted]:
    """The real app (``LANDMATCH_CORS_ORIGINS`` unset) behind a request recorder."""
    from landmatch.api.app import create_app

    box = Counted(url="")
    url, server, thread = serve(_Recorder(create_app(settings), box))
    box.url = url
    assert httpx.get(url + "/healthz", timeout=10).status_code == 200
    yield box
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def staff(engine: Engine) -> Iterator[tuple[str, str]]:
    """A committed promoter account with a password (no forced change): (name, password)."""
    from sqlalchemy.orm import Session

    from landmatch.accounts.passwords import hash_password
    from landmatch.accounts.users import add_user

    with Session(bind=engine) as s:
        add_user(s, STAFF, "promoter")
        s.execute(
            text(
                "UPDATE landmatch.app_user SET password_hash = :h, must_change_password = false "
                "WHERE name = :n"
            ),
            {"h": hash_password(TEST_PASSWORD), "n": STAFF},
        )
        s.commit()
    yield STAFF, TEST_PASSWORD
    with engine.begin() as c:
        uid = c.execute(text("SELECT id FROM landmatch.app_user WHERE name = :n"), {"n": STAFF})
        ids = [r[0] for r in uid]
        for table in ("api_token", "user_session", "app_user"):
            col = "id" if table == "app_user" else "user_id"
            c.execute(text(f"DELETE FROM landmatch.{table} WHERE {col} = ANY(:i)"), {"i": ids})


def matched(url: str, auth: tuple[str, str] | None = None) -> int:
    r = httpx.get(f"{url}/ogc/collections/parcels/items?limit=1", auth=auth, timeout=60)
    assert r.status_code == 200, r.text
    return int(r.json()["numberMatched"])


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium; SwiftShader gives it WebGL without a GPU (MapLibre draws with it)."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        yield browser
        browser.close()
