"""Heavy public endpoints are bounded (issue #13 item 16): with every export (or PDF) slot
busy, one more request gets 429 problem+json with Retry-After at once, while the map, its
tiles and the API keep answering; repeat brochure PDFs come from the cache, not Chromium.

Real concurrent requests against the live server. The heavy work itself is real; the test only
holds it open on an event (wrapping the function in the server's own process) so that "every
slot busy" is a state the test controls rather than a race it times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from landmatch.inventory import exports
from landmatch.maps import brochure
from landmatch.settings import Settings

WAIT = 120  # seconds a condition may take on a loaded machine (a bound, not a measure)


class Held:
    """Wraps a function so that each call announces itself and waits for ``release``."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.entered.release()
        assert self.gate.wait(WAIT), "never released"
        return self.real(*args, **kwargs)

    def wait_entered(self, n: int) -> None:
        for _ in range(n):
            assert self.entered.acquire(timeout=WAIT), "a heavy request never started"


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=16) as ex:
        yield ex


def _done(futures: list[Future[httpx.Response]], n: int) -> list[httpx.Response]:
    """The first ``n`` responses to arrive (the others are still held)."""
    import concurrent.futures as cf

    got = []
    for f in cf.as_completed(futures, timeout=WAIT):
        got.append(f.result())
        if len(got) == n:
            return got
    raise AssertionError("not enough responses")


def _assert_busy(r: httpx.Response, settings: Settings) -> None:
    assert r.status_code == 429, (r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == str(settings.busy_retry_after_seconds)
    assert "重试" in r.json()["detail"]


def _assert_map_responsive(url: str) -> None:
    page = httpx.get(url + "/map", timeout=WAIT)
    assert page.status_code == 200 and "folium-map" in page.text
    assert httpx.get(url + "/tiles/parcels/8/209/97.pbf", timeout=WAIT).status_code in (200, 204)
    assert httpx.get(url + "/api/parcels?limit=1", timeout=WAIT).status_code == 200


def test_exports_beyond_the_limit_get_429_and_the_map_answers(
    live_url: str, settings: Settings, pool: ThreadPoolExecutor, monkeypatch: Any
) -> None:
    n = settings.max_concurrent_exports
    held = Held(exports.ledger_xlsx)
    monkeypatch.setattr(exports, "ledger_xlsx", held)
    url = live_url + "/api/exports/parcels?format=xlsx&city=130100&status=ready"
    futures = [pool.submit(httpx.get, url, timeout=WAIT) for _ in range(n + 4)]
    held.wait_entered(n)  # every export slot is taken and held
    for r in _done(futures, 4):
        _assert_busy(r, settings)
    _assert_map_responsive(live_url)
    held.gate.set()
    ok = [f.result() for f in futures if f.result().status_code != 429]
    assert len(ok) == n and all(r.status_code == 200 and r.content[:2] == b"PK" for r in ok)
    assert held.calls == n
    # The slots are free again.
    assert httpx.get(url, timeout=WAIT).status_code == 200


@pytest.fixture
def public_codes(engine: Engine) -> list[str]:
    with engine.connect() as c:
        return list(
            c.execute(
                text(
                    "SELECT code FROM landmatch.parcel WHERE status = 'ready' "
                    "AND visibility = 'public' AND deleted_at IS NULL ORDER BY code LIMIT 8"
                )
            ).scalars()
        )


def test_brochure_pdfs_are_bounded_and_cached(
    live_url: str,
    settings: Settings,
    pool: ThreadPoolExecutor,
    monkeypatch: Any,
    engine: Engine,
    public_codes: list[str],
) -> None:
    cached, *others = public_codes
    printer = Held(brochure.html_to_pdf)
    monkeypatch.setattr(brochure, "html_to_pdf", printer)
    printer.gate.set()  # not held yet: print one brochure, twice
    pdf = f"{live_url}/parcels/{cached}/brochure.pdf"
    first = httpx.get(pdf, timeout=WAIT)
    assert first.status_code == 200 and first.content.startswith(b"%PDF")
    again = httpx.get(pdf, timeout=WAIT)
    assert again.content == first.content and printer.calls == 1  # no second Chromium
    with engine.begin() as c:  # any write moves the data version: the brochure is reprinted
        c.execute(text("UPDATE landmatch.parcel SET name = name WHERE code = :c"), {"c": cached})
    assert httpx.get(pdf, timeout=WAIT).status_code == 200 and printer.calls == 2

    printer.gate.clear()  # now hold every printing request
    n = settings.max_concurrent_pdfs
    futures = [
        pool.submit(httpx.get, f"{live_url}/parcels/{code}/brochure.pdf", timeout=WAIT)
        for code in others[: n + 3]
    ]
    printer.wait_entered(n)
    for r in _done(futures, 3):
        _assert_busy(r, settings)
    # A cached brochure needs no slot: it is served while every slot is busy.
    hit = httpx.get(pdf, timeout=WAIT)
    assert hit.status_code == 200 and hit.content.startswith(b"%PDF")
    _assert_map_responsive(live_url)
    printer.gate.set()
    ok = [f.result() for f in futures if f.result().status_code != 429]
    assert len(ok) == n and all(r.content.startswith(b"%PDF") for r in ok)
