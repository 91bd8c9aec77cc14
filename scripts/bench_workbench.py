#!/usr/bin/env python
"""Benchmark the workbench's inventory pages on a large database (issue #14 quality bar).

    PYTHONPATH=. .venv/bin/python scripts/bench_workbench.py --db lm_wb_1m            # 1,000,000
    PYTHONPATH=. .venv/bin/python scripts/bench_workbench.py --db lm_wb_100k --parcels 100000

Ensures the database (created, migrated and seeded with ``landmatch seed --parcels N`` when it
is missing or smaller; then VACUUM ANALYZE so the list's index is read index-only), gives 20
parcels a few versions each (the history page), starts the app (one uvicorn worker) and times,
sequentially, signed in as the 石家庄 bureau (its city holds about a tenth of the parcels):

* the list with filters (status, land use, area): first page, middle and last (deep) pages,
  sorted by code and by area;
* the unfiltered list of the city: first and last page;
* a parcel page; the history page;
* the import wizard's dry-run report page of a 5,000-row file (uploaded through the wizard,
  checked by a background job the bench waits for): first page, last page, filtered, beside a
  bare SELECT of the page's lines (section ``imports``);
* QA, monitoring and disposal cases (section ``ops``): the QA report (its counts uncached once,
  then as reused; one check's flagged parcels, first and last page), the dashboard of the
  bureau's own city beside the summary API it loads, the case list, the idle-land list (first
  and last page of the largest stage) and a case, each beside the JSON API of the same rows;
* the policy library's Excel import of ``excel.MAX_ROWS`` rows, dry run (section
  ``policies``), beside the same file through the API;

each beside a baseline measured in the same run: the JSON API call for the same rows
(``/api/parcels?city=…&offset=…``) and a bare SELECT of the page's rows (and of the count) on
one psycopg connection. Prints p50 / p95 in ms of the time the request took on the loopback
(server time: one worker, nothing else queued), and the machine's load average.
``--sections list,imports,ops,policies`` picks what runs (all by default).
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
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-口令-河北-2026"
CITY = "130100"
FILTERS = "status=ready&status=unsupplied&land_use=100101&land_use=100102&area_min=10"
BARE_FILTER = (
    "p.deleted_at IS NULL AND p.city_code = %(city)s AND p.status = ANY(%(status)s) "
    "AND p.land_use = ANY(%(uses)s) AND p.area_m2 >= %(amin)s"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def ensure_database(pg: str, db: str, parcels: int) -> str:
    """The database URL; created, migrated and seeded as needed."""
    url = f"{pg}/{db}"
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
            print(f"creating database {db}")
            c.execute(f'CREATE DATABASE "{db}"')
    env = {
        **os.environ,
        "LANDMATCH_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
    }
    cli = [sys.executable, "-m", "landmatch.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, cwd=ROOT)
    with psycopg.connect(url) as c:
        have = c.execute("SELECT count(*) FROM landmatch.parcel").fetchone()[0]  # type: ignore[index]
    if have < parcels * 0.99:
        print(f"seeding {parcels:,} parcels (had {have:,}); load average {load()}")
        t0 = time.perf_counter()
        subprocess.run(
            [*cli, "seed", "--parcels", str(parcels), "--reset"], env=env, check=True, cwd=ROOT
        )
        print(f"seeded in {time.perf_counter() - t0:.0f} s")
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("VACUUM ANALYZE landmatch.parcel")
            c.execute("VACUUM ANALYZE landmatch.parcel_version")
    return url


def prepare(url: str) -> tuple[str, list[str]]:
    """A 石家庄 bureau account (the bench signs in as it) and 20 parcels with a history."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from landmatch.accounts import users
    from landmatch.auth import Principal
    from landmatch.inventory import edits

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    name = "bench-wb-bureau"
    admin = Principal(name="bench", role="admin")
    with Session(engine) as s, s.begin():
        if not s.execute(
            text("SELECT 1 FROM landmatch.app_user WHERE name = :n"), {"n": name}
        ).first():
            spec = users.AccountSpec(name, "bureau", CITY, None, None)
            users.create(s, spec, admin, password=PASSWORD, min_length=10)
        s.execute(
            text("UPDATE landmatch.app_user SET must_change_password = false WHERE name = :n"),
            {"n": name},
        )
    with Session(engine) as s:
        codes = list(
            s.execute(
                text(
                    "SELECT code FROM landmatch.parcel TABLESAMPLE SYSTEM (1) REPEATABLE (3) "
                    "WHERE city_code = :c AND deleted_at IS NULL LIMIT 20"
                ),
                {"c": CITY},
            ).scalars()
        )
        bureau = Principal(name=name, role="bureau", city_code=CITY)
        for code in codes:
            n = s.execute(
                text(
                    "SELECT count(*) FROM landmatch.parcel_version v JOIN landmatch.parcel p "
                    "ON p.id = v.parcel_id WHERE p.code = :c"
                ),
                {"c": code},
            ).scalar_one()
            for k in range(max(0, 6 - n)):
                edits.update_parcel(
                    s,
                    code,
                    {"lease_years": 30 + k, "notes": f"bench {k}", "reason": "bench"},
                    "*",
                    bureau,
                )
                s.commit()
    engine.dispose()
    return name, codes


