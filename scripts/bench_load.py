#!/usr/bin/env python
"""A bounded load of ``POST /api/match`` on a real server over loopback (issue #20 item 2).

For each worker count (``--workers 1,2``) the script starts ``landmatch serve`` on the given
database, warms it up, then for each concurrency (``--concurrency 1,4,8``) sends ``--requests``
public matches (the five projects of ``bench_match.py`` in turn) from that many client threads,
each waiting for its answer before sending the next (a closed loop: the load is bounded).

Printed per step: requests per second, p50 and p95 latency, and where the CPU went per match:
the server's processes (``/proc``: the supervisor and its workers) and the database backends
serving this database (``pg_stat_activity`` + ``/proc``) with the parallel workers they start
(polled: ``ParallelWorkers``), in CPU milliseconds per request. The baseline is the first
step (one worker, one client): every other step is printed as a ratio of its throughput.
Worker processes that the supervisor replaced during a step are reported (uvicorn restarts a
worker that does not answer its health check in time).

``--src DIR`` runs the server from another checkout's code (``PYTHONPATH``), for a before/after
comparison run back to back. The stored runs the load made are deleted afterwards. Run it on a
copy, on a quiet machine; the load average is printed with every step.

Usage::

    python scripts/bench_load.py postgresql+psycopg://root@127.0.0.1:5432/lm_1m \
        [--workers 1,2] [--concurrency 1,4,8] [--requests 200] [--port 18900] [--src DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_match import PROJECTS  # noqa: E402

from tests.procs import children  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_ms(pids: set[int]) -> float:
    """User + system CPU of these processes so far, in ms (exited ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * 1000 / TICK


class ParallelWorkers(threading.Thread):
    """The CPU of the parallel workers that PostgreSQL starts for this database's backends.

    A parallel worker lives for one statement and is not a client backend, so the backends'
    ``/proc`` time leaves it out. This thread polls the postmaster's children every ``every``
    seconds, keeps the workers whose leader (``parallel worker for PID n``) serves
    ``database``, and remembers each one's last CPU reading: a lower bound (a worker's CPU
    after its last poll, and a worker that lives less than a poll, are missed)."""

    def __init__(self, postmaster: int, database: str, every: float = 0.004) -> None:
        super().__init__(daemon=True)
        self.children = Path(f"/proc/{postmaster}/task/{postmaster}/children")
        self.database = database
        self.every = every
        self.cpu: dict[int, float] = {}  # worker pid -> its last CPU reading, ms
        self.other: set[int] = set()  # postmaster children that are not our workers
        self.leaders: dict[int, bool] = {}  # leader pid -> serves the database
        self.done = threading.Event()

    def _ours(self, pid: int) -> bool | None:
        """Whether ``pid`` is a parallel worker of ours; None while its title is not set."""
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        if not title.startswith(b"postgres: "):
            return None  # just forked: still the postmaster's command line
        m = re.search(rb"parallel worker for PID (\d+)", title)
        if not m:
            return False
        leader = int(m[1])
        if leader not in self.leaders:
            try:
                lead = Path(f"/proc/{leader}/cmdline").read_bytes().split()
            except OSError:
                lead = []
            self.leaders[leader] = self.database.encode() in lead
        return self.leaders[leader]

    def run(self) -> None:
        while not self.done.wait(self.every):
            try:
                pids = [int(p) for p in self.children.read_text().split()]
            except OSError:
                return
            for pid in pids:
                if pid in self.other:
                    continue
                if pid not in self.cpu:
                    ours = self._ours(pid)
                    if ours is None:
                        continue
                    if not ours:
                        self.other.add(pid)
                        continue
                spent = cpu_ms({pid})
                if spent or pid not in self.cpu:
                    self.cpu[pid] = spent

    def stop(self) -> tuple[float, int]:
        """Stop polling: the workers' CPU in ms and how many were seen."""
        self.done.set()
        self.join()
        return sum(self.cpu.values()), len(self.cpu)


def postmaster(pid: int) -> int:
    """The parent of a backend."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def backends(engine: Any, database: str) -> set[int]:
    with engine.connect() as c:
        return set(
            c.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :d "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ),
                {"d": database},
            ).scalars()
        )


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


def start_server(
    url: str, port: int, workers: int, log: Any, src: Path | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LANDMATCH_DATABASE_URL": url,
        "LANDMATCH_MODE": "development",
        "LANDMATCH_SETTLE_POLL_SECONDS": "0",
    }
    if src is not None:  # another checkout's code (a before/after comparison)
        src = src.resolve()
        env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, "-m", "landmatch.cli", "serve", "--port", str(port)]
    cmd += ["--workers", str(workers), "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, cwd=src, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 180  # imports take a while on a loaded machine
    health = "no answer"
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if r.status_code == 200:
                return proc
            health = r.text
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"server exited: {log.read().decode()[-2000:]}")
        time.sleep(0.3)
    proc.kill()
    log.seek(0)
    raise SystemExit(f"/healthz not ready within 180 s ({health}): {log.read().decode()[-2000:]}")


def load(base: str, concurrency: int, requests: int, made: list[str]) -> tuple[float, list[float]]:
    bodies = list(PROJECTS.values())
    times: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    errors: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as c:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t = time.perf_counter()
                r = c.post("/api/match", json=bodies[i % len(bodies)])
                dt = (time.perf_counter() - t) * 1000
                with lock:
                    if r.status_code == 200:
                        times.append(dt)
                        made.append(r.json()["match_id"])
                    else:
                        errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        print(f"    {len(errors)} errors, e.g. {errors[0]}", flush=True)
    return wall, times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", help="database URL (seeded, facts filled)")
    ap.add_argument("--workers", default="1,2", help="server worker counts")
    ap.add_argument("--concurrency", default="1,4,8", help="client threads")
    ap.add_argument("--requests", type=int, default=200, help="requests per step")
    ap.add_argument("--port", type=int, default=18900, help="server port (a free one if taken)")
    ap.add_argument(
        "--src",
        type=Path,
        help="run the server from this checkout's code (default: the installed landmatch)",
    )
    args = ap.parse_args()
    engine = create_engine(args.url)
    database = args.url.rsplit("/", 1)[1]
    with engine.connect() as c:
        pm = postmaster(c.execute(text("SELECT pg_backend_pid()")).scalar_one())
    made: list[str] = []
    rows = []
    server_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
    baseline: float | None = None
    try:
        for workers in [int(w) for w in args.workers.split(",")]:
            port = free_port(args.port)
            server = start_server(args.url, port, workers, server_log, args.src)
            base = f"http://127.0.0.1:{port}"
            try:
                load(base, workers * 2, len(PROJECTS) * workers * 2, made)  # warm every worker
                for conc in [int(c) for c in args.concurrency.split(",")]:
                    app_pids = {server.pid} | children(server.pid)
                    db_pids = backends(engine, database)
                    app0, db0 = cpu_ms(app_pids), cpu_ms(db_pids)
                    helpers = ParallelWorkers(pm, database)
                    helpers.start()
                    wall, times = load(base, conc, args.requests, made)
                    par, n_par = helpers.stop()
                    now_app = {server.pid} | children(server.pid)
                    db_pids |= backends(engine, database)
                    done = max(len(times), 1)
                    app_ms = (cpu_ms(app_pids | now_app) - app0) / done
                    par_ms = par / done
                    db_ms = (cpu_ms(db_pids) - db0) / done + par_ms
                    rate = len(times) / wall
                    baseline = baseline or rate
                    replaced = app_pids - now_app
                    row = {
                        "workers": workers,
                        "c": conc,
                        "rate": rate,
                        "p50": statistics.median(times),
                        "p95": float(np.percentile(times, 95)),
                        "app_ms": app_ms,
                        "db_ms": db_ms,
                        "par_ms": par_ms,
                        "par_n": n_par / done,
                        "ratio": rate / baseline,
                        "replaced": len(replaced),
                        "load": os.getloadavg()[0],
                    }
                    rows.append(row)
                    print(
                        f"  workers {workers} c {conc}: {rate:6.1f} /s  p50 {row['p50']:7.1f} ms  "
                        f"p95 {row['p95']:7.1f} ms  CPU per match: app {app_ms:6.1f} ms, "
                        f"database {db_ms:6.1f} ms, of which parallel workers {par_ms:5.1f} ms "
                        f"({n_par / done:.1f} per match)  ({row['ratio']:.2f}× the baseline; "
                        f"workers replaced {len(replaced)}; load {row['load']:.1f})",
                        flush=True,
                    )
            finally:
                server.terminate()
                try:
                    server.wait(20)
                except subprocess.TimeoutExpired:
                    server.kill()
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.match_run WHERE id = ANY(:i)"), {"i": made})
    print()
    print(
        "| workers | clients | matches/s | × baseline | p50 | p95 | app CPU ms/match "
        "| database CPU ms/match (parallel workers) | workers replaced | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workers']} | {r['c']} | {r['rate']:.1f} | {r['ratio']:.2f}× | "
            f"{r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['app_ms']:.1f} | "
            f"{r['db_ms']:.1f} ({r['par_ms']:.1f}) | "
            f"{r['replaced']} | {r['load']:.1f} |"
        )


if __name__ == "__main__":
    main()
