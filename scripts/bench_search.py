#!/usr/bin/env python
"""Benchmark the map's search box (``GET /api/search``) on a large inventory.

    PYTHONPATH=. .venv/bin/python scripts/bench_search.py --db lm_1m [--repeat 5] [--terms 正定,工业]

For each search text, through the real application in process (public, as the map asks), the
median time of ``--repeat`` searches after one warm-up; and, in the same run on the same
database, the baseline: the parcel hits asked in one statement that ranks every holder at once
(the form before migration 0038_search_bigrams, with today's rule for what is looked for
inside codes, on today's indexes), with a check that both give the same parcels in the same
order. Texts: codes (exact, prefix, inside), two- and three-character place and road names,
single characters, a text nothing holds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from sqlalchemy import create_engine, text

from landmatch.db.like import contains_pattern, escape_like
from landmatch.db.mapdata import has_trigram_run
from landmatch.db.parcels import PUBLIC_WHERE

TERMS = (
    "130",
    "1301",
    "正定",
    "工业",
    "物流",
    "魏县",
    "曹妃甸",
    "纬三路",
    "工业路",
    "黄河大道",
    "023",
    "①②③",
    "赞皇县纬三路",
    "路",
    "魏",
    "0-0",
    "2023-01",
    "鑫",
    "不存在的地名",
)

ALL_AT_ONCE = f"""
SELECT p.code FROM landmatch.parcel p
 WHERE {PUBLIC_WHERE} AND (p.code ILIKE :prefix OR (:inside AND p.code ILIKE :like)
                           OR p.name ILIKE :like OR p.address ILIKE :like)
 ORDER BY CASE WHEN p.code = :q THEN 0 WHEN p.code ILIKE :prefix THEN 1
               WHEN :inside AND p.code ILIKE :like THEN 2 ELSE 3 END, p.code
 LIMIT 10
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", default="postgresql+psycopg://root@127.0.0.1:5432")
    ap.add_argument("--db", default="lm_1m")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--terms", default=",".join(TERMS))
    args = ap.parse_args()
    url = f"{args.pg}/{args.db}"

    from fastapi.testclient import TestClient

    from landmatch.api.app import create_app
    from landmatch.settings import load_settings

    app = create_app(load_settings(database_url=url))
    engine = create_engine(url)
    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar_one()
    print(f"{args.db}: {n:,} parcels; load average {os.getloadavg()[0]:.1f}")
    print(f"{'text':12} {'search p50':>11} {'baseline p50':>13} {'ratio':>7}  hits  same")
    rows: list[tuple[str, float, float]] = []
    with TestClient(app) as client, engine.connect() as c:
        c.execute(text("SET plan_cache_mode = force_custom_plan"))
        for q in args.terms.split(","):
            params = {
                "q": q,
                "like": contains_pattern(q),
                "prefix": escape_like(q) + "%",
                "inside": has_trigram_run(q),  # codes are searched inside
            }

            def search(q: str = q) -> list[dict[str, Any]]:
                r = client.get("/api/search", params={"q": q})
                assert r.status_code == 200, r.text
                return [h for h in r.json()["results"] if h["kind"] == "parcel"]

            def baseline(params: dict[str, str] = params) -> list[str]:
                return list(c.execute(text(ALL_AT_ONCE), params).scalars())

            hits, base = search(), baseline()
            ts, bs = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                search()
                ts.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                baseline()
                bs.append((time.perf_counter() - t) * 1000)
            s, b = statistics.median(ts), statistics.median(bs)
            same = [h["code"] for h in hits] == base
            rows.append((q, s, b))
            print(f"{q:12} {s:9.1f} ms {b:10.1f} ms {b / s:6.1f}×  {len(hits):4}  {same}")
    print(f"load average now {os.getloadavg()[0]:.1f}")
    print("\n| text | search p50 | baseline p50 | baseline ÷ search |\n|---|---|---|---|")
    for q, s, b in rows:
        print(f"| {q} | {s:.1f} ms | {b:.1f} ms | {b / s:.1f}× |")
    engine.dispose()


if __name__ == "__main__":
    main()
