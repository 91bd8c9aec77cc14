"""``landmatch import`` and ``landmatch import-rollback``: parcels from files, and undoing an
import (the service of ``landmatch.api.routes.imports``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from landmatch.cli.common import console, engine, operator, settings, stage_bars


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

    s = settings()
    opts = ImportOptions.within(
        s,
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
    )
    labels = {
        "read": "读取 reading",
        "validate": "校验 validating",
        "write": "写入 writing",
        "settle": "更新匹配与地图数据 settling",
    }
    with stage_bars(labels) as progress:
        eng = engine()
        try:
            with eng.begin() as conn:
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
                    operator(),
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
            drain(eng, progress=lambda done, total: progress("settle", done, total))
            out["derived"] = "settled"
    _print_report(out, report)
    if out["rejected"]:
        # A dry run that the real import would refuse fails as the real import would.
        raise typer.Exit(2)


def _print_report(out: dict[str, Any], path: Path | None) -> None:
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

    with engine().begin() as conn:
        out = rollback_import(conn, import_id, operator())
    console.print(
        f"已撤销导入 #{import_id}：删除 {out['deleted']} 宗新增地块，恢复 {out['restored']} 宗"
    )
