"""``landmatch db …``: the schema, the derived data, backup and restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from landmatch.cli.common import console, engine, progress_bar, settings

app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or migrate the schema to the latest version (installs PostGIS if needed)."""
    from landmatch.db.engine import upgrade

    upgrade(settings().database_url, revision)
    console.print("[green]数据库结构已是最新 / schema is up to date[/green]")


@app.command("settle")
def db_settle() -> None:
    """Compute the derived data still queued (new parcels' facts, map cells): what a large
    import settles after its commit, should the process have stopped before it finished."""
    from landmatch.db.derived import drain, pending

    eng = engine()
    with eng.connect() as conn:
        waiting = pending(conn)
    if not waiting["facts"] and not waiting["cells"]:
        console.print("没有待更新的派生数据 / nothing queued")
        return
    with progress_bar("更新匹配与地图数据 settling", total=waiting["facts"] or 1) as progress:
        done = drain(eng, progress=progress)
    console.print(
        f"已更新 {done['facts']} 个地块的区位事实、{done['cells']} 条地图汇总变更 / settled"
    )


@app.command("prune-runs")
def db_prune_runs(
    days: Annotated[
        int | None,
        typer.Option(
            help="Keep runs this many days (default: LANDMATCH_MATCH_RUN_RETENTION_DAYS)."
        ),
    ] = None,
) -> None:
    """Delete stored match runs past the retention period, except runs made for a project or
    named by an inquiry (the server does this hourly by itself)."""
    from landmatch.match.runs import prune

    keep = settings().match_run_retention_days if days is None else days
    if keep <= 0:
        console.print("保留期为 0：保留全部匹配记录 / retention 0 keeps every run")
        return
    with engine().begin() as conn:
        deleted = prune(conn, keep)
    console.print(f"已删除 {deleted:,} 条超过 {keep} 天的匹配记录 / match runs deleted")


@app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="Backup file to write (pg_dump custom format).")],
) -> None:
    """Back up the whole landmatch schema (parcels with their history, zones, policies, layers,
    users, projects) to FILE with pg_dump."""
    from landmatch.db.backup import backup

    with progress_bar("备份 backing up") as progress:
        revision = backup(settings().database_url, file, progress)
    size = file.stat().st_size / 1024 / 1024
    console.print(f"[green]已备份[/green]到 {file}（{size:,.1f} MB，数据结构版本 {revision}）")


@app.command("restore")
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
    with progress_bar("恢复 restoring") as progress:
        restore(settings().database_url, file, progress)
    console.print(f"[green]已恢复[/green] {file}（数据结构版本 {revision}）")
