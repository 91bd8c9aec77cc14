"""Benchmark: import N parcels from a GeoPackage with full validation vs ``ogr2ogr`` (the floor).

Usage: PYTHONPATH=. python scripts/bench_import.py [--parcels 100000] [--repeat 3]
                                                   [--db lm_inventory_bench] [--pg URL]

Creates (or reuses) a scratch database, loads the reference layers once, writes a GeoPackage of
synthetic parcels inside Hebei's cities, then, ``--repeat`` times each, in the same run:

1. ``ogr2ogr`` loads the file into a scratch table of the same database (the floor);
2. ``landmatch`` imports it into the emptied inventory: read, validate, write the parcels and
   their versions in one transaction (``import``), then settle their derived data — spatial
   facts and low-zoom map cells — in transactions of its own right after (``settle``), as
   ``landmatch import`` does for a large file;
3. ``landmatch`` imports the same file again: every row is compared and found unchanged;
4. for scale, the floor of the parcel table itself: the imported rows copied server-side
   (``INSERT … SELECT``, no parsing, no validation, no history or derived data) into an empty
   copy of ``landmatch.parcel`` with the same indexes, constraints and generated columns.

Prints the median of each with the ratios to the ogr2ogr median.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import create_engine, make_url, text

from landmatch.auth import Principal
from landmatch.db.derived import drain
from landmatch.db.engine import upgrade
from landmatch.inventory.imports import ImportOptions, load_regions, run_import
from landmatch.inventory.validate import planar_area_m2


def make_gpkg(path: Path, n: int, regions, seed: int = 1) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    cities: list[np.ndarray] = []
    while sum(map(len, xs)) < n:
        x = rng.uniform(113.5, 119.8, n)
        y = rng.uniform(36.1, 42.6, n)
        c = regions.city_of(shapely.points(x, y))
        ok = c != ""
        xs.append(x[ok])
        ys.append(y[ok])
        cities.append(c[ok])
    x, y, city = (np.concatenate(a)[:n] for a in (xs, ys, cities))
    w = rng.uniform(0.0008, 0.003, n)
    h = rng.uniform(0.0008, 0.003, n)
    geoms = shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
    inside = regions.inside_province(geoms)
    geoms, city = geoms[inside], city[inside]
    m = len(geoms)
    status = rng.choice(["ready", "unsupplied", "idle"], m)
    gdf = gpd.GeoDataFrame(
        {
            "地块编号": [f"B-{i:07d}" for i in range(m)],
            "地块名称": [f"基准地块{i}" for i in range(m)],
            "城市代码": city,
            "用途": rng.choice(["100101", "100102", "二类工业用地", "110101"], m),
            "状态": status,
            "容积率下限": rng.choice([0.8, 1.0, 1.2], m),
            "容积率上限": rng.choice([2.0, 2.5, 3.0], m),
            "参考价格(万元/亩)": np.round(rng.uniform(10, 60, m), 1),
            "供电容量(kVA)": np.round(rng.uniform(500, 20000, m)),
            "供电数据日期": ["2025-06-01"] * m,
            "供地方式": rng.choice(["auction", "auction,flexible_term"], m),
            "面积(亩)": np.round(planar_area_m2(geoms) / (10000 / 15), 2),
        },
        geometry=geoms,
        crs="EPSG:4490",
    )
    gdf.to_file(path, driver="GPKG", layer="parcels", engine="pyogrio")


def _empty_inventory(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE landmatch.parcel_version, landmatch.parcel, "
                "landmatch.import_batch RESTART IDENTITY CASCADE"
            )
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("VACUUM landmatch.parcel_fact, landmatch.parcel_cell"))


def _import(engine, data: bytes) -> tuple[float, dict]:  # type: ignore[no-untyped-def,type-arg]
    t = time.perf_counter()
    with engine.begin() as conn:
        report = run_import(
            conn,
            data,
            "bench.gpkg",
            Principal(name="bench", role="admin"),
            ImportOptions(max_rows=10**6),
        )
    return time.perf_counter() - t, report


def _table_floor(engine) -> float:  # type: ignore[no-untyped-def]
    """Seconds to insert the stored parcels into an empty copy of the table (same indexes,
    CHECKs and generated geometry columns), server-side, rolled back."""
    with engine.connect() as conn:
        conn.execute(text("DROP TABLE IF EXISTS scratch.parcel_floor"))
        conn.execute(
            text(
                "CREATE TABLE scratch.parcel_floor (LIKE landmatch.parcel INCLUDING DEFAULTS "
                "INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING GENERATED)"
            )
        )
        conn.commit()
        cols = conn.execute(
            text(
                "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
                "WHERE attrelid = 'landmatch.parcel'::regclass AND attnum > 0 "
                "AND NOT attisdropped AND attname NOT IN ('id', 'geom_3857', 'area_m2')"
            )
        ).scalar_one()
        t = time.perf_counter()
        conn.execute(
            text(f"INSERT INTO scratch.parcel_floor ({cols}) SELECT {cols} FROM landmatch.parcel")
        )
        took = time.perf_counter() - t
        conn.rollback()
        conn.execute(text("DROP TABLE scratch.parcel_floor"))
        conn.commit()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--db", default="lm_inventory_bench", help="created if missing")
    ap.add_argument("--pg", default="postgresql+psycopg://root@127.0.0.1:5432", help="server")
    args = ap.parse_args()
    server = make_url(args.pg)
    conn_args = ["-h", server.host or "127.0.0.1", "-p", str(server.port or 5432)]
    conn_args += ["-U", server.username] if server.username else []
    subprocess.run(["createdb", *conn_args, args.db], capture_output=True)
    url = server.set(drivername="postgresql+psycopg", database=args.db).render_as_string(
        hide_password=False
    )
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        if not conn.execute(text("SELECT count(*) FROM landmatch.admin_division")).scalar():
            from landmatch.seed.run import seed

            seed(conn, n=10)  # layers; the parcels are truncated below
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS scratch"))
        regions = load_regions(conn)
    t_ogr, t_imp, t_settle, t_again, t_table = [], [], [], [], []
    with tempfile.TemporaryDirectory() as d:
        gpkg = Path(d) / "bench.gpkg"
        t = time.perf_counter()
        make_gpkg(gpkg, args.parcels, regions)
        print(
            f"generated {gpkg.stat().st_size / 1e6:.1f} MB GeoPackage in {time.perf_counter() - t:.1f} s"
        )
        data = gpkg.read_bytes()
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run(
                [
                    "ogr2ogr",
                    "-f",
                    "PostgreSQL",
                    f"PG:host=127.0.0.1 dbname={args.db} user=root",
                    str(gpkg),
                    "-nln",
                    "scratch.ogr_parcels",
                    "-overwrite",
                ],
                check=True,
                capture_output=True,
            )
            t_ogr.append(time.perf_counter() - t)

            _empty_inventory(engine)
            took, report = _import(engine, data)
            t_imp.append(took)
            t = time.perf_counter()
            settled = drain(engine) if report.get("derived") == "pending" else {"facts": 0}
            t_settle.append(time.perf_counter() - t)

            took, again = _import(engine, data)
            t_again.append(took)
            t_table.append(_table_floor(engine))
    with engine.connect() as conn:
        n_ogr = conn.execute(text("SELECT count(*) FROM scratch.ogr_parcels")).scalar()
        n_lm = conn.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar()
        n_v = conn.execute(text("SELECT count(*) FROM landmatch.parcel_version")).scalar()
        n_f = conn.execute(
            text("SELECT count(*) FROM landmatch.parcel_fact WHERE constraint_hits IS NOT NULL")
        ).scalar()
    ogr, imp, settle, again_t, table = (
        statistics.median(x) for x in (t_ogr, t_imp, t_settle, t_again, t_table)
    )
    runs = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    print(
        f"runs: {args.repeat} (medians below; every run: ogr2ogr {runs(t_ogr)} | import "
        f"{runs(t_imp)} | settle {runs(t_settle)} | re-import {runs(t_again)})"
    )
    print(f"ogr2ogr (floor)          : {n_ogr} rows in {ogr:.2f} s")
    print(
        f"landmatch import         : {n_lm} rows ({report['totals']['created']} created, "
        f"{len(report['warnings'])} warnings) in {imp:.2f} s  → {imp / ogr:.2f}x ogr2ogr "
        "(target <= 3x)"
    )
    print(
        f"  then settle            : {settled['facts']} parcels' facts and map cells in "
        f"{settle:.2f} s  → import + settle {(imp + settle) / ogr:.2f}x ogr2ogr"
    )
    print(
        f"landmatch re-import      : {again['totals']['unchanged']} unchanged in {again_t:.2f} s"
        f"  → {again_t / ogr:.2f}x ogr2ogr"
    )
    print(
        f"parcel table floor       : the same rows into an empty copy of the table "
        f"(indexes, checks, derived geometry; nothing else) in {table:.2f} s  → {table / ogr:.2f}x"
    )
    print(f"stored: {n_v} versions (one per parcel: nothing changed on re-import), {n_f} facts")


if __name__ == "__main__":
    main()
