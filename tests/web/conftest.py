"""Browser fixtures: the real app served by uvicorn on a free port against the seeded test
database, and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def live_url(live_server: str) -> str:
    return live_server


def make_account(engine: Engine, role: str, **scope: str | None) -> str:
    """A committed account with TEST_PASSWORD and no forced change; returns its name (the
    caller deletes it)."""
    from sqlalchemy.orm import Session

    from landmatch.accounts import users
    from landmatch.auth import Principal
    from tests.conftest import TEST_PASSWORD

    name = f"web-{role}-{uuid.uuid4().hex[:8]}"
    admin = Principal(name="test", role="admin")
    with Session(engine) as s, s.begin():
        spec = users.AccountSpec(
            name, role, scope.get("city"), scope.get("zone"), scope.get("team")
        )
        users.create(s, spec, admin, password=TEST_PASSWORD, min_length=10)
        s.execute(
            text("UPDATE landmatch.app_user SET must_change_password = false WHERE name = :n"),
            {"n": name},
        )
    return name


def drop_account(engine: Engine, name: str) -> None:
    with engine.begin() as c:
        c.execute(text("DELETE FROM landmatch.app_user WHERE name = :n"), {"n": name})


def team_promoter(engine: Engine, team: str) -> Iterator[str]:
    """A promoter of ``team`` for a fixture to yield from; afterwards the team's projects (their
    reservations and events go with them) and match runs, then the account, are deleted."""
    name = make_account(engine, "promoter", team=team)
    yield name
    with engine.begin() as c:
        for table in ("match_run", "project"):
            c.execute(text(f"DELETE FROM landmatch.{table} WHERE owner_team = :t"), {"t": team})
    drop_account(engine, name)


def restore_parcel(conn: Any, parcel_id: int, version: int) -> None:
    """Put a parcel a browser test changed back to its kept ``version`` (a restore, as staff
    make it), in ``conn``'s transaction."""
    from landmatch.db.inventory import restore_versions

    vid = conn.execute(
        text(
            "SELECT id FROM landmatch.parcel_version_full WHERE parcel_id = :p "
            "AND version = :v ORDER BY id DESC LIMIT 1"
        ),
        {"p": parcel_id, "v": version},
    ).scalar_one()
    restore_versions(conn, [vid])


@pytest.fixture(scope="session")
def staff_user(engine: Engine) -> Iterator[str]:
    """A promoter who signs in with TEST_PASSWORD (committed: the browser's requests use their
    own connections)."""
    name = make_account(engine, "promoter")
    yield name
    drop_account(engine, name)


@pytest.fixture(scope="session")
def admin_user(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "admin")
    yield name
    drop_account(engine, name)


def browser_sign_in(page: Any, base: str, name: str, password: str | None = None) -> None:
    """Sign in through the form of whatever sign-in page the browser is on (or goes to)."""
    from tests.conftest import TEST_PASSWORD

    if "/workbench/login" not in page.url:
        page.goto(base + "/workbench/login")
    page.fill("#f-name", name)
    page.fill("#f-password", password or TEST_PASSWORD)
    page.click("#login-form button[type=submit]")


@pytest.fixture(scope="session")
def public_parcel(engine: Engine) -> dict[str, Any]:
    """A public ready parcel with its interior point, for clicks."""
    with engine.connect() as c:
        row = c.execute(
            text(
                "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM landmatch.parcel WHERE status = 'ready' AND visibility = 'public' "
                "AND deleted_at IS NULL ORDER BY area_m2 DESC LIMIT 1"
            )
        ).one()
    return {"code": row[0], "lon": row[1], "lat": row[2]}


@pytest.fixture(scope="session")
def idle_parcel(engine: Engine) -> dict[str, Any]:
    with engine.connect() as c:
        row = c.execute(
            text(
                "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), contact_phone "
                "FROM landmatch.parcel WHERE status = 'idle' AND deleted_at IS NULL "
                "ORDER BY area_m2 DESC LIMIT 1"
            )
        ).one()
    return {"code": row[0], "lon": row[1], "lat": row[2], "contact_phone": row[3]}


@pytest.fixture(scope="session")
def match_id(live_url: str, engine: Engine, public_parcel: dict[str, Any]) -> Iterator[str]:
    """A public match run made by the matching engine through ``POST /api/match``."""
    body = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400, "top": 10}
    r = httpx.post(live_url + "/api/match", json=body, timeout=60)
    assert r.status_code == 200, r.text
    mid = r.json()["match_id"]
    yield mid
    with engine.begin() as c:
        c.execute(text("DELETE FROM landmatch.match_run WHERE id = :i"), {"i": mid})


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class Watched:
    """A page plus every console error, page error and failed request it produced."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []  # filled by tests that watch dialogs
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", self._request_failed)
        page.on("request", lambda r: self.requests.append(r.url))

    def _request_failed(self, request: Any) -> None:
        # A map tile still loading when the journey leaves the page (or the map zooms on) is
        # aborted by the browser itself: that is not a failure a user sees. Anything else is.
        if "/tiles/" in request.url and request.failure == "net::ERR_ABORTED":
            return
        self.errors.append(f"requestfailed: {request.url}")

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def watched(browser: Any) -> Iterator[Any]:
    made: list[Any] = []

    def make(viewport: tuple[int, int] = (1280, 800), cookies: list[dict] | None = None) -> Watched:
        ctx = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN"
        )
        if cookies:
            ctx.add_cookies(cookies)
        made.append(ctx)
        return Watched(ctx.new_page())

    yield make
    for ctx in made:
        ctx.close()


TILES_DRAWN_JS = """() => {
  const canvases = document.querySelectorAll('.leaflet-overlay-pane canvas, .leaflet-tile-container canvas');
  for (const c of canvases) {
    if (!c.width || !c.height) continue;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4 * 7) if (d[i] > 0) return true;
  }
  return false;
}"""


def go_to(page: Any, lat: float, lon: float, zoom: int = 16) -> None:
    page.evaluate(f"LM.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
    page.wait_for_function(TILES_DRAWN_JS, timeout=15000)
    page.wait_for_load_state("networkidle")


def click_lonlat(page: Any, lat: float, lon: float) -> None:
    pt = json.loads(page.evaluate(f"JSON.stringify(LM.map.latLngToContainerPoint([{lat}, {lon}]))"))
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
