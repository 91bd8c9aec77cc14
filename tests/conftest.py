"""Shared fixtures: a real PostGIS database (never mocked, never skipped).

``LANDMATCH_DATABASE_URL`` must point at a throwaway database (``./scripts/test`` creates
one). The schema is migrated once, a small demo inventory is seeded once and committed, and
every test runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from landmatch.db.engine import SESSION_OPTIONS, upgrade
from landmatch.settings import Settings, load_settings

SEED_PARCELS = 3000
SEED = 7


@contextmanager
def configured(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[None]:
    """The app's settings with ``env`` (``LANDMATCH_…`` variables) for the block: the cached
    settings are read again on entry and after it, whatever the block raised."""
    from landmatch.settings import get_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name in env:
            monkeypatch.delenv(name)
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def settings() -> Settings:
    url = os.environ.get("LANDMATCH_DATABASE_URL")
    if not url:
        pytest.fail(
            "LANDMATCH_DATABASE_URL is not set: the database tests need a real PostGIS. "
            "Run ./scripts/test, which provisions one.",
            pytrace=False,
        )
    return load_settings(database_url=url, mode="test")


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    # The session settings of every connection the app opens (Beijing's TimeZone).
    eng = create_engine(settings.database_url, connect_args={"options": SESSION_OPTIONS})
    try:
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # fail, never skip, when PostGIS is missing
        pytest.fail(f"cannot reach the test database {settings.database_url}: {exc}", pytrace=False)
    upgrade(settings.database_url)
    with eng.begin() as conn:
        if not conn.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar():
            from landmatch.seed.run import seed

            seed(conn, n=SEED_PARCELS, seed_value=SEED)
    with Session(eng) as s:  # the offline basemap's water, as scripts/up builds it
        from landmatch.basemap import store

        if not store.water_built(s):
            store.build(s)
            s.commit()
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    trans = connection.begin()
    try:
        yield connection
    finally:
        trans.rollback()
        connection.close()


@pytest.fixture
def session(conn: Connection) -> Iterator[Session]:
    s = Session(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def app(settings: Settings, conn: Connection) -> FastAPI:
    """The application, its sessions bound to the test's rolled-back transaction."""
    from landmatch.api.app import create_app

    application = create_app(settings)
    application.state.sessions = sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    # One session per request here (long jobs get their own connection in production).
    from fastapi import Depends

    from landmatch.api.deps import get_job_session, get_session

    def same_session(session: Session = Depends(get_session)) -> Session:  # noqa: B008
        return session

    application.dependency_overrides[get_job_session] = same_session
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def make_client(settings: Settings, conn: Connection) -> Iterator[Callable[..., TestClient]]:
    """A client for an app built with setting overrides, bound to the test's transaction."""
    from landmatch.api.app import create_app

    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        application = create_app(settings.model_copy(update=overrides))
        application.state.sessions = sessionmaker(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        c = TestClient(application)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def public_code(session: Session) -> str:
    """A public ready parcel of 石家庄 (writable by the admin and the 石家庄 bureau)."""
    return str(
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE status = 'ready' AND visibility = 'public' "
                "AND city_code = '130100' AND deleted_at IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    )


@pytest.fixture
def tokens(session: Session) -> dict[str, str]:
    """One token per role, created inside the test's transaction."""
    from landmatch.accounts.users import add_user

    zone_code = session.execute(
        text("SELECT code FROM landmatch.dev_zone ORDER BY id LIMIT 1")
    ).scalar()
    out = {
        "admin": add_user(session, "t-admin", "admin"),
        "bureau": add_user(session, "t-bureau-sjz", "bureau", "130100"),
        "promoter": add_user(session, "t-promoter", "promoter", team="t-team-a"),
        "zone": add_user(session, "t-zone", "zone", zone_code=zone_code),
    }
    session.flush()
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(settings: Settings, engine: Engine) -> Iterator[str]:
    """Base URL of the real app served by uvicorn on a free port (in a thread of this process)
    against the seeded test database: for real clients (OWSLib, GDAL) and the browser."""
    import threading
    import time

    import httpx
    import uvicorn

    from landmatch.api.app import create_app
    from landmatch.settings import SERVER_OPTIONS

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            # Every import wizard job runs in the background here, as a large file's does. The
            # server does not settle queued derived data every few seconds: it lives for the
            # whole session, and tests that queue and drain (tests/db/test_derived.py) own the
            # queue of the shared database.
            create_app(
                settings.model_copy(update={"import_inline_max_kb": 0, "settle_poll_seconds": 0})
            ),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            **SERVER_OPTIONS,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start", pytrace=False)
        time.sleep(0.1)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def app_of(client: TestClient) -> FastAPI:
    """The application behind ``client`` (TestClient types it as any ASGI app)."""
    assert isinstance(client.app, FastAPI)
    return client.app


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def with_etag(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus ``If-Match`` with the current ETag of the resource at ``url`` (GET)."""
    r = client.get(url, headers=headers)
    assert r.status_code == 200 and "ETag" in r.headers, (url, r.status_code, r.text[:200])
    return {**headers, "If-Match": r.headers["ETag"]}


# ---- signed-in staff (workbench sessions) ----------------------------------------------------

TEST_PASSWORD = "河北-test-口令-2026"
ROLE_USERS = {
    "admin": "t-admin",
    "bureau": "t-bureau-sjz",
    "promoter": "t-promoter",
    "zone": "t-zone",
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2id hash of TEST_PASSWORD for every test account (hashing costs ~0.3 s)."""
    from landmatch.accounts.passwords import hash_password

    return hash_password(TEST_PASSWORD)


@pytest.fixture
def passwords(session: Session, tokens: dict[str, str], password_hash: str) -> dict[str, str]:
    """The ``tokens`` accounts get TEST_PASSWORD (no forced change); role → user name."""
    session.execute(
        text(
            "UPDATE landmatch.app_user SET password_hash = :h, must_change_password = false "
            "WHERE name = ANY(:n)"
        ),
        {"h": password_hash, "n": list(ROLE_USERS.values())},
    )
    session.flush()
    return dict(ROLE_USERS)


def sign_in(
    client: TestClient, name: str, password: str = TEST_PASSWORD, next_url: str = "/workbench"
) -> str:
    """Sign the test client in through the form; return the session's CSRF token (read from
    the page's meta element, as scripts do)."""
    import re

    r = client.post(
        "/workbench/login",
        data={"name": name, "password": password, "next": next_url},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/workbench/account")
    assert page.status_code == 200, page.text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found, "no CSRF token on the page"
    return found.group(1)
