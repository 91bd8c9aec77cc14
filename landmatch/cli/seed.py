"""``landmatch seed``: the reference layers and a deterministic demo inventory."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from landmatch.cli.common import console, engine, parse_date, stage_bars


def seed(
    parcels: Annotated[
        int,
        typer.Option("--parcels", min=0, max=5_000_000, help="How many demo parcels to create."),
    ] = 20_000,
    seed_value: Annotated[
        int, typer.Option("--seed", help="Random seed; same seed, same data.")
    ] = 42,
    as_of: Annotated[
        str, typer.Option("--as-of", help="Reference date of the demo data (YYYY-MM-DD).")
    ] = "2026-11-01",
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the existing inventory first.")
    ] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when parcels exist.")
    ] = False,
) -> None:
    """Load the reference layers and a deterministic demo inventory."""
    from sqlalchemy import text

    from landmatch.seed.run import reset as reset_db
    from landmatch.seed.run import seed as run_seed

    ref = parse_date(as_of)
    eng = engine()
    if if_empty:
        with eng.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar():
                console.print("已有地块数据，跳过初始化 / parcels exist, nothing to do")
                return
    t0 = time.perf_counter()
    labels = {
        "place": "生成地块 placing",
        "load": "写入数据库 loading",
        "history": "写入历史 history",
        "monitoring": "监测演示数据 monitoring",
        "facts": "计算地块事实 facts",
    }
    with stage_bars(labels, transient=False) as progress:
        with eng.begin() as conn:
            if reset:
                reset_db(conn)
            report = run_seed(conn, n=parcels, seed_value=seed_value, as_of=ref, progress=progress)
        t_vacuum = time.perf_counter()
        # The seed analysed parcel and parcel_fact; VACUUM sets the visibility map so the
        # match index is read index-only.
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM landmatch.parcel_fact"))
    stages = {**report.timings, "vacuum": time.perf_counter() - t_vacuum}
    console.print(
        "分阶段用时 / seconds per stage: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
    )
    console.print(
        f"[green]完成[/green]：{report.parcels} 宗地块，{report.zones} 个开发区，"
        f"{report.policies} 条政策，{report.facilities} 个设施，{report.constraints} 个管控区，"
        f"{report.admin_divisions} 个行政区划；用时 {time.perf_counter() - t0:.1f} 秒"
    )
