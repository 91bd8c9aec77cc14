"""A frozen database must not hang requests (issue #13 item 3): with PostgreSQL stopped by
SIGSTOP, requests answer 503 problem+json within the configured limits, ``/healthz`` answers
(it has its own deadline), the log gets one line per failed request, and service comes back
after SIGCONT.

The test runs its own throwaway PostgreSQL cluster (initdb into a temporary directory, as the
``postgres`` user when run as root) and freezes that one: never the shared server.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from landmatch.db.engine import upgrade
from landmatch.settings import load_settings
from tests.conftest import _free_port
from tests.pgcluster import Cluster, own_dir
from tests.procs import children
from tests.serving import served

CLIENT_TIMEOUT = 30  # far above the limits under test: "answered" rather than "hung"


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, Any]]:
    """A private PostgreSQL cluster on a free port with a migrated landmatch database."""
    root = own_dir(Path(tempfile.mkdtemp(prefix="lm-frozen-")))
    pg = Cluster(root, "pg", _free_port())
    pg.initdb()
    pg.start()
    try:
        import psycopg

        with psycopg.connect(pg.url(driver="postgresql"), autocommit=True) as c:
            c.execute("CREATE DATABASE landmatch_frozen")
        url = pg.url("landmatch_frozen")
        upgrade(url)
        yield {"url": url, "postmaster": pg.postmaster}
    finally:
        with contextlib.suppress(OSError):  # whatever a failed test left stopped
            for pid in _cluster_pids(pg.postmaster):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
        pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def _cluster_pids(postmaster: int) -> list[int]:
    """The postmaster and every process it started (backends, checkpointer, …)."""
    return [postmaster, *children(postmaster)]


class Frozen:
    """SIGSTOP the whole cluster; SIGCONT on exit, whatever happened."""

    def __init__(self, postmaster: int) -> None:
        self.postmaster = postmaster
        self.pids: list[int] = []

    def __enter__(self) -> Frozen:
        # The postmaster first, so that it forks nothing while its children are being stopped;
        # a backend that exits between the listing and its signal needs no freezing.
        try:
            for pid in _cluster_pids(self.postmaster):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                    self.pids.append(pid)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.pids = []


@pytest.fixture(scope="module")
def server(cluster: dict[str, Any]) -> Iterator[tuple[str, list[logging.LogRecord]]]:
    """The app on the private cluster, with short limits, served by uvicorn in a thread."""

    from landmatch.api.app import create_app

    settings = load_settings(
        database_url=cluster["url"],
        mode="test",
        db_connect_timeout=2,
        db_pool_timeout=1,
        db_statement_timeout=2,
        settle_poll_seconds=0,
    )
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.INFO)
    watched = [logging.getLogger(n) for n in ("landmatch", "uvicorn.error", "sqlalchemy")]
    for lg in watched:
        lg.addHandler(handler)
    with served(create_app(settings)) as url:
        yield url, records
    for lg in watched:
        lg.removeHandler(handler)


def _unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "数据库" in r.json()["detail"]


def test_a_frozen_database_answers_503_and_healthz_still_answers(
    cluster: dict[str, Any], server: tuple[str, list[logging.LogRecord]]
) -> None:
    url, records = server
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/api/parcels").status_code == 200  # a pooled connection exists now
        assert c.get("/api/match/schema").status_code == 200
        with Frozen(cluster["postmaster"]):
            h = c.get("/healthz")
            assert h.status_code == 503 and h.json()["database"] in ("unresponsive", "unreachable")
            records.clear()
            # A pooled connection (its ping cannot be answered), then a new one (the connect
            # cannot), then several at once: each answers 503 instead of waiting.
            _unavailable(c.get("/api/parcels"))
            _unavailable(c.get("/api/zones"))
            answers: list[httpx.Response] = []

            def one() -> None:
                with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as cc:
                    answers.append(cc.get("/api/policies"))

            threads = [threading.Thread(target=one) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(CLIENT_TIMEOUT + 5)
            assert len(answers) == 4
            for r in answers:
                _unavailable(r)
            # A request that needs no database is not held up at all.
            assert c.get("/api/match/schema").status_code == 200
            assert c.get("/healthz").status_code == 503
            # One line per failed request, no traceback.
            failed = [r for r in records if r.levelno >= logging.WARNING]
            assert len([r for r in failed if " 503 " in r.getMessage()]) == 6, [
                r.getMessage() for r in failed
            ]
            assert not [r for r in failed if r.exc_info], [r.getMessage() for r in failed]
        # Thawed: service comes back.
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while c.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "healthz did not recover"
            time.sleep(0.2)
        assert c.get("/api/parcels").status_code == 200


def test_a_statement_in_flight_when_the_database_freezes(cluster: dict[str, Any]) -> None:
    """A statement already sent when the server stops fails (the watchdog cuts its connection:
    a frozen server cannot cancel anything) instead of waiting for the server to come back;
    the pool then opens a fresh connection."""
    import psycopg
    from sqlalchemy import exc, text

    from landmatch.db.engine import Limits, get_engine
    from landmatch.db.failures import unavailable

    engine = get_engine(cluster["url"], Limits(connect_s=2, pool_s=1, statement_s=3))
    outcome: dict[str, BaseException | None] = {}

    def run() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_sleep(2.5)"))
            outcome["error"] = None
        except BaseException as e:  # noqa: BLE001 - the outcome is what the test checks
            outcome["error"] = e

    t = threading.Thread(target=run)
    t.start()
    dsn = cluster["url"].replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as watch:  # until the sleep is running
        while not watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'"
            " AND state = 'active'"
        ).fetchone()[0]:  # type: ignore[index]
            assert t.is_alive()
            time.sleep(0.02)
    with Frozen(cluster["postmaster"]):
        t.join(CLIENT_TIMEOUT)
        assert "error" in outcome, "the statement hung"
    err = outcome["error"]
    assert isinstance(err, exc.OperationalError | exc.TimeoutError), err
    assert unavailable(err)
    with engine.connect() as conn:  # thawed: a fresh connection works
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
