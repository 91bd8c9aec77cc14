"""Open /dashboard in headless Chromium against a live server and check it.

Starts the app with uvicorn on a free port (LANDMATCH_DATABASE_URL must hold seeded data),
creates a throwaway admin account, signs in through the workbench's form (the dashboard sends
the browser there and back), waits for the charts, checks that there are no console errors and
every chart canvas has drawn pixels, saves a screenshot to artifacts/dashboard.png and removes
the account again. Exit code 0 = all checks passed.

    LANDMATCH_DATABASE_URL=... python scripts/check_dashboard.py [--as-of 2026-11-01]
"""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import text

from landmatch.accounts import users
from landmatch.api.app import create_app
from landmatch.auth import Principal
from landmatch.db.engine import get_engine, session_factory
from landmatch.settings import SERVER_OPTIONS, get_settings

ROOT = Path(__file__).resolve().parents[1]
CHARTS = ("c-city", "c-funnel", "c-targets", "c-age", "c-zones")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check(as_of: str, out: Path) -> list[str]:
    settings = get_settings()
    sessions = session_factory(get_engine(settings.database_url))
    user = f"dashboard-check-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    with sessions.begin() as s:
        spec = users.AccountSpec(user, "admin")
        users.create(s, spec, Principal("check", "admin"), password=password, min_length=10)
        s.execute(
            text("UPDATE landmatch.app_user SET must_change_password = false WHERE name = :n"),
            {"n": user},
        )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            **SERVER_OPTIONS,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    problems: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed {r.url}"))
            page.goto(f"http://127.0.0.1:{port}/dashboard")
            page.fill("#f-name", user)
            page.fill("#f-password", password)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(f"http://127.0.0.1:{port}/dashboard")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            page.evaluate("document.body.removeAttribute('data-ready')")
            page.fill("#asof", as_of)
            page.click("#reload")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            page.wait_for_timeout(1500)  # let the chart animations finish
            for cid in CHARTS:
                painted = page.evaluate(
                    """(id) => { const c = document.querySelector('#' + id + ' canvas');
                    if (!c) return -1; const g = c.getContext('2d');
                    const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
                    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""",
                    cid,
                )
                print(f"{cid}: {painted} painted pixels")
                if painted <= 1000:
                    problems.append(f"chart {cid} did not draw ({painted} pixels)")
            cards = page.inner_text("#cards")
            print("cards:", " | ".join(cards.split("\n")))
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
            problems += [f"console: {e}" for e in errors]
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        with sessions.begin() as s:
            s.execute(text("DELETE FROM landmatch.app_user WHERE name = :n"), {"n": user})
    return problems


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--as-of", default="2026-11-01")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "dashboard.png")
    a = ap.parse_args()
    problems = check(a.as_of, a.out)
    print(f"screenshot: {a.out}")
    for p in problems:
        print("PROBLEM:", p)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
