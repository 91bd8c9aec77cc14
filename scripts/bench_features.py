#!/usr/bin/env python
"""Benchmark /ogc items against tipg serving the same parcel table.

    PYTHONPATH=. .venv/bin/python scripts/bench_features.py --db lm_ogc_1m

Creates tipg's own virtual environment (``.data/bench-tipg``) on first run, starts both servers
(one uvicorn worker each) on free ports, and times, sequentially, for each:

* ``page1000``: ``limit=1000`` pages (offsets 0..9 000);
* ``bbox4km``: 4 km × 4 km boxes around random parcels, ``limit=100``;
* ``first`` / ``deep``: ``limit=1000`` at offset 0 and at ``--deep`` (500 000).

tipg serves every row and every column of ``landmatch.parcel``; the like-for-like landmatch
figures are the internal view (an admin token created in the target database). The public view
(fewer rows, public columns) is reported too. Prints p50, p95 and requests/s.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
TIPG_VENV = ROOT / ".data" / "bench-tipg"
TIPG_VERSION = "1.6.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_tipg() -> Path:
    py = TIPG_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    # uvicorn[standard] like landmatch's own server: plain uvicorn (h11) adds ~45 ms to every
    # keep-alive request, which would flatter us.
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", f"tipg=={TIPG_VERSION}", "uvicorn[standard]"],
        check=True,
    )
    return py


def wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server for {url} exited")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server for {url} did not start")


def timed(client: httpx.Client, urls: list[str], headers: dict[str, str]) -> dict[str, float]:
    for u in urls[:3]:  # warm-up
        client.get(u, headers=headers).raise_for_status()
    lat = []
    t0 = time.perf_counter()
    for u in urls:
        s = time.perf_counter()
        r = client.get(u, headers=headers)
        r.raise_for_status()
        _ = r.content
        lat.append((time.perf_counter() - s) * 1000)
    total = time.perf_counter() - t0
    q = statistics.quantiles(lat, n=20)
    return {"p50": statistics.median(lat), "p95": q[18], "rps": len(urls) / total}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="lm_ogc_1m")
    ap.add_argument("--pg", default="postgresql://root@127.0.0.1:5432")
    ap.add_argument("-n", type=int, default=40, help="requests per scenario")
    ap.add_argument("--deep", type=int, default=500_000)
    args = ap.parse_args()

    url = f"{args.pg}/{args.db}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    sys.path.insert(0, str(ROOT))
    from sqlalchemy.orm import Session

    from landmatch.accounts.users import add_user

    with Session(engine) as s:
        token = add_user(s, f"bench-ogc-{random.randrange(10**9)}", "admin")
        s.commit()
        rng = random.Random(1)
        centres = s.execute(
            text(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM landmatch.parcel "
                "TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT 500) s"
            )
        ).all()
        rows = s.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar_one()
    print(f"database {args.db}: {rows} parcels")

    tipg_py = ensure_tipg()
    pt, po = free_port(), free_port()
    tipg_env = {
        **os.environ,
        "DATABASE_URL": url,
        "TIPG_DB_SCHEMAS": '["landmatch"]',
        "TIPG_DB_TABLES": '["landmatch.parcel"]',
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    ours_env = {**os.environ, "LANDMATCH_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                str(tipg_py),
                "-m",
                "uvicorn",
                "tipg.main:app",
                "--port",
                str(pt),
                "--log-level",
                "warning",
            ],
            env=tipg_env,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "landmatch.api.main:app",
                "--port",
                str(po),
                "--log-level",
                "warning",
            ],
            env=ours_env,
        ),
    ]
    try:
        tipg = f"http://127.0.0.1:{pt}/collections/landmatch.parcel/items"
        ours = f"http://127.0.0.1:{po}/ogc/collections/parcels/items"
        wait(f"http://127.0.0.1:{pt}/collections", procs[0])
        wait(f"http://127.0.0.1:{po}/ogc/conformance", procs[1])
        n = args.n
        dlat = 4000 / 111_320
        boxes = []
        for _ in range(n):
            x, y = rng.choice(centres)
            import math

            dlon = dlat / math.cos(math.radians(y))
            boxes.append(
                f"{x - dlon / 2:.6f},{y - dlat / 2:.6f},{x + dlon / 2:.6f},{y + dlat / 2:.6f}"
            )
        scen = {
            "page1000": [f"?limit=1000&offset={(i % 10) * 1000}" for i in range(n)],
            "bbox4km": [f"?limit=100&bbox={b}" for b in boxes],
            "first": ["?limit=1000&offset=0"] * n,
            "deep": [f"?limit=1000&offset={args.deep}"] * n,
        }
        staff = {"Authorization": f"Bearer {token}"}
        results: dict[tuple[str, str], dict[str, float]] = {}
        with httpx.Client(timeout=120) as c:
            for name, qs in scen.items():
                results[("tipg", name)] = timed(c, [tipg + q for q in qs], {})
                results[("landmatch internal", name)] = timed(c, [ours + q for q in qs], staff)
                if name == "deep":
                    public_deep = [f"?limit=1000&offset={int(args.deep * 0.8)}"] * n
                    results[("landmatch public", name)] = timed(
                        c, [ours + q for q in public_deep], {}
                    )
                else:
                    results[("landmatch public", name)] = timed(c, [ours + q for q in qs], {})
        print(f"\n{'scenario':10} {'server':20} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}")
        for name in scen:
            for server in ("tipg", "landmatch internal", "landmatch public"):
                r = results[(server, name)]
                print(f"{name:10} {server:20} {r['p50']:8.1f} {r['p95']:8.1f} {r['rps']:7.1f}")
        print(
            f"\n(public deep page uses offset {int(args.deep * 0.8)}: the public view has fewer rows)"
        )
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        with Session(engine) as s:
            s.execute(text("DELETE FROM landmatch.app_user WHERE name LIKE 'bench-ogc-%'"))
            s.commit()


if __name__ == "__main__":
    main()
