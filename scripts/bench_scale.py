"""Public tile and match throughput with one and two app servers behind nginx (issue #20
item 5), beside one server answered directly in the same run (the baseline).

    .venv/bin/python scripts/bench_scale.py [--db lm_scale] [--parcels 20000] [--seconds 8] [-c 8]

Ensures the database (created, migrated, seeded when it has fewer parcels), installs nginx
through scripts/lib.sh when it is missing, starts two app servers (``landmatch serve``, one
worker each) and nginx with deploy/'s configuration on loopback ports (``--port-base``: nginx
on it, the app servers on the next two), then for each kind of request (public tiles, public
matches) runs a bounded closed loop — ``-c`` clients, ``--seconds`` each — against:

1. one app server directly (baseline);
2. nginx in front of that one server;
3. nginx in front of both.

It prints requests per second, p50 / p95 latency, errors, each as a ratio to the baseline, the
load average, and the CPU the app servers and the database backends spent per request (from
/proc), from which it estimates what one more machine would add. Everything it starts is
stopped at the end. The client runs on the same cores as the servers: say so with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
from bench_tiles import Client
from bench_workbench import ensure_database, load

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def ensure_nginx() -> None:
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        return
    print("installing nginx (scripts/lib.sh ensure_system_packages)")
    subprocess.run(
        ["bash", "-c", "source scripts/lib.sh && ensure_system_packages"], cwd=ROOT, check=True
    )


def render_module() -> Any:
    """deploy/render_nginx.py (not a package: loaded by path)."""
    return SimpleNamespace(**runpy.run_path(str(ROOT / "deploy/render_nginx.py")))


@contextlib.contextmanager
def app_server(url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "LANDMATCH_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
        "LANDMATCH_TRUSTED_PROXIES": "127.0.0.1",
        "LANDMATCH_SETTLE_POLL_SECONDS": "0",
    }
    cmd = [sys.executable, "-m", "landmatch.cli", "serve", "--port", str(port), "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app server on {port} did not start")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICK


def backends(url: str) -> list[int]:
    """The server processes serving this database (the app servers' pooled connections)."""
    db = url.rsplit("/", 1)[1]
    with psycopg.connect(url) as c:
        rows = c.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (db,),
        ).fetchall()
    return [r[0] for r in rows]


def tile_urls(url: str, n: int = 60) -> list[str]:
    """Distinct public parcel tiles at z12–z14, where the parcels are."""
    with psycopg.connect(url) as c:
        pts = c.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
            "FROM landmatch.parcel WHERE status = 'ready' AND visibility = 'public' "
            "AND deleted_at IS NULL ORDER BY md5(code) LIMIT %s) s",
            (n,),
        ).fetchall()
    sys.path.insert(0, str(ROOT))
    from landmatch.db.tiles import tile_at

    found = {(z, *tile_at(lon, lat, z)) for lon, lat in pts for z in (12, 13, 14)}
    return [f"/tiles/parcels/{z}/{x}/{y}.pbf" for z, x, y in sorted(found)]


def match_bodies() -> list[dict[str, Any]]:
    industries = ["13", "14", "17", "26", "29", "30", "33", "34", "35", "36", "38", "39"]
    areas = [(5, 50), (20, 150), (50, 300)]
    return [
        {"industry": i, "area_mu_min": a, "area_mu_max": b, "top": 10}
        for i, (a, b) in itertools.product(industries, areas)
    ]


async def closed_loop(
    base: str, kind: str, work: list[Any], clients: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    shuffled = work[:]
    random.Random(7).shuffle(shuffled)
    feed = itertools.cycle(shuffled)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        # Tiles through a raw keep-alive client (bench_tiles.Client), so that the client is
        # not what limits cached tiles; matches through httpx (a JSON POST).
        raw = Client(int(base.rsplit(":", 1)[1]), {"Accept-Encoding": "gzip"})
        while time.monotonic() < stop:
            item = next(feed)
            t0 = time.perf_counter()
            try:
                if kind == "tiles":
                    try:
                        status = (await raw.get(item))[0]
                    except (OSError, asyncio.IncompleteReadError):
                        # The server closed a kept-alive connection (nginx does after
                        # keepalive_requests): what a browser does, open another and ask again.
                        raw = Client(raw.port, {"Accept-Encoding": "gzip"})
                        status = (await raw.get(item))[0]
                    ok = status == 200
                else:
                    ok = (await http.post("/api/match", json=item)).status_code == 200
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError):
                ok, raw = False, Client(raw.port, {"Accept-Encoding": "gzip"})
            if ok:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1
        if raw.writer is not None:
            raw.writer.close()

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=20) if len(latencies) >= 20 else [float("nan")] * 19
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": q[18],
        "n": len(latencies),
        "errors": errors,
    }


