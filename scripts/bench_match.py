#!/usr/bin/env python
"""Benchmark ``POST /api/match`` end to end against two naive baselines.

For each database given (e.g. 10k, 100k and 1M seeded parcels, with ``parcel_fact`` filled),
five representative projects are matched through the real application in-process (ASGI
TestClient, a promoter's token), ``--repeat`` times each after one warm-up. Printed: p50 and
p95 of the end-to-end time, and the engine's own candidate-query time (from the response).

Baselines, measured in the same run on the same data:

- ``geopandas``: every request loads every live parcel (geometry and facts) with
  ``geopandas.read_postgis`` and filters/scores it in pandas;
- ``pandas``: the same filtering and scoring on a table loaded once and held in memory.

And the engine against its own reference path, alternating in the same run: the ranking
pruned by bounds (``Plan.select_top``, what a match runs on a large scope) beside the plain
query that scores every passing parcel (``prune=False``), for the ranking alone and for the
whole match (``run_match``, not stored); both must return the same ranking.

The engine comparison also times ``ENGINE_ONLY``'s request (the province-wide one stating the
control indicators, which the naive baselines do not implement).

``--engine-only`` stops after that comparison, ``--projects 食品,汽车`` picks projects, and
``--pg URL --db NAME`` (repeatable) names databases on a server instead of full URLs.

Usage::

    python scripts/bench_match.py postgresql+psycopg://root@127.0.0.1:5432/lm_match_10k ...
        [--repeat 20] [--gpd-repeat 2] [--pages-only]

The promoters' project page and results page (#15) are timed the same way, signed in as a
promoter, and printed beside the engine's figures; ``--pages-only`` skips the two baselines
(the geopandas one loads every parcel per request: minutes and gigabytes at 1,000,000). The
script writes (a user, a project, its match runs, removed afterwards): run it on a copy.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd

PROJECTS: dict[str, dict[str, Any]] = {
    "汽车零部件（石家庄/保定）": {
        "industry": "36",
        "area_mu_min": 50,
        "area_mu_max": 120,
        "investment_wan": 30000,
        "annual_tax_wan": 1500,
        "utilities": {"power_kva": 5000},
        "budget": {"max_wan_per_mu": 45},
        "location": {"cities": ["130100", "130600"]},
        "proximity": [{"kind": "highway_interchange", "max_km": 15, "hard": True}],
        "top": 20,
    },
    "物流枢纽（廊坊/沧州）": {
        "industry": "59",
        "area_mu_min": 100,
        "area_mu_max": 300,
        "preset": "logistics",
        "location": {"cities": ["131000", "130900"]},
        "supply_modes": ["auction", "long_lease"],
        "proximity": [
            {"kind": "highway_interchange", "max_km": 10, "hard": True},
            {"kind": "logistics_hub", "max_km": 60},
        ],
        "top": 20,
    },
    "化工新材料（沧州/唐山，含即将可供）": {
        "industry": "26",
        "area_mu_min": 150,
        "area_mu_max": 500,
        "preset": "chemicals",
        "utilities": {"gas_m3d": 10000},
        "location": {"cities": ["130900", "130200"]},
        "proximity": [{"kind": "port", "max_km": 80, "hard": True}],
        "include_coming": True,
        "top": 20,
    },
    "电子信息研发（国家级园区）": {
        "industry": "39",
        "area_mu_min": 20,
        "area_mu_max": 60,
        "preset": "high_tech",
        "investment_wan": 20000,
        "utilities": {"need_5g": True, "need_fibre": True},
        "location": {"zone_levels": ["national"]},
        "top": 20,
    },
    "食品加工（全省）": {
        "industry": "14",
        "area_mu_min": 30,
        "area_mu_max": 80,
        "budget": {"max_total_wan": 3000},
        "top": 20,
    },
}
# Timed by the engine comparison only (the naive baselines do not implement the control
# indicators): the province-wide request stating the planned 容积率, 建筑系数, 绿地率 and
# 行政办公比例, each read from the match indexes (migration 0045_fact_control).
ENGINE_ONLY: dict[str, dict[str, Any]] = {
    "食品加工（全省，控制指标）": {
        **PROJECTS["食品加工（全省）"],
        "planned_far": 1.2,
        "planned_building_coeff_pct": 40,
        "planned_green_ratio_pct": 15,
        "planned_admin_ratio_pct": 5,
    },
}


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


def backend_cpu_ms(pid: int) -> float | None:
    """CPU time (user + system) the database backend ``pid`` has used so far, from /proc when
    the server runs on this machine (None otherwise); clock-tick resolution (10 ms), so read
    it over many matches."""
    import os

    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def bench_engine(url: str, repeat: int, projects: dict[str, dict[str, Any]]) -> None:
    """Pruned vs plain ranking, and whole matches with each, alternating per request (the same
    load for both); prints medians, p95 and the ratio plain / pruned."""
    import datetime as dt

    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from landmatch.auth import Principal
    from landmatch.match.engine import _ranked, run_match
    from landmatch.match.plan import Plan
    from landmatch.match.reference import data_version, load_reference
    from landmatch.match.requirements import Requirement

    engine = create_engine(url)
    who = Principal(name="bench", role="promoter")
    today = dt.date.today()
    print(
        "  engine (in process): ranking pruned vs plain, then the whole match (not stored)",
        flush=True,
    )
    with Session(engine) as s:
        s.execute(text("SET jit = off"))
        backend = int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())
        ref = load_reference(s, data_version(s))
        for label, body in projects.items():
            req = Requirement.model_validate(body)
            plan = Plan(s, req, False, ref, today, 365)
            t: dict[str, list[float]] = {"rank1": [], "rank0": [], "run1": [], "run0": []}
            cpu = {"db1": 0.0, "db0": 0.0, "py1": 0.0, "py0": 0.0}
            same = True
            passed = 0
            for i in range(repeat + 1):
                for prune in (True, False) if i % 2 else (False, True):
                    t0 = time.perf_counter()
                    ranked, passed = _ranked(s, plan, req.top, prune=prune)
                    dt_rank = (time.perf_counter() - t0) * 1000
                    db0, py0 = backend_cpu_ms(backend), time.process_time()
                    t0 = time.perf_counter()
                    res = run_match(s, req, who, store=False, today=today, prune=prune)
                    dt_run = (time.perf_counter() - t0) * 1000
                    py1, db1 = time.process_time(), backend_cpu_ms(backend)
                    if i:  # the first round warms caches
                        t[f"rank{int(prune)}"].append(dt_rank)
                        t[f"run{int(prune)}"].append(dt_run)
                        cpu[f"py{int(prune)}"] += (py1 - py0) * 1000 / repeat
                        if db0 is not None and db1 is not None:
                            cpu[f"db{int(prune)}"] += (db1 - db0) / repeat
                    ids = [f["id"] for f in res["features"]]
                    if prune:
                        ids_pruned = ids
                    else:
                        same = same and ids == ids_pruned if i else same
            r1, r0 = statistics.median(t["rank1"]), statistics.median(t["rank0"])
            m1, m0 = statistics.median(t["run1"]), statistics.median(t["run0"])
            print(
                f"  {label:<22} passing {passed:>7}  ranking pruned p50 {r1:6.1f} "
                f"p95 {pct(t['rank1'], 95):6.1f}  plain p50 {r0:6.1f} p95 {pct(t['rank0'], 95):6.1f}"
                f"  ×{r0 / r1:4.2f} | match pruned p50 {m1:6.1f} p95 {pct(t['run1'], 95):6.1f}  "
                f"plain p50 {m0:6.1f} p95 {pct(t['run0'], 95):6.1f}  ×{m0 / m1:4.2f}  "
                f"same ranking: {same}",
                flush=True,
            )
            print(
                f"    CPU per whole match: pruned database {cpu['db1']:.1f} ms, Python "
                f"{cpu['py1']:.1f} ms; plain database {cpu['db0']:.1f} ms, Python "
                f"{cpu['py0']:.1f} ms (database: the backend's /proc time, 0 when remote)",
                flush=True,
            )
    engine.dispose()


# Naive baselines -------------------------------------------------------------------------

BASE_SQL = """
SELECT p.id, p.code, p.status, p.city_code, p.land_use, p.compatible_uses, p.area_m2,
       p.ref_price_wan_per_mu::float8 AS price, p.invest_intensity_min::float8 AS iim,
       p.tax_per_mu_min::float8 AS tax_min, p.power_kva, p.water_m3d, p.gas_m3d,
       p.telecom_5g, p.fibre, p.supply_modes, p.readiness, p.data_updated_on,
       COALESCE(p.zone_id, f.zone_id) AS zone_id, f.excluded,
       f.dist_port_km, f.dist_highway_interchange_km, f.dist_logistics_hub_km,
       f.dist_rail_freight_km, f.dist_airport_km {geom}
