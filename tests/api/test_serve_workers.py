"""``landmatch serve --workers 2``: a worker that stalls for longer than uvicorn's default
health-check timeout (5 s) is kept, not killed, with ``LANDMATCH_WORKER_HEALTHCHECK_SECONDS``
(issue #20 item 3: one worker died under load). The stall is a SIGSTOP of the worker, which
stops its health-check thread exactly as a long garbage collection holding the interpreter
does; a stall past the setting still gets the worker replaced."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from landmatch.settings import Settings
from tests.conftest import _free_port
from tests.procs import children


def _workers(pid: int) -> set[int]:
    out = set()
    for child in children(pid):
        with contextlib.suppress(OSError):  # not multiprocessing's resource tracker
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.add(child)
    return out


@pytest.fixture
def serve(settings: Settings, engine: Engine) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``landmatch serve --workers 2`` on the (migrated) test database."""
    port = _free_port()
    env = {
        **os.environ,
        "LANDMATCH_DATABASE_URL": settings.database_url,
        "LANDMATCH_WORKER_HEALTHCHECK_SECONDS": "12",
        "LANDMATCH_SETTLE_POLL_SECONDS": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "landmatch.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # two workers import the app: slow on a busy machine
        while len(_workers(proc.pid)) < 2 or not _answers(base):
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.5)
        yield proc, base
    finally:
        for pid in _workers(proc.pid):
            os.kill(pid, signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stall(pid: int, seconds: float) -> None:
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        with contextlib.suppress(ProcessLookupError):  # replaced meanwhile: the test says so
            os.kill(pid, signal.SIGCONT)


def test_a_stalled_worker_is_kept_within_the_setting_and_replaced_beyond_it(
    serve: tuple[subprocess.Popen[bytes], str],
) -> None:
    proc, base = serve
    before = _workers(proc.pid)
    victim = min(before)
    _stall(victim, 8)  # longer than uvicorn's 5 s default, within the 12 s setting
    time.sleep(2)  # a supervisor round after the stall
    assert _workers(proc.pid) == before, "the worker was replaced although within the setting"
    assert _answers(base)
    os.kill(victim, signal.SIGSTOP)  # now past the setting: the supervisor replaces it
    deadline = time.monotonic() + 120
    while victim in _workers(proc.pid):
        assert time.monotonic() < deadline, "a worker stalled past the setting was not replaced"
        time.sleep(0.5)
    while len(_workers(proc.pid)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.5)
    assert _answers(base)