def main() -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    ap.add_argument("--seconds", type=float, default=8, help="each measurement's length")
    ap.add_argument("-c", "--clients", type=int, default=8, help="concurrent clients")
    ap.add_argument("--kinds", default="tiles,match", help="tiles, match or both")
    ap.add_argument("--port-base", type=int, default=18050, help="nginx; app servers +1, +2")
    ap.add_argument("--db", default="lm_scale", help="database name (created and seeded if needed)")
    ap.add_argument("--pg", default="postgresql://root@127.0.0.1:5432", help="server URL")
    ap.add_argument("--parcels", type=int, default=20_000, help="parcels the database holds")
    a = ap.parse_args()

    url = ensure_database(a.pg, a.db, a.parcels)
    ensure_nginx()
    render = render_module()
    tiles = tile_urls(url)
    work = {"tiles": tiles, "match": match_bodies()}
    ports = [a.port_base + 1, a.port_base + 2]
    nginx_at = f"127.0.0.1:{a.port_base}"
    print(f"database {a.db}: {a.parcels:,} parcels; {len(tiles)} tiles; c = {a.clients}")
    print(f"load average at start {load()} ({os.cpu_count()} cores, shared)")
    with contextlib.ExitStack() as stack:
        apps = [stack.enter_context(app_server(url, p)) for p in ports]
        run_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lm-bench-")))
        run_root.chmod(0o755)  # nginx's workers reach their cache below it
        results: list[tuple[str, str, dict[str, float], float, float]] = []
        for kind in a.kinds.split(","):
            scenarios = [
                ("one server, direct (baseline)", None, ports[:1]),
                ("nginx + one server", "one", ports[:1]),
                ("nginx + two servers", "two", ports),
            ]
            for label, tag, used in scenarios:
                with contextlib.ExitStack() as inner:
                    if tag is None:
                        base = f"http://127.0.0.1:{ports[0]}"
                    else:
                        inner.enter_context(
                            render.run(
                                run_root / f"{kind}-{tag}",
                                nginx_at,
                                [f"127.0.0.1:{p}" for p in used],
                            )
                        )
                        base = f"http://{nginx_at}"
                    # Warm: every app server's pool and caches, then nginx's.
                    for p in used:
                        asyncio.run(closed_loop(f"http://127.0.0.1:{p}", kind, work[kind], 2, 1))
                    if tag is not None:
                        asyncio.run(closed_loop(base, kind, work[kind], 4, 2))
                    pids = [apps[ports.index(p)].pid for p in used]
                    db_pids = backends(url)
                    app0, db0 = cpu_seconds(pids), cpu_seconds(db_pids)
                    r = asyncio.run(closed_loop(base, kind, work[kind], a.clients, a.seconds))
                    app_ms = (cpu_seconds(pids) - app0) * 1000 / max(r["n"], 1)
                    db_ms = (cpu_seconds(db_pids) - db0) * 1000 / max(r["n"], 1)
                results.append((kind, label, r, app_ms, db_ms))
                base_rps = next(x[2]["rps"] for x in results if x[0] == kind)
                print(
                    f"{kind:5} {label:30} {r['rps']:8.1f} req/s ({r['rps'] / base_rps:4.2f}×)"
                    f"  p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  errors {r['errors']}"
                    f"  CPU/request: app {app_ms:5.1f} ms, database {db_ms:5.1f} ms"
                    f"  load {load()}"
                )
    print(f"load average at end {load()}")
    for kind in a.kinds.split(","):
        direct = next(x for x in results if x[0] == kind)
        app_ms, db_ms = direct[3], direct[4]
        if app_ms + db_ms > 0:
            per_core = 1000 / (app_ms + db_ms)
            print(
                f"{kind}: {app_ms + db_ms:.1f} CPU ms per request ({app_ms:.1f} app + "
                f"{db_ms:.1f} database): one more 2-core machine running an app server and "
                f"the read replica adds up to about {2 * per_core:.0f} req/s"
            )


if __name__ == "__main__":
    main()
