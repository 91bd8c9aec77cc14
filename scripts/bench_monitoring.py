"""Benchmark the monitoring summary (``GET /api/monitoring/summary``'s service) beside its
baselines measured in the same run.

For the province and for one city: the idle report counted set-wise in SQL
(``scan.stage_groups``, what the summary runs) beside the same report counted row by row in
Python over every scanned row (``scan.summarise_rows(scan.scan_rows(...))``, what the summary
ran before), then the whole summary cold (its kept figures dropped) and warm (answered from the
figures kept for the inventory state), and as another worker or a restarted one finds it (read
from ``monitoring_figures``). It writes only that table's rows of the day it measures (and,
with ``--export``, one export job), and deletes them afterwards.

Usage::

    PYTHONPATH=. .venv/bin/python scripts/bench_monitoring.py --db lm_1m [--pg URL]
        [--city 130100] [--repeat 3] [--no-baseline] [--export] [--export-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time(f: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", default="postgresql+psycopg://root@127.0.0.1:5432", help="server")
    ap.add_argument("--db", required=True, help="database name (seeded; read only)")
    ap.add_argument("--city", default="130100", help="the city measured besides the province")
    ap.add_argument("--as-of", default=None, help="统计日期 YYYY-MM-DD (default today)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--no-baseline", action="store_true", help="skip the row-by-row baseline (slow at 1M)"
    )
    ap.add_argument(
        "--export",
        action="store_true",
        help="also the province's workbook as an export job (time, peak RSS, size) beside "
        "its floor: the idle-land rows streamed from the database and dropped",
    )
    ap.add_argument(
        "--export-only", action="store_true", help="only the workbook and its floor (no summary)"
    )
    args = ap.parse_args()
    if args.export_only:
        _export(f"{args.pg.rstrip('/')}/{args.db}", _day(args.as_of))
        return

    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from landmatch.auth import Principal
    from landmatch.monitoring import scan, summary
    from landmatch.monitoring.idle import IdleRule

    admin = Principal(name="bench", role="admin")

    engine = create_engine(f"{args.pg.rstrip('/')}/{args.db}")
    day = _day(args.as_of)
    rule = IdleRule()
    print(f"== {args.db}, as of {day}, load average {os.getloadavg()[0]:.1f}", flush=True)
    with Session(engine) as s:
        s.execute(text("SET jit = off"))
        n = s.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar_one()
        print(f"   {n:,} parcels", flush=True)
        for city in (None, args.city):
            label = city or "全省"
            new = _time(
                lambda c=city: scan.summarise(scan.stage_groups(s, day, rule, c)), args.repeat
            )
            line = f"   {label:<8} idle report set-wise p50 {statistics.median(new):8.0f} ms"
            if not args.no_baseline:
                before = _rss_mb()
                old = _time(lambda c=city: scan.summarise_rows(scan.scan_rows(s, day, rule, c)), 1)
                line += (
                    f" | row by row (before) {old[0]:8.0f} ms, RSS +{_rss_mb() - before:5.0f} MB"
                    f" | ×{old[0] / statistics.median(new):5.1f}"
                )
            print(line, flush=True)

            def cold(c: str | None = city) -> None:
                summary._cache.clear()
                s.execute(
                    text("DELETE FROM landmatch.monitoring_figures WHERE as_of = :d"), {"d": day}
                )
                summary.dashboard_data(s, admin, day, rule, c)
                s.rollback()

            cold_ms = _time(cold, args.repeat)
            warm_ms = _time(
                lambda c=city: summary.dashboard_data(s, admin, day, rule, c), args.repeat
            )
            # A worker that has not computed them (another worker, or after a restart): the
            # figures kept in the table for this inventory state (stored first: the cold runs
            # above were rolled back).
            summary._cache.clear()
            summary.dashboard_data(s, admin, day, rule, city)
            s.commit()

            def other_worker(c: str | None = city) -> None:
                summary._cache.clear()
                summary.dashboard_data(s, admin, day, rule, c)

            kept_ms = _time(other_worker, args.repeat)
            s.execute(text("DELETE FROM landmatch.monitoring_figures WHERE as_of = :d"), {"d": day})
            s.commit()
            print(
                f"   {label:<8} summary cold p50 {statistics.median(cold_ms):8.0f} ms, "
                f"warm (this worker's memory) p50 {statistics.median(warm_ms):6.1f} ms, "
                f"another worker / after a restart (kept in the table) p50 "
                f"{statistics.median(kept_ms):6.1f} ms",
                flush=True,
            )
    print(f"   load average now {os.getloadavg()[0]:.1f}; peak RSS {_rss_mb():.0f} MB")
    engine.dispose()
    if args.export:
        _export(f"{args.pg.rstrip('/')}/{args.db}", day)


def _day(as_of: str | None) -> dt.date:
    return dt.date.fromisoformat(as_of) if as_of else dt.date.today()


def _export(url: str, day: dt.date) -> None:
    """The province's workbook as an export job beside its floor, each in a fresh process:
    wall time and this process's CPU time (the machine's load stretches the one, hardly the
    other; the database's own work is in neither)."""
    print(f"   export: load average {os.getloadavg()[0]:.1f}", flush=True)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        floor_s, floor_cpu, floor_rows = pool.apply(_floor, (url, day))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        job_s, job_cpu, job_rss, size = pool.apply(_export_job, (url, day))
    print(
        f"   全省 workbook as an export job {job_s:6.1f} s (CPU {job_cpu:5.1f} s), peak RSS "
        f"{job_rss:5.0f} MB, {size / 1048576:5.1f} MB | floor: {floor_rows:,} idle-land rows "
        f"streamed and dropped {floor_s:6.1f} s (CPU {floor_cpu:5.1f} s) | ×{job_s / floor_s:4.1f} "
        f"(CPU ×{job_cpu / floor_cpu:4.1f}); load average now {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def _floor(url: str, day: dt.date) -> tuple[float, float, int]:
    """The idle-land rows of the province streamed from the database and dropped (in a
    transaction set as the export's)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from landmatch.monitoring import export, scan
    from landmatch.monitoring.idle import IdleRule

    t, cpu = time.perf_counter(), time.process_time()
    with Session(create_engine(url)) as s:
        export.tune(s)
        rows = sum(len(b["code"]) for b in scan.column_batches(s, day, IdleRule(), None))
    return time.perf_counter() - t, time.process_time() - cpu, rows


def _export_job(url: str, day: dt.date) -> tuple[float, float, float, int]:
    """The province's workbook written and stored by an export job (then deleted)."""
    from sqlalchemy import create_engine, text

    from landmatch.auth import Principal
    from landmatch.monitoring import export_jobs
    from landmatch.monitoring.idle import IdleRule

    engine = create_engine(url)
    admin = Principal(name="bench", role="admin")
    with engine.begin() as conn:
        job_id = export_jobs.start(conn, admin, day, None)
    t, cpu = time.perf_counter(), time.process_time()
    export_jobs.execute(engine, job_id, admin, IdleRule())
    took, cpu = time.perf_counter() - t, time.process_time() - cpu
    with engine.begin() as conn:
        state, size, error = conn.execute(
            text("SELECT state, size, error FROM landmatch.export_job WHERE id = :id"),
            {"id": job_id},
        ).one()
        conn.execute(text("DELETE FROM landmatch.export_job WHERE id = :id"), {"id": job_id})
    if state != "done":
        raise SystemExit(f"the export job failed: {error}")
    return took, cpu, _rss_mb(), int(size)


if __name__ == "__main__":
    main()
