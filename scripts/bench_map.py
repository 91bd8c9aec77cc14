#!/usr/bin/env python3
"""First render of the public map page in headless Chromium against a large database.

Starts the app (uvicorn, one worker) on the given database — read-only use — opens ``/map`` in
Debian's Chromium through Playwright and measures, from navigation start:
  * DOMContentLoaded and load;
  * first render: every vector-tile layer has fired ``load`` for the initial view and a tile
    canvas holds drawn pixels;
then moves to a dense city view (z14) and measures the time until its tiles are drawn.
Runs cold (fresh server, empty tile cache) and warm (same server, new browser context).

    PYTHONPATH=. .venv/bin/python scripts/bench_map.py --db postgresql+psycopg://root@127.0.0.1:5432/lm_1m
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
WAIT_LAYERS_JS = """() => {
  if (!window.LM || !LM.layers) return false;
  const layers = ['admin', 'zones', 'parcels'].map(k => LM.layers[k]).filter(Boolean);
  if (!window.__lmLoaded) return false;
  return layers.every(l => window.__lmLoaded.has(l._leaflet_id));
}"""
HOOK_JS = """() => {
  window.__lmLoaded = new Set();
  // Layers may have loaded before the hook; mark those whose tiles are all in.
  for (const k of ['admin', 'zones', 'parcels']) {
    const l = LM.layers[k];
    if (!l) continue;
    if (!l._loading) window.__lmLoaded.add(l._leaflet_id);
    l.on('load', () => window.__lmLoaded.add(l._leaflet_id));
  }
}"""
DRAWN_JS = """() => {
  for (const c of document.querySelectorAll('.leaflet-tile-container canvas')) {
    if (!c.width) continue;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4 * 7) if (d[i] > 0) return true;
  }
  return false;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(browser, url: str, shot: Path | None, city: tuple[float, float]) -> dict[str, float]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/map", wait_until="domcontentloaded")
    page.wait_for_function("() => window.LM && LM.layers", timeout=30000)
    page.evaluate(HOOK_JS)
    page.wait_for_function(WAIT_LAYERS_JS, timeout=60000, polling=20)
    page.wait_for_function(DRAWN_JS, timeout=60000, polling=20)
    first = page.evaluate("performance.now()")
    nav = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
    import json

    n = json.loads(nav)
    if shot:
        page.screenshot(path=str(shot))
    t0 = page.evaluate("performance.now()")
    page.evaluate(
        "window.__lmLoaded = new Set(); for (const k of ['admin','zones','parcels']) "
        "LM.layers[k].once('load', () => __lmLoaded.add(LM.layers[k]._leaflet_id));"
    )
    page.evaluate(f"LM.map.setView([{city[0]}, {city[1]}], 14, {{animate: false}})")
    page.wait_for_function(WAIT_LAYERS_JS, timeout=60000, polling=20)
    city_ms = page.evaluate("performance.now()") - t0
    if shot:
        page.screenshot(path=str(shot.with_name(shot.stem + "_z14.png")))
    ctx.close()
    return {
        "dcl_ms": n["domContentLoadedEventEnd"],
        "load_ms": n["loadEventEnd"],
        "first_render_ms": first,
        "city_z14_ms": city_ms,
        "errors": len(errors),
        "html_kb": n.get("transferSize", 0) / 1024,
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="postgresql+psycopg://root@127.0.0.1:5432/lm_1m")
    ap.add_argument("--runs", type=int, default=3, help="warm runs after the cold one")
    ap.add_argument("--city", default="38.04,114.51", help="lat,lon of the dense view (石家庄)")
    ap.add_argument("--out", default=str(ROOT / "artifacts"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    port = free_port()
    env = dict(os.environ, LANDMATCH_DATABASE_URL=args.db, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "landmatch.api.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        lat, lon = (float(v) for v in args.city.split(","))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            shot = out / "bench_map_first_render.png"
            rows = [("cold", measure(browser, url, shot, (lat, lon)))]
            for i in range(args.runs):
                rows.append((f"warm{i + 1}", measure(browser, url, None, (lat, lon))))
            browser.close()
        print(f"database: {args.db.rsplit('/', 1)[-1]}")
        print(
            f"{'run':<7}{'DCL ms':>9}{'load ms':>9}{'first render ms':>17}{'z14 city ms':>13}{'errors':>8}"
        )
        for name, r in rows:
            print(
                f"{name:<7}{r['dcl_ms']:>9.0f}{r['load_ms']:>9.0f}{r['first_render_ms']:>17.0f}"
                f"{r['city_z14_ms']:>13.0f}{r['errors']:>8}"
            )
        print("target: first render <= 2000 ms")
        print(f"screenshots: {shot} and {shot.with_name(shot.stem + '_z14.png')}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
