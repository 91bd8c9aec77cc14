"""Time ``landmatch seed`` stage by stage into a fresh database.

    PYTHONPATH=. .venv/bin/python scripts/bench_seed.py --db lm_me_seed --parcels 100000

Drops and recreates ``--db``, migrates it, seeds ``--parcels`` parcels in one transaction (as
``landmatch seed`` does) and prints the seconds of every stage, from the seed's progress events:
a stage lasts from its first event to the first event of the next one. Also prints the CPU
seconds of Python and of the database backend, to tell work from waiting on a shared machine. Works with older code
whose seed only reports progress (the stage list is read from the events, not assumed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

from sqlalchemy import text

HOST = "127.0.0.1"


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a local process (the database backend)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timings_in(report: object) -> bool:
    return bool(getattr(report, "timings", None))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--keep", action="store_true", help="reuse the database (must be empty)")
    ap.add_argument("--pg", default=f"postgresql+psycopg://root@{HOST}:5432", help="server")
    args = ap.parse_args()
    from sqlalchemy import make_url

    server = make_url(args.pg)
    conn_args = ["-h", server.host or HOST, "-p", str(server.port or 5432)]
    conn_args += ["-U", server.username] if server.username else []
    if not args.keep:
        subprocess.run(["dropdb", *conn_args, "--if-exists", "--force", args.db], check=True)
        subprocess.run(["createdb", *conn_args, args.db], check=True)
    url = server.set(drivername="postgresql+psycopg", database=args.db).render_as_string(
        hide_password=False
    )
    from landmatch.db.engine import get_engine, upgrade
    from landmatch.seed.run import seed

    upgrade(url, "head")
    engine = get_engine(url)
    first: dict[str, float] = {}
    cpu_at: dict[str, tuple[float, float]] = {}  # stage → (python, backend) CPU at its start
    backend = 0

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in first:
            first[stage] = time.perf_counter()
            cpu_at[stage] = (time.process_time(), _cpu(backend))

    t0 = time.perf_counter()
    p0 = time.process_time()
    with engine.begin() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        b0 = _cpu(backend)
        cpu_at["layers"] = (p0, b0)
        report = seed(conn, n=args.parcels, progress=progress)
        b1 = _cpu(backend)
    t_commit = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if timings_in(report):  # as `landmatch seed` does after it
            conn.execute(text("VACUUM landmatch.parcel_fact"))
        else:  # older code: as its CLI did
            conn.execute(text("ANALYZE landmatch.parcel"))
            conn.execute(text("VACUUM ANALYZE landmatch.parcel_fact"))
    t_end = time.perf_counter()
    marks = [("layers", t0), *sorted(first.items(), key=lambda kv: kv[1]), ("commit", t_commit)]
    timings = getattr(report, "timings", None)  # older code: derived from progress events
    print(f"parcels {report.parcels}")
    if timings:
        for k, v in timings.items():
            print(f"  {k:<12} {v:8.1f} s")
    else:
        for (name, t), (_n2, t2) in zip(marks, marks[1:], strict=False):
            print(f"  {name:<12} {t2 - t:8.1f} s")
    cpu_at["commit"] = (time.process_time(), b1)
    print("  cpu by progress stage (python / backend seconds):")
    names = [m[0] for m in marks]
    for a, b in zip(names, names[1:], strict=False):
        print(
            f"    {a:<12} {cpu_at[b][0] - cpu_at[a][0]:6.1f} / {cpu_at[b][1] - cpu_at[a][1]:6.1f}"
        )
    print(f"  {'vacuum':<12} {t_end - t_commit:8.1f} s")
    print(f"  {'total':<12} {t_end - t0:8.1f} s")
    print(
        f"cpu seconds in the seed transaction: python {time.process_time() - p0:.1f}, "
        f"database backend {b1 - b0:.1f} (wall {t_commit - t0:.1f})"
    )


if __name__ == "__main__":
    main()