FROM landmatch.parcel p LEFT JOIN landmatch.parcel_fact f ON f.parcel_id = p.id
WHERE p.deleted_at IS NULL
"""


def pandas_match(
    df: pd.DataFrame, req: Any, zone_levels: dict[int, str], today: pd.Timestamp
) -> pd.DataFrame:
    """Filter and score the way a straightforward pandas implementation would."""
    from landmatch.match.rules import allowed_land_uses

    amu = df["area_m2"] / (10000 / 15)
    m = df["status"].isin(req.statuses)
    loc = req.location
    if loc.cities:
        m &= df["city_code"].isin(loc.cities)
    if loc.zone_levels:
        m &= df["zone_id"].map(zone_levels).isin(loc.zone_levels)
    main, compat = allowed_land_uses(req)
    lu_ok = df["land_use"].isin(main)
    if compat:
        lu_ok |= df["land_use"].str.startswith("1001") & df["compatible_uses"].apply(
            lambda c: bool(set(c or []) & set(compat))
        )
    m &= lu_ok
    if req.area_mu_min is not None:
        m &= amu >= req.area_mu_min
    if req.area_mu_max is not None:
        m &= amu <= req.area_mu_max
    if req.investment_wan is not None:
        m &= df["iim"].isna() | (df["iim"] * amu <= req.investment_wan)
    if req.annual_tax_wan is not None:
        m &= df["tax_min"].isna() | (df["tax_min"] * amu <= req.annual_tax_wan)
    for col, need in (("power_kva", req.utilities.power_kva), ("gas_m3d", req.utilities.gas_m3d)):
        if need is not None:
            m &= df[col].isna() | (df[col] >= need)
    if req.utilities.need_5g:
        m &= df["telecom_5g"].ne(False)
    m &= df["excluded"].ne(True)
    if req.budget.max_wan_per_mu is not None:
        m &= df["price"].isna() | (df["price"] <= req.budget.max_wan_per_mu)
    if req.budget.max_total_wan is not None:
        m &= df["price"].isna() | (df["price"] * amu <= req.budget.max_total_wan)
    if req.supply_modes:
        m &= df["supply_modes"].apply(lambda s: bool(set(s or []) & set(req.supply_modes)))
    for p in req.proximity:
        if p.hard:
            m &= df[f"dist_{p.kind}_km"] <= p.max_km
    fails = {"area": int((~(amu >= (req.area_mu_min or 0))).sum())}  # a why-not count
    c = df[m].copy()
    a = amu[m]
    lo, hi = req.area_mu_min or 0, req.area_mu_max or 2 * (req.area_mu_min or 1)
    mid, half = (lo + hi) / 2, max((hi - lo) / 2, 1e-6)
    s_area = np.where(a.between(lo, hi), 1 - 0.3 * (a - mid).abs() / half, 0.5)
    dist = np.zeros(len(c))
    kinds = req.distance_interest
    for k, mx in kinds:
        dist += np.clip(1 - c[f"dist_{k}_km"].fillna(1e9) / (2 * mx), 0, 1)
    s_dist = dist / max(len(kinds), 1)
    s_price = np.clip(1 - c["price"].fillna(1e9) / 100.0, 0, 1)
    s_ready = c["readiness"].apply(len) / 8.0
    age = (today - pd.to_datetime(c["data_updated_on"])).dt.days.fillna(1e9)
    s_fresh = np.clip(1 - age / 730.0, 0, 1)
    w = req.effective_weights
    total = (
        (
            w["area_fit"] * s_area
            + w["distance"] * s_dist
            + w["price"] * s_price
            + w["readiness"] * s_ready
            + w["freshness"] * s_fresh
        )
        * 100
        / sum(w.values())
    )
    c["score"] = total
    c.attrs["fails"] = fails
    return c.sort_values(["score", "code"], ascending=[False, True]).head(req.top)


def bench_db(url: str, repeat: int, gpd_repeat: int, baselines: bool = True) -> dict[str, Any]:
    import geopandas as gpd
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    from landmatch.accounts.users import add_user
    from landmatch.api.app import create_app
    from landmatch.db.engine import session_factory
    from landmatch.match.requirements import Requirement
    from landmatch.settings import load_settings

    settings = load_settings(database_url=url)
    app = create_app(settings)
    engine = create_engine(url)
    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar_one()
        n_facts = c.execute(text("SELECT count(*) FROM landmatch.parcel_fact")).scalar_one()
        zone_levels: dict[int, str] = dict(
            c.execute(text("SELECT id, level FROM landmatch.dev_zone")).tuples().all()
        )
    if n_facts < n:
        print(f"  ! parcel_fact has {n_facts} of {n} rows: run refresh_facts first")
    name = f"bench-{int(time.time() * 1000)}"
    with session_factory(engine).begin() as s:
        token = add_user(s, name, "promoter")
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {"parcels": n, "projects": {}}
    all_e2e: list[float] = []
    all_cand: list[float] = []
    with TestClient(app) as client:
        for label, body in PROJECTS.items():
            client.post("/api/match", json=body, headers=headers)  # warm caches
            e2e, cand = [], []
            for _ in range(repeat):
                t = time.perf_counter()
                r = client.post("/api/match", json=body, headers=headers)
                e2e.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
                cand.append(r.json()["timing_ms"]["candidate_query"])
            res = r.json()
            out["projects"][label] = {
                "p50": statistics.median(e2e),
                "p95": pct(e2e, 95),
                "cand_p50": statistics.median(cand),
                "cand_p95": pct(cand, 95),
                "returned": res["numberReturned"],
                "considered": res["why_not"]["considered"],
                "passed": res["why_not"]["passed"],
            }
            all_e2e += e2e
            all_cand += cand
    out["p50"], out["p95"] = statistics.median(all_e2e), pct(all_e2e, 95)
    out["cand_p50"], out["cand_p95"] = statistics.median(all_cand), pct(all_cand, 95)
    out["pages"] = bench_pages(app, engine, repeat)
    if not baselines:  # --pages-only: the engine and the pages, no pandas/geopandas runs
        with session_factory(engine).begin() as s:
            s.execute(text("DELETE FROM landmatch.app_user WHERE name = :n"), {"n": name})
        engine.dispose()
        return out

    reqs = [Requirement.model_validate(b) for b in PROJECTS.values()]
    today = pd.Timestamp.today().normalize()
    # Baseline 2: pandas on a table held in memory (load once, not timed per request).
    t = time.perf_counter()
    with engine.connect() as c:
        df = pd.read_sql(text(BASE_SQL.format(geom="")), c)
    load_s = time.perf_counter() - t
    pd_times = []
    for _ in range(max(1, repeat // 4)):
        for req in reqs:
            t = time.perf_counter()
            pandas_match(df, req, zone_levels, today)
            pd_times.append((time.perf_counter() - t) * 1000)
    del df
    out["pandas_p50"], out["pandas_p95"] = statistics.median(pd_times), pct(pd_times, 95)
    out["pandas_load_s"] = load_s
    # Baseline 1: geopandas loading every parcel for each request.
    gpd_times = []
    for i in range(gpd_repeat):
        req = reqs[i % len(reqs)]
        t = time.perf_counter()
        with engine.connect() as c:
            gdf = gpd.read_postgis(text(BASE_SQL.format(geom=", p.geom")), c, geom_col="geom")
        pandas_match(gdf, req, zone_levels, today)
        gpd_times.append((time.perf_counter() - t) * 1000)
        del gdf
    out["gpd_p50"], out["gpd_p95"] = statistics.median(gpd_times), pct(gpd_times, 95)
    with session_factory(engine).begin() as s:  # tidy up the bench user
        s.execute(text("DELETE FROM landmatch.app_user WHERE name = :n"), {"n": name})
    engine.dispose()
    return out


def bench_pages(app: Any, engine: Any, repeat: int) -> dict[str, dict[str, float]]:
    """The promoters' workbench pages (#15): a project page and its results page, server time
    through the app, signed in through the form as a promoter of a team."""
    import re

    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from landmatch.accounts import users
    from landmatch.auth import Principal
    from landmatch.db.engine import session_factory

    name, password = f"bench-page-{int(time.time() * 1000)}", "bench-口令-石家庄-2026"
    with session_factory(engine).begin() as s:
        spec = users.AccountSpec(name, "promoter", None, None, "bench-team")
        users.create(
            s, spec, Principal(name="bench", role="admin"), password=password, min_length=10
        )
        s.execute(
            text("UPDATE landmatch.app_user SET must_change_password = false WHERE name = :n"),
            {"n": name},
        )
    body = next(iter(PROJECTS.values()))
    out: dict[str, dict[str, float]] = {}
    with TestClient(app) as client:
        client.post("/workbench/login", data={"name": name, "password": password, "next": "/"})
        page = client.get("/workbench/projects/new").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        form = {
            "csrf_token": csrf,
            "name": "汽车零部件（bench）",
            "industry": "C3670",
            "area_mu_min": str(body["area_mu_min"]),
            "area_mu_max": str(body["area_mu_max"]),
            "investment_wan": str(body["investment_wan"]),
            "power_kva": str(body["utilities"]["power_kva"]),
            "km_highway_interchange": "15",
            "hard_highway_interchange": "on",
            "cities": body["location"]["cities"],
            "then": "match",
        }
        r = client.post("/workbench/projects/new", data=form, follow_redirects=False)
        results_url = r.headers["location"]
        pid = client.get(results_url).text.split("/workbench/projects/", 1)[1].split('"', 1)[0]
        for label, url in (
            ("project page", f"/workbench/projects/{pid}"),
            ("results page", results_url),
        ):
            client.get(url)  # warm
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                assert client.get(url).status_code == 200
                times.append((time.perf_counter() - t) * 1000)
            out[label] = {"p50": statistics.median(times), "p95": pct(times, 95)}
    with session_factory(engine).begin() as s:
        s.execute(text("DELETE FROM landmatch.project WHERE owner_team = 'bench-team'"))
        s.execute(text("DELETE FROM landmatch.app_user WHERE name = :n"), {"n": name})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("urls", nargs="*", help="Database URLs (seeded, facts filled).")
    ap.add_argument("--pg", default="postgresql+psycopg://root@127.0.0.1:5432", help="server")
    ap.add_argument("--db", action="append", default=[], help="database name on --pg (repeat)")
    ap.add_argument(
        "--engine-only",
        action="store_true",
        help="only the engine's pruned vs plain comparison (no API, pages or pandas baselines)",
    )
    ap.add_argument("--projects", default="", help="comma-separated label prefixes (default all)")
    ap.add_argument("--repeat", type=int, default=20, help="Requests per project.")
    ap.add_argument("--gpd-repeat", type=int, default=2, help="geopandas baseline requests.")
    ap.add_argument(
        "--pages-only",
        action="store_true",
        help="Only the engine and the workbench pages (project, results): no baselines.",
    )
    args = ap.parse_args()
    args.urls = list(args.urls) + [f"{args.pg.rstrip('/')}/{db}" for db in args.db]
    if not args.urls:
        ap.error("give database URLs or --db NAME")
    global PROJECTS
    engine_projects = {**PROJECTS, **ENGINE_ONLY}
    if args.projects:
        wanted = [p.strip() for p in args.projects.split(",") if p.strip()]
        PROJECTS = {k: v for k, v in PROJECTS.items() if any(k.startswith(w) for w in wanted)}
        engine_projects = {
            k: v for k, v in engine_projects.items() if any(k.startswith(w) for w in wanted)
        }
    for url in args.urls:
        print(f"== {url.rsplit('/', 1)[-1]}: the engine, pruned vs plain", flush=True)
        bench_engine(url, args.repeat, engine_projects)
    if args.engine_only:
        return
    results = []
    for url in args.urls:
        print(f"== {url.rsplit('/', 1)[-1]}", flush=True)
        r = bench_db(url, args.repeat, args.gpd_repeat, baselines=not args.pages_only)
        results.append(r)
        for label, p in r["projects"].items():
            print(
                f"  {label:<22} p50 {p['p50']:7.1f} ms  p95 {p['p95']:7.1f} ms  "
                f"candidate p50 {p['cand_p50']:6.2f} ms  p95 {p['cand_p95']:6.2f} ms  "
                f"returned {p['returned']:>3}  considered {p['considered']:>7}  "
                f"passed {p['passed']:>6}",
                flush=True,
            )
        for label, p in r["pages"].items():
            print(
                f"  {label:<22} p50 {p['p50']:7.1f} ms  p95 {p['p95']:7.1f} ms  "
                f"(the engine: /api/match p50 {r['p50']:.1f} ms)",
                flush=True,
            )
    print()
    print("| parcels | page | p50 | p95 | the engine (/api/match) p50 | p95 | page / engine |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        for label, p in r["pages"].items():
            print(
                f"| {r['parcels']:,} | {label} | {p['p50']:.1f} ms | {p['p95']:.1f} ms | "
                f"{r['p50']:.1f} ms | {r['p95']:.1f} ms | {p['p50'] / r['p50']:.2f}× |"
            )
    if args.pages_only:
        return
    print()
    print(
        "| parcels | /api/match p50 | p95 | candidate query p50 | p95 | pandas in memory p50 "
        "| geopandas per request p50 | ratio pandas/engine | ratio geopandas/engine |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['parcels']:,} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | "
            f"{r['cand_p50']:.2f} ms | {r['cand_p95']:.2f} ms | {r['pandas_p50']:.1f} ms | "
            f"{r['gpd_p50']:.0f} ms | {r['pandas_p50'] / r['p50']:.2f}× | "
            f"{r['gpd_p50'] / r['p50']:.0f}× |"
        )


if __name__ == "__main__":
    main()
