"""Whom the served app believes about the client (review 2): uvicorn's default believed
``X-Forwarded-For`` and ``X-Forwarded-Proto`` from any process on the machine (127.0.0.1),
before the app's own rule (``landmatch.api.security.client_of``, ``LANDMATCH_TRUSTED_PROXIES``):
a spoofed address from localhost escaped the inquiry limit, and ``X-Forwarded-Proto`` rewrote
the OGC API's links. ``landmatch serve`` (and every server the tests start) now leaves the
headers to the app; through the shipped nginx the client's own address and scheme still
arrive (tests/test_deploy.py)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from landmatch.leads import inquiries
from landmatch.settings import Settings
from tests.conftest import _free_port

SPOOF = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def serve(settings: Settings, engine: Engine) -> Iterator[str]:
    """``landmatch serve`` (one worker), trusting no proxy, on the test database."""
    port = _free_port()
    env = {
        **os.environ,
        "LANDMATCH_DATABASE_URL": settings.database_url,
        "LANDMATCH_SETTLE_POLL_SECONDS": "0",
        "LANDMATCH_TRUSTED_PROXIES": "",
        "LANDMATCH_PUBLIC_BASE_URL": "",
    }
    env.pop("FORWARDED_ALLOW_IPS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "landmatch.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_served_app_ignores_forwarded_headers_from_an_untrusted_peer(
    serve: str, engine: Engine, settings: Settings
) -> None:
    # The scheme: the OGC API's links stay those of the connection (http).
    r = httpx.get(f"{serve}/ogc/", params={"f": "json"}, headers=SPOOF, timeout=30)
    assert r.status_code == 200, r.text[:300]
    hrefs = [link["href"] for link in r.json()["links"]]
    assert hrefs and all(h.startswith(f"{serve}/ogc") for h in hrefs), hrefs
    # The address: an inquiry is counted against the connection's address, not the header's.
    with engine.connect() as c:
        code = c.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE status = 'ready' "
                "AND visibility = 'public' AND deleted_at IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    token = inquiries.issue_token(settings.secret_key, at)
    body = {
        "token": token,
        "parcel": code,
        "name": "代理测试",
        "phone": "13800000000",
        "message": "转发头测试",
        "consent": True,
    }
    nonce = token.split(".")[1]
    try:
        r = httpx.post(f"{serve}/api/inquiries", json=body, headers=SPOOF, timeout=30)
        assert r.status_code in (201, 429), r.text[:300]  # 429: this machine's hour is used up
        with engine.connect() as c:
            addresses = (
                c.execute(
                    text("SELECT address FROM landmatch.inquiry WHERE nonce = :n"), {"n": nonce}
                )
                .scalars()
                .all()
            )
        assert "198.51.100.7" not in addresses
        if r.status_code == 201:
            assert addresses == ["127.0.0.1"], addresses
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.inquiry WHERE nonce = :n"), {"n": nonce})
