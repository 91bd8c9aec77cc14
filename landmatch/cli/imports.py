"""CLI commands: ``landmatch import``, ``landmatch export``, ``landmatch check``,
``landmatch import-rollback``."""

from __future__ import annotations

import json
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
from rich.table import Table

console = Console()


def _cli_user() -> str:
    """Who a command writes as in the history: ``cli:<login>`` (the account that ran it)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still the CLI
        return "cli"


def _engine():  # type: ignore[no-untyped-def]
    from landmatch.db.engine import job_engine
    from landmatch.settings import get_settings

    return job_engine(get_settings())


def _cli_principal():  # type: ignore[no-untyped-def]
    from landmatch.auth import Principal

    # The CLI runs with database access, i.e. as the provincial data office.
    return Principal(name=_cli_user(), role="admin")


def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="File to import.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    city: Annotated[
        str | None, typer.Option("--city", help="City code all parcels belong to.")
    ] = None,
    crs: Annotated[
        str | None, typer.Option("--crs", help="Source CRS, e.g. EPSG:4527 or GCJ02.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Text encoding (GBK, UTF-8 …).")
    ] = None,
    code_prefix: Annotated[
        str | None,
        typer.Option(
            "--code-prefix",
            help="Prefix for the file's parcel codes: code 1 becomes PREFIX-1 "
            "(needed for 界址点 TXT files, whose codes only number the parcels in the file).",
        ),
    ] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Repair invalid geometries (warns).")
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why, for the history (default: 导入 FILE)."),
    ] = None,
    land_use: Annotated[
        str | None,
        typer.Option(
            "--land-use",
            help="Default land use of new parcels without one (用地用海 code or name, or an old "
            "GB/T 21010 / GB 50137 code); without it they are stored unpublished as 待定.",
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Default status of new parcels without one (unsupplied)."),
    ] = None,
    visibility: Annotated[
        str | None,
        typer.Option(
            "--visibility", help="Default visibility of new parcels without one (internal)."
        ),
    ] = None,
    boundaries: Annotated[
        Path | None,
        typer.Option(
            "--boundaries",
            exists=True,
            dir_okay=False,
            help="A boundary file (TXT, Shapefile zip, GeoPackage, GeoJSON) joined by parcel "
            "code to a table without boundaries (the Excel 清单).",
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the full JSON report here.")
    ] = None,
) -> None:
    """Import parcels (GeoJSON, GeoPackage, Shapefile zip, 界址点 TXT, xlsx, CSV); upsert by code."""
    from landmatch.db.derived import drain
    from landmatch.errors import UnprocessableInput
    from landmatch.inventory.imports import ImportOptions, run_import
    from landmatch.inventory.uploads import BOUNDARY_FILES, PARCEL_FILES, read_file
    from landmatch.settings import get_settings

    s = get_settings()
    opts = ImportOptions(
        dry_run=dry_run,
        city=city,
        crs=crs,
        encoding=encoding,
        code_prefix=code_prefix,
        repair=repair,
        reason=reason,
        land_use=land_use,
        status=status,
        visibility=visibility,
        max_rows=s.max_import_rows,
        settle_inline_max=s.import_settle_inline_max,
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}
        labels = {
            "read": "读取 reading",
            "validate": "校验 validating",
            "write": "写入 writing",
            "settle": "更新匹配与地图数据 settling",
        }

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        engine = _engine()
        try:
            with engine.begin() as conn:
                up = read_file(file, PARCEL_FILES, s.max_unpacked_mb)
                shapes = (
                    None
                    if boundaries is None
                    else read_file(boundaries, BOUNDARY_FILES, s.max_unpacked_mb)
                )
                out = run_import(
                    conn,
                    up.data,
                    up.filename,
                    _cli_principal(),
                    opts,
                    progress=progress,
                    boundaries=None if shapes is None else (shapes.data, shapes.filename),
                )
        except UnprocessableInput as exc:
            if isinstance(exc.detail, dict) and "totals" in exc.detail:
                _print_report(exc.detail, report)
            raise
        if out.get("derived") == "pending":
            # Committed; the spatial facts and map cells of the new parcels follow.
            drain(engine, progress=lambda done, total: progress("settle", done, total))
            out["derived"] = "settled"
    _print_report(out, report)
    if out["rejected"]:
        # A dry run that the real import would refuse fails as the real import would.
        raise typer.Exit(2)


def _print_report(out: dict, path: Path | None) -> None:  # type: ignore[type-arg]
    t = out["totals"]
    table = Table(
        title=f"导入报告 {out['filename']}（{out['format']}, {out['crs']}）"
        + ("【试运行，未写入】" if out["dry_run"] else "")
    )
    for k in ("rows", "created", "updated", "unchanged", "rejected"):
        table.add_column(
            {
                "rows": "总行数",
                "created": "新增",
                "updated": "更新",
                "unchanged": "未变",
                "rejected": "拒绝",
            }[k]
        )
    table.add_row(*(str(t[k]) for k in ("rows", "created", "updated", "unchanged", "rejected")))
    console.print(table)
    from rich.markup import escape

    from landmatch.inventory.fields import label_of
    from landmatch.inventory.report import where

    # File text is no rich markup: "[地块坐标]" is printed as it is.
    for p in out["rejected"][:50]:
        console.print(
            f"[red]拒绝[/red] {escape(where(p['row']))} {escape(p.get('code') or '')} "
            f"{escape(label_of(p['field']))}：{escape(p['reason'])}"
        )
    for w in out["warnings"][:50]:
        console.print(f"[yellow]提示[/yellow] {escape(w)}")
    if out.get("import_id"):
        console.print(
            f"导入批次 #{out['import_id']}（撤销：landmatch import-rollback {out['import_id']}）"
        )
    if path:
        path.write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str))


def rollback_cmd(import_id: Annotated[int, typer.Argument(help="Import batch id.")]) -> None:
    """Undo a whole import in one step."""
    from landmatch.inventory.imports import rollback_import

    with _engine().begin() as conn:
        out = rollback_import(conn, import_id, _cli_principal())
    console.print(
        f"已撤销导入 #{import_id}：删除 {out['deleted']} 宗新增地块，恢复 {out['restored']} 宗"
    )


def export_cmd(
    out: Annotated[Path, typer.Argument(help="Output file.")],
    fmt: Annotated[str, typer.Option("--format", help="geojson, gpkg, shp, xlsx or txt.")] = "",
    status: Annotated[
        str | None, typer.Option("--status", help="Comma-separated statuses.")
    ] = None,
    city: Annotated[str | None, typer.Option("--city")] = None,
    zone: Annotated[str | None, typer.Option("--zone")] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", help="Shapefile DBF and 界址点 TXT: UTF-8 or GBK.")
    ] = "UTF-8",
    gk_zone: Annotated[
        int | None,
        typer.Option("--gk-zone", help="TXT: write every parcel in this 3° zone (e.g. 38)."),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Public parcels and fields only.")
    ] = False,
) -> None:
    """Export parcels (the 熟地清单 as xlsx, GIS formats, 界址点 TXT)."""
    from landmatch import vocab
    from landmatch.auth import PUBLIC
    from landmatch.db.engine import session_factory
    from landmatch.db.parcels import ParcelFilter
    from landmatch.errors import InvalidInput
    from landmatch.inventory.exports import export_parcels

    suffix = out.suffix.lower().lstrip(".")
    fmt = fmt or {"zip": "shp", "json": "geojson"}.get(suffix, suffix)
    layer = "parcels"
    if fmt == "shp":
        # A Shapefile is several files: x.shp is written as x.zip holding x.shp, x.dbf …
        # (GDAL, QGIS and geopandas open the zip as it is).
        if suffix == "shp":
            layer = out.stem
        out = out.with_suffix(".zip")
    if city is not None and city not in vocab.CITIES:
        raise InvalidInput(f"未知城市代码 {city}；可选：{', '.join(vocab.CITIES)}")
    f = ParcelFilter(status=status.split(",") if status else None, city=city, zone=zone)
    with session_factory(_engine())() as session:
        res = export_parcels(
            session,
            f,
            PUBLIC if public else _cli_principal(),
            fmt,
            encoding,
            zone=gk_zone,
            layer=layer,
        )
    if fmt == "txt" and res.filename.endswith(".zip") and out.suffix.lower() != ".zip":
        # A TXT export spanning several zones is a zip of one file per zone.
        out = out.with_suffix(".zip")
        console.print(f"[yellow]注意[/yellow] {res.note}；已写出为 zip 压缩包")
    out.write_bytes(res.data)
    console.print(f"已导出 {out}（{len(res.data) / 1024:.0f} KB）")


def check_cmd(
    city: Annotated[str | None, typer.Option("--city")] = None,
    stale_days: Annotated[
        int | None, typer.Option("--stale-days", help="Utility data age limit.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Items shown per check.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
) -> None:
    """Data-quality checks: overlaps, outside city, exclusion zones, slivers, stale data, checklist."""
    from landmatch.db.engine import session_factory
    from landmatch.inventory.qa import run_checks
    from landmatch.settings import get_settings

    with session_factory(_engine())() as session:
        res = run_checks(
            session,
            _cli_principal(),
            city=city,
            stale_days=stale_days or get_settings().stale_after_days,
            limit=limit if not as_json else 100_000,
        )
    if as_json:
        console.print_json(json.dumps(res, ensure_ascii=False, default=str))
        return
    for c in res["checks"]:
        if c["id"] == "constraints":
            continue
        console.print(f"[bold]{c['title']}[/bold]：{c['count']}")
        for item in c["items"][:limit]:
            console.print("   " + ", ".join(f"{k}={v}" for k, v in item.items()))
    states = next((c for c in res["checks"] if c["id"] == "constraints"), None)
    if states is None:
        return
    # Every (city, kind): how many parcels are inside, checked and clear, or not checked, and
    # the coverage declaration "clear" rests on (none: "not checked", never "clear").
    labels = states["states"]
    table = Table(title=states["title"])
    table.add_column("城市", no_wrap=True)
    table.add_column("管控类型", no_wrap=True)
    table.add_column("覆盖声明（现势日期，来源）", overflow="fold")
    for head in ("在内", "无冲突", "未核查"):
        table.add_column(head, justify="right", no_wrap=True)
    for row in states["by_city"]:
        cov = row["coverage"]
        table.add_row(
            row["city_name"],
            row["label"],
            f"已声明 {cov['as_of']}，{cov['source']}" if cov else "[yellow]未声明[/yellow]",
            str(row["inside"]) if not row["inside"] else f"[red]{row['inside']}[/red]",
            str(row["clear"]),
            str(row["not_checked"])
            if not row["not_checked"]
            else f"[yellow]{row['not_checked']}[/yellow]",
        )
    console.print(table)
    console.print("合计：")
    for i in states["items"]:
        console.print(
            f"   {i['label']}：在内 {i['inside']} / 无冲突 {i['clear']} / 未核查 {i['not_checked']}"
        )
    console.print(
        f"说明：{labels['not_checked']}。“在内”指与管控区内部重叠不少于 "
        f"{states['min_overlap_m2']:g} 平方米，仅边界相接不计。"
    )


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
    app.command("import-rollback")(rollback_cmd)
    app.command("export")(export_cmd)
    app.command("check")(check_cmd)
