#!/usr/bin/env python3
"""First render of the public map page in headless Chromium against a large database.

Starts the app (uvicorn, one worker) on the given database — read-only use — opens ``/map`` in
Debian's Chromium through Playwright and measures, from navigation start:
  * DOMContentLoaded and load;
  * first render: every vector-tile layer has fired ``load`` for the initial view and a tile
    canvas holds drawn pixels;
then moves to a dense city view (z14) and measures the time until its tiles are drawn.
Runs cold (fresh server, empty tile cache) and warm (same server, new browser context).

Also reports the page weight of the first render: the bytes every request until then
transferred (Resource Timing, bodies as sent), by kind — the page's HTML, scripts, stylesheets,
fonts, the map's JSON (places, …), vector tiles, images.

``--ref GIT_REF`` measures the map of an earlier commit too, served from that commit's files
(``git archive``, the same database, venv and npm packages), printed beside the current one: the
figures before and after a change, from the same run.

Runs from a fresh clone: the npm packages the page needs (web/node_modules) are installed first
when missing (``scripts/lib.sh ensure_web_assets``).

    PYTHONPATH=. .venv/bin/python scripts/bench_map.py --db postgresql+psycopg://root@127.0.0.1:5432/lm_1m
    PYTHONPATH=. .venv/bin/python scripts/bench_map.py --runs 2 --ref f5fc7f1
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
WAIT_LAYERS_JS = """() => {
  if (!window.LM || !LM.layers) return false;
  const layers = ['admin', 'water', 'zones', 'parcels'].map(k => LM.layers[k]).filter(Boolean);
  if (!window.__lmLoaded) return false;
  return layers.every(l => window.__lmLoaded.has(l._leaflet_id));
}"""
HOOK_JS = """() => {
  window.__lmLoaded = new Set();
  // Layers may have loaded before the hook; mark those whose tiles are all in.
  for (const k of ['admin', 'water', 'zones', 'parcels']) {
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


# Resource Timing of everything loaded so far, with the navigation's own HTML, as
# [kind, bytes] (encodedBodySize: the body as sent; transferSize is 0 for cached files).
WEIGHT_JS = """() => {
  const kind = (e) => {
    const u = e.name;
    if (e.entryType === 'navigation') return 'html';
    if (u.indexOf('/tiles/water/') >= 0) return 'water tiles';
    if (u.indexOf('.pbf') >= 0) return 'tiles';
    if (/\\.js(\\?|$)/.test(u)) return 'js';
    if (/\\.css(\\?|$)/.test(u)) return 'css';
    if (/\\.(woff2?|ttf|eot|otf)(\\?|$)/.test(u)) return 'fonts';
    if (u.indexOf('/api/') >= 0) return 'json';
    if (/\\.(png|svg|jpe?g|gif|webp)(\\?|$)/.test(u) || e.initiatorType === 'img') return 'images';
    return 'other';
  };
  return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
    .map(e => [kind(e), e.encodedBodySize || e.transferSize || 0]);
}"""
KINDS = ("html", "js", "css", "fonts", "json", "tiles", "water tiles", "images", "other")


PORTS: list[int] = []  # --ports: the ports to serve on, in turn (else free ones)


def free_port() -> int:
    if PORTS:
        return PORTS.pop(0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(browser: Any, url: str, shot: Path | None, city: tuple[float, float]) -> dict[str, Any]:
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
    weight = dict.fromkeys(KINDS, 0)
    for kind, size in page.evaluate(WEIGHT_JS):
        weight[kind] += int(size)
    nav = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
    n = json.loads(nav)
    if shot:
        page.screenshot(path=str(shot))
    t0 = page.evaluate("performance.now()")
    page.evaluate(
        "window.__lmLoaded = new Set(); for (const k of ['admin','water','zones','parcels']) "
        "if (LM.layers[k]) LM.layers[k].once('load', () => __lmLoaded.add(LM.layers[k]._leaflet_id));"
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
        "weight": weight,
    }


def ensure_node_modules() -> None:
    """A fresh clone has no web/node_modules: install them as set-up does."""
    if (ROOT / "web" / "node_modules").is_dir():
        return
    print("web/node_modules missing: installing the npm packages (scripts/lib.sh)", flush=True)
    subprocess.run(
        ["bash", "-c", "source scripts/lib.sh && ensure_web_assets"], cwd=ROOT, check=True
    )


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """The files of commit ``ref`` in a temporary directory (git archive: the repository is
    not touched), with the current npm packages linked in."""
    with tempfile.TemporaryDirectory(prefix="lm-bench-map-") as tmp:
        data = subprocess.run(
            ["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True
        ).stdout
        tar = Path(tmp) / "src.tar"
        tar.write_bytes(data)
        with tarfile.open(tar) as t:
            t.extractall(Path(tmp) / "src", filter="data")
        src = Path(tmp) / "src"
        (src / "web" / "node_modules").symlink_to(ROOT / "web" / "node_modules")
        yield src


@contextmanager
def serve(src: Path, db: str) -> Iterator[str]:
    """The app of the source tree ``src`` on a free port (uvicorn, one worker)."""
    port = free_port()
    env = dict(os.environ, LANDMATCH_DATABASE_URL=db, PYTHONPATH=str(src))
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
        cwd=src,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def bench(
    browser: Any, src: Path, args: Any, out: Path, tag: str
) -> list[tuple[str, dict[str, Any]]]:
    lat, lon = (float(v) for v in args.city.split(","))
    with serve(src, args.db) as url:
        shot = out / f"bench_map_first_render{tag}.png"
        rows = [("cold", measure(browser, url, shot, (lat, lon)))]
        for i in range(args.runs):
            rows.append((f"warm{i + 1}", measure(browser, url, None, (lat, lon))))
    return rows


def report(title: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    print(f"\n{title}")
    print(
        f"{'run':<7}{'DCL ms':>9}{'load ms':>9}{'first render ms':>17}{'z14 city ms':>13}"
        f"{'errors':>8}{'weight KB':>11}"
    )
    for name, r in rows:
        print(
            f"{name:<7}{r['dcl_ms']:>9.0f}{r['load_ms']:>9.0f}{r['first_render_ms']:>17.0f}"
            f"{r['city_z14_ms']:>13.0f}{r['errors']:>8}{sum(r['weight'].values()) / 1024:>11.1f}"
        )
    cold = rows[0][1]["weight"]
    print(
        "page weight of the first render (cold), KB: "
        + ", ".join(f"{k} {cold[k] / 1024:.1f}" for k in KINDS if cold[k])
        + f"; total {sum(cold.values()) / 1024:.1f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="postgresql+psycopg://root@127.0.0.1:5432/lm_1m")
    ap.add_argument("--runs", type=int, default=3, help="warm runs after the cold one")
    ap.add_argument("--city", default="38.04,114.51", help="lat,lon of the dense view (石家庄)")
    ap.add_argument("--ref", help="also measure this earlier commit (before/after)")
    ap.add_argument("--out", default=str(ROOT / "artifacts"))
    ap.add_argument("--ports", help="comma-separated ports for the servers (default: free ones)")
    args = ap.parse_args()
    PORTS.extend(int(p) for p in (args.ports or "").split(",") if p)
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    ensure_node_modules()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        before = None
        if args.ref:
            with checkout(args.ref) as src:
                before = bench(browser, src, args, out, "_before")
        after = bench(browser, ROOT, args, out, "")
        browser.close()
    print(f"database: {args.db.rsplit('/', 1)[-1]}; load average {os.getloadavg()[0]:.1f}")
    if before:
        report(f"before ({args.ref})", before)
    report("now" if before else "the map", after)
    print("target: first render <= 2000 ms")
    print(f"screenshots: {out}/bench_map_first_render*.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
