"""The ``landmatch`` command."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from landmatch.cli.imports import register as register_imports
from landmatch.cli.layers import register as register_layers
from landmatch.cli.monitoring import idle_scan
from landmatch.cli.users import users_app
from landmatch.errors import LandMatchError

app = typer.Typer(
    help="landmatch：河北省熟地清单与项目选址匹配系统 / Hebei ready-land inventory and site matching.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
register_imports(app)
register_layers(app)
app.command("idle-scan")(idle_scan)

console = Console()
err = Console(stderr=True)


def _settings():  # type: ignore[no-untyped-def]
    from landmatch.settings import get_settings

    return get_settings()


def _engine():  # type: ignore[no-untyped-def]
    from landmatch.db.engine import job_engine

    return job_engine(_settings())


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or migrate the schema to the latest version (installs PostGIS if needed)."""
    from landmatch.db.engine import upgrade

    upgrade(_settings().database_url, revision)
    console.print("[green]数据库结构已是最新 / schema is up to date[/green]")


@db_app.command("settle")
def db_settle() -> None:
    """Compute the derived data still queued (new parcels' facts, map cells): what a large
    import settles after its commit, should the process have stopped before it finished."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from landmatch.db.derived import drain, pending

    engine = _engine()
    with engine.connect() as conn:
        waiting = pending(conn)
    if not waiting["facts"] and not waiting["cells"]:
        console.print("没有待更新的派生数据 / nothing queued")
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("更新匹配与地图数据 settling", total=waiting["facts"] or 1)
        done = drain(engine, progress=lambda d, t: bar.update(task, completed=d, total=t))
    console.print(
        f"已更新 {done['facts']} 个地块的区位事实、{done['cells']} 条地图汇总变更 / settled"
    )


def _bar(label: str):  # type: ignore[no-untyped-def]
    """A progress bar for a long command, and the callback that moves it."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(label, total=None)
    return bar, lambda done, total: bar.update(task, completed=done, total=total)


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="Backup file to write (pg_dump custom format).")],
) -> None:
    """Back up the whole landmatch schema (parcels with their history, zones, policies, layers,
    users, projects) to FILE with pg_dump."""
    from landmatch.db.backup import backup

    bar, progress = _bar("备份 backing up")
    with bar:
        revision = backup(_settings().database_url, file, progress)
    size = file.stat().st_size / 1024 / 1024
    console.print(f"[green]已备份[/green]到 {file}（{size:,.1f} MB，数据结构版本 {revision}）")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="Backup file written by landmatch db backup.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the database's landmatch data with FILE, in one transaction (a failure changes
    nothing). Refuses a backup of another schema revision. Stop the servers first."""
    from landmatch.db.backup import dump_revision, restore

    revision = dump_revision(file)
    if not yes:
        typer.confirm(
            f"将用 {file}（数据结构版本 {revision}）替换当前数据库中的全部 landmatch 数据，继续吗？",
            abort=True,
        )
    bar, progress = _bar("恢复 restoring")
    with bar:
        restore(_settings().database_url, file, progress)
    console.print(f"[green]已恢复[/green] {file}（数据结构版本 {revision}）")


@app.command()
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

    try:
        ref = dt.date.fromisoformat(as_of)
    except ValueError:
        raise typer.BadParameter(
            f"日期格式应为 YYYY-MM-DD：{as_of}", param_hint="--as-of"
        ) from None
    engine = _engine()
    if if_empty:
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar():
                console.print("已有地块数据，跳过初始化 / parcels exist, nothing to do")
                return
    t0 = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}
        labels = {
            "place": "生成地块 placing",
            "load": "写入数据库 loading",
            "history": "写入历史 history",
            "monitoring": "监测演示数据 monitoring",
            "facts": "计算地块事实 facts",
        }

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done)

        with engine.begin() as conn:
            if reset:
                reset_db(conn)
            report = run_seed(conn, n=parcels, seed_value=seed_value, as_of=ref, progress=progress)
        t_vacuum = time.perf_counter()
        # The seed analysed parcel and parcel_fact; VACUUM sets the visibility map so the
        # match index is read index-only.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
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


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=32, help="Worker processes (one per core; each keeps its own tile cache)."
        ),
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve the API and the maps."""
    import uvicorn

    s = _settings()
    uvicorn.run(
        "landmatch.api.main:app",
        host=host or s.host,
        port=port or s.port,
        workers=workers,
        log_level="info",
        access_log=access_log,
    )


from landmatch.cli.match import match_command  # noqa: E402

app.command("match")(match_command)


def main() -> None:
    """Entry point: domain errors become a plain message and a non-zero exit."""
    try:
        app()
    except LandMatchError as exc:
        err.print(f"[red]错误[/red]：{exc.message}")
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - last resort: never a traceback for users
        from landmatch.db.failures import as_domain_error, schema_behind, unavailable

        if unavailable(exc) and not isinstance(exc, LandMatchError):
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
            err.print(f"[red]错误[/red]：无法连接数据库（LANDMATCH_DATABASE_URL）：{reason}")
            sys.exit(3)
        known = as_domain_error(exc)
        if known is not None:
            err.print(f"[red]错误[/red]：{known.message}")
            sys.exit(3 if schema_behind(exc) else 2)
        err.print(f"[red]内部错误[/red]：{type(exc).__name__}: {exc}")
        sys.exit(1)