IMPORT_ROWS = 5_000


def import_csv(rows: int) -> bytes:
    """A 清单 of ``rows`` new 石家庄 parcels (CSV with WKT boundaries) on a grid."""
    out = ["地块编号,地块名称,用途,状态,公开范围,几何(WKT)"]
    for i in range(rows):
        x, y = 114.30 + (i % 100) * 0.0025, 37.92 + (i // 100) * 0.0025
        d = 0.002
        wkt = f"POLYGON(({x} {y},{x + d} {y},{x + d} {y + d},{x} {y + d},{x} {y}))"
        out.append(f'BENCH-{i},基准地块{i},100101,ready,internal,"{wkt}"')
    return ("\n".join(out) + "\n").encode("utf-8")


def import_job(web: httpx.Client, base: str, rows: int) -> int:
    """Upload a ``rows``-row file through the wizard and run its dry run (a background job
    for a file this size); returns the job id once the report is there."""
    import re

    page = web.get("/workbench/imports/new")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    t0 = time.perf_counter()
    r = web.post(
        "/workbench/imports",
        data={"csrf_token": csrf},
        files=[("files", ("bench.csv", import_csv(rows), "text/csv"))],
        headers={"Origin": base},
    )
    url = str(r.url) if r.history else r.headers.get("location", "")
    found = re.search(r"/workbench/imports/(\d+)", url)
    assert found, (r.status_code, r.text[:500])
    job = int(found.group(1))
    r = web.post(
        f"/workbench/imports/{job}/check",
        data={"csrf_token": csrf, "city": CITY},
        headers={"Origin": base},
    )
    while True:
        p = web.get(f"/workbench/imports/{job}/progress").json()
        if not p["running"]:
            break
        time.sleep(1)
    print(
        f"import job {job}: {rows:,} rows uploaded and dry-run in {time.perf_counter() - t0:.1f} s "
        f"({p['state_label']}{'：' + p['error'] if p['error'] else ''})"
    )
    return job


def _total(html: str) -> int:
    """The row count a paged workbench table states (共 N 条)."""
    import re

    found = re.search(r"共 ([\d,]+) 条", html)
    return int(found.group(1).replace(",", "")) if found else 0


def ops(
    web: httpx.Client,
    api: httpx.Client,
    conn: psycopg.Connection,
    page: Callable[[str], Callable[[], object]],
    api_get: Callable[[str], Callable[[], object]],
    report: Callable[..., None],
) -> None:
    """QA report, dashboard (the bureau's own city), disposal cases and the idle-land list."""
    t = time.perf_counter()
    page("/workbench/qa")()  # the first since the server started: the QA counts computed
    print(f"{'QA report, counts uncached':32} {(time.perf_counter() - t) * 1000:8.1f} (once)")
    report("QA report (counts reused)", page("/workbench/qa"))
    check = "/workbench/qa?check=ready_checklist"
    flagged = _total(web.get(check).text)
    last = max(0, (flagged - 1) // 50 * 50)
    report(f"QA ready_checklist ({flagged:,}), first", page(check))
    report("QA ready_checklist, last page", page(f"{check}&offset={last}"))
    report("QA in_exclusion (spatial), first", page("/workbench/qa?check=in_exclusion"), n=3)
    report(
        "dashboard page (own city)",
        page("/dashboard"),
        "summary API the page loads",
        api_get("/api/monitoring/summary"),
    )
    report(
        "case list (open)",
        page("/workbench/cases"),
        "JSON API GET /api/monitoring/cases",
        api_get(f"/api/monitoring/cases?city={CITY}&status=open&limit=50"),
    )
    report("case list (all)", page("/workbench/cases?status=all"))
    counts = api.get(f"/api/monitoring/idle?city={CITY}&limit=0").json()["stages"]
    stage = max((s for s in counts if s["stage"] != "normal"), key=lambda s: s["count"])
    n = stage["count"]
    last = max(0, (n - 1) // 50 * 50)
    idle = f"/workbench/cases/idle?stage={stage['stage']}"
    idle_api = f"/api/monitoring/idle?city={CITY}&stage={stage['stage']}&limit=50"
    report(
        f"idle list ({stage['stage']} {n:,}), first",
        page(idle),
        "JSON API, same rows",
        api_get(idle_api),
    )
    report(
        "idle list, last page",
        page(f"{idle}&offset={last}"),
        "JSON API, same rows",
        api_get(f"{idle_api}&offset={last}"),
    )
    case = conn.execute(
        "SELECT id FROM landmatch.disposal_case WHERE city_code = %s ORDER BY status = 'open' "
        "DESC, id LIMIT 1",
        (CITY,),
    ).fetchone()
    if case is not None:
        report(
            "case page",
            page(f"/workbench/cases/{case[0]}"),
            "JSON API GET …/cases/{id}",
            api_get(f"/api/monitoring/cases/{case[0]}"),
        )


def policy_workbook(rows: int) -> bytes:
    """A policy Excel of ``rows`` 石家庄 policies (new codes)."""
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(
        ["编码", "政策名称", "发布机关", "生效日期", "适用范围", "范围代码", "适用行业"]
        + ["优惠类型", "比例", "上限（万元）", "摘要", "公开"]
    )
    for i in range(rows):
        ws.append(
            [f"bench-p-{i}", f"基准政策{i}", "石家庄市工信局", "2026-01-01", "市", CITY, "34"]
            + ["资金补助", "15%", 300, "设备投入补助", "是"]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def policy_import(
    web: httpx.Client, api: httpx.Client, base: str, report: Callable[..., None]
) -> None:
    """The policy Excel import at its row limit, dry run, in the workbench and the API."""
    import re

    from landmatch.policies.excel import MAX_ROWS

    data = policy_workbook(MAX_ROWS)
    csrf = re.search(  # type: ignore[union-attr]
        r'name="csrf-token" content="([^"]+)"', web.get("/workbench/policies/import").text
    ).group(1)

    def page() -> object:
        r = web.post(
            "/workbench/policies/import",
            data={"csrf_token": csrf, "dry_run": "1"},
            files={"file": ("p.xlsx", data, "application/octet-stream")},
            headers={"Origin": base},
        )
        assert f"{MAX_ROWS} 行：新增 {MAX_ROWS}" in r.text, r.text[:300]
        return r

    def direct() -> object:
        r = api.post(
            "/api/policies/import?dry_run=true",
            files={"file": ("p.xlsx", data, "application/octet-stream")},
        )
        r.raise_for_status()
        return r

    report(f"policy import {MAX_ROWS:,} rows, dry run", page, "API, same file", direct, n=3)


def timed(fn: Callable[[], object], n: int) -> dict[str, float]:
    for _ in range(2):  # warm-up (the first request per data version counts the set)
        fn()
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        lat.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(lat, n=20) if len(lat) > 1 else lat * 19
    return {"p50": statistics.median(lat), "p95": q[18]}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="lm_wb_1m", help="database name (created and seeded if needed)")
    ap.add_argument("--pg", default="postgresql://root@127.0.0.1:5432", help="server URL")
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("-n", type=int, default=25, help="requests per scenario")
    ap.add_argument(
        "--imports-only", action="store_true", help="only the import wizard's report page"
    )
    ap.add_argument(
        "--sections",
        default="list,imports,ops,policies",
        help="comma-separated: list (inventory pages), imports, ops (QA, dashboard, cases), "
        "policies",
    )
    args = ap.parse_args()
    sections = {"imports"} if args.imports_only else set(args.sections.split(","))
    print(f"load average at start: {load()} ({os.cpu_count()} cores)")
    url = ensure_database(args.pg, args.db, args.parcels)
    user, codes = prepare(url)
    conn = psycopg.connect(url, autocommit=True)
    total_all = conn.execute("SELECT count(*) FROM landmatch.parcel").fetchone()[0]  # type: ignore[index]
    params = {
        "city": CITY,
        "status": ["ready", "unsupplied"],
        "uses": ["100101", "100102"],
        "amin": 10 * 10000 / 15,
    }
    city_n = conn.execute(
        "SELECT count(*) FROM landmatch.parcel WHERE city_code = %s AND deleted_at IS NULL", (CITY,)
    ).fetchone()[0]  # type: ignore[index]
    filtered_n = conn.execute(
        f"SELECT count(*) FROM landmatch.parcel p WHERE {BARE_FILTER}", params
    ).fetchone()[0]  # type: ignore[index]
    print(
        f"database {args.db}: {total_all:,} parcels; {CITY}: {city_n:,}; filtered: {filtered_n:,}"
    )

    port = free_port()
    env = {
        **os.environ,
        "LANDMATCH_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
        "LANDMATCH_SETTLE_POLL_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
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
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=3).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.3)
        web = httpx.Client(base_url=base, timeout=120)
        r = web.post(
            "/workbench/login",
            data={"name": user, "password": PASSWORD, "next": "/workbench"},
            headers={"Origin": base},
        )
        assert r.status_code in (200, 303), r.text[:300]
        api = httpx.Client(base_url=base, timeout=120, auth=(user, PASSWORD))

        def page(path: str) -> Callable[[], object]:
            def get() -> object:
                resp = web.get(path)
                resp.raise_for_status()
                assert "熟地清单工作台" in resp.text, path
                return resp

            return get

        def api_get(path: str) -> Callable[[], object]:
            def get() -> object:
                resp = api.get(path)
                resp.raise_for_status()
                return resp.content

            return get

        def bare(sql: str, p: dict[str, object]) -> Callable[[], object]:
            return lambda: conn.execute(sql, p).fetchall()

        last_f = (filtered_n - 1) // 50 * 50
        mid_f = filtered_n // 2 // 50 * 50
        last_c = (city_n - 1) // 50 * 50
        cols = "p.id, p.code, p.name, p.status, p.land_use, p.area_m2, p.visibility, p.updated_at"
        rows_sql = (
            f"SELECT {cols} FROM landmatch.parcel p WHERE {BARE_FILTER} ORDER BY p.code "
            "LIMIT 50 OFFSET %(off)s"
        )
        city_sql = (
            f"SELECT {cols} FROM landmatch.parcel p WHERE p.deleted_at IS NULL AND p.city_code = "
            "%(city)s ORDER BY p.code LIMIT 50 OFFSET %(off)s"
        )
        rng = random.Random(5)
        sample = [
            r[0]
            for r in conn.execute(
                "SELECT code FROM landmatch.parcel TABLESAMPLE SYSTEM (1) REPEATABLE (9) "
                "WHERE city_code = %s AND deleted_at IS NULL LIMIT 200",
                (CITY,),
            )
        ]
        L = "/workbench/parcels"
        scenarios: list[tuple[str, Callable[[], object], str, Callable[[], object] | None]] = [
            (
                "list, filters, first page",
                page(f"{L}?{FILTERS}"),
                "bare SELECT of the page",
                bare(rows_sql, {**params, "off": 0}),
            ),
            (
                "list, filters, middle page",
                page(f"{L}?{FILTERS}&offset={mid_f}"),
                "bare SELECT of the page",
                bare(rows_sql, {**params, "off": mid_f}),
            ),
            (
                "list, filters, last page",
                page(f"{L}?{FILTERS}&offset={last_f}"),
                "bare SELECT of the page",
                bare(rows_sql, {**params, "off": last_f}),
            ),
            (
                "list, filters, by area, first",
                page(f"{L}?{FILTERS}&sort=area&desc=1"),
                "bare count(*) of the set",
                bare(f"SELECT count(*) FROM landmatch.parcel p WHERE {BARE_FILTER}", params),
            ),
            (
                "list, filters, by area, last",
                page(f"{L}?{FILTERS}&sort=area&desc=1&offset={last_f}"),
                "",
                None,
            ),
            (
                "list, whole city, first page",
                page(L),
                "JSON API, same rows",
                api_get(f"/api/parcels?city={CITY}&limit=50&offset=0"),
            ),
            (
                "list, whole city, last page",
                page(f"{L}?offset={last_c}"),
                "JSON API, same rows",
                api_get(f"/api/parcels?city={CITY}&limit=50&offset={last_c}"),
            ),
            (
                "list, whole city, last (bare)",
                page(f"{L}?offset={last_c}"),
                "bare SELECT of the page",
                bare(city_sql, {"city": CITY, "off": last_c}),
            ),
        ]
        print(
            f"\n{'scenario':32} {'p50 ms':>8} {'p95 ms':>8}   {'baseline':34} {'p50 ms':>8} "
            f"{'p95 ms':>8}"
        )

        def report(
            name: str,
            fn: Callable[[], object],
            bname: str = "",
            bfn: Callable[[], object] | None = None,
            n: int = args.n,
        ) -> None:
            try:
                r = timed(fn, n)
                line = f"{name:32} {r['p50']:8.1f} {r['p95']:8.1f}"
            except Exception as exc:  # noqa: BLE001 - a failed scenario is reported, not fatal
                line = f"{name:32} failed: {str(exc)[:60]}"
            if bfn is not None:
                b = timed(bfn, n)
                line += f"   {bname:34} {b['p50']:8.1f} {b['p95']:8.1f}"
            print(line, flush=True)

        if "list" in sections:
            for name, fn, bname, bfn in scenarios:
                report(name, fn, bname, bfn)
        if "imports" in sections:
            job = import_job(web, base, IMPORT_ROWS)
            line_sql = (
                "SELECT row_no, code, action, field, reason FROM landmatch.import_job_line "
                "WHERE job_id = %(job)s ORDER BY seq LIMIT 100 OFFSET %(off)s"
            )
            lines_n = conn.execute(
                "SELECT count(*) FROM landmatch.import_job_line WHERE job_id = %s", (job,)
            ).fetchone()[0]  # type: ignore[index]
            last_l = (lines_n - 1) // 100 * 100
            J = f"/workbench/imports/{job}"
            report(
                f"dry-run report ({IMPORT_ROWS:,} rows), first",
                page(J),
                "bare SELECT of the page's lines",
                bare(line_sql, {"job": job, "off": 0}),
            )
            report(
                "dry-run report, last page",
                page(f"{J}?offset={last_l}"),
                "bare SELECT (OFFSET)",
                bare(line_sql, {"job": job, "off": last_l}),
            )
            report("dry-run report, filtered", page(f"{J}?action=created&q=BENCH-4"))
        if "ops" in sections:
            ops(web, api, conn, page, api_get, report)
        if "policies" in sections:
            policy_import(web, api, base, report)
        if "list" in sections:
            parcel_paths = iter(rng.choice(sample) for _ in range(10**6))
            report(
                "parcel page",
                lambda: page(f"{L}/{next(parcel_paths)}")(),
                "JSON API GET /api/parcels/{code}",
                lambda: api_get(f"/api/parcels/{rng.choice(sample)}")(),
            )
            hist = iter(rng.choice(codes) for _ in range(10**6))
            report(
                "history page (6+ versions)",
                lambda: page(f"{L}/{next(hist)}/history")(),
                "JSON API GET …/history",
                lambda: api_get(f"/api/parcels/{rng.choice(codes)}/history")(),
            )
            report("home page", page("/workbench"))
            report("edit form", lambda: page(f"{L}/{next(parcel_paths)}/edit")())
            report("boundary editor", lambda: page(f"{L}/{next(parcel_paths)}/boundary")())
            # The QA flags read every parcel of the city (spatial checks): measured a few
            # times, uncached (max age 0 is not reachable from outside: the first call after
            # a restart).
            report("QA card (first, then cached)", page("/workbench/parcels-qa"), n=3)
            report("list, QA filter ready_checklist", page(f"{L}?qa=ready_checklist"), n=5)
            report("list, QA filter in_exclusion", page(f"{L}?qa=in_exclusion"), n=2)
        print(f"\nload average at end: {load()}")
    finally:
        server.terminate()
        server.wait(timeout=20)
        conn.close()


if __name__ == "__main__":
    main()
