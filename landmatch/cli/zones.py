"""``landmatch zones …``: development zones (the service of ``landmatch.api.routes.zones``).

The local operator writes as ``--actor`` (default ``cli``), an admin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from landmatch.cli.common import ActorOpt, console, operator, settings, transaction
from landmatch.numbers import ha

app = typer.Typer(help="Development zones (开发区).", no_args_is_help=True)


@app.command("list")
def zones_list(city: Annotated[str | None, typer.Option()] = None) -> None:
    """List zones with their currently valid assessments."""
    from landmatch.zones.records import list_zones

    with transaction() as s:
        rows = list_zones(s, operator("cli"), city=city)
    t = Table("编码", "名称", "城市", "级别", "类型", "主导产业", "面积(公顷)", "有效区域评估")
    for z in rows:
        t.add_row(
            z["code"],
            z["name"],
            z["city_code"],
            z["level_label"],
            z["kind"],
            ",".join(z["leading_industries"]),
            ha(z["area_ha"], fixed=True),
            ",".join(z["assessments_valid_kinds"]),
        )
    console.print(t)


@app.command("membership")
def zones_membership() -> None:
    """Recompute which zone every parcel is in (after changing LANDMATCH_ZONE_MIN_SHARE)."""
    from sqlalchemy import text

    from landmatch.db.membership import assign_zones

    with transaction() as s:
        before = s.execute(
            text(
                "SELECT count(*) FILTER (WHERE zone_id IS NOT NULL), count(*) "
                "FROM landmatch.parcel WHERE deleted_at IS NULL"
            )
        ).one()
        changed = assign_zones(s.connection())
        after = s.execute(
            text(
                "SELECT count(*) FILTER (WHERE zone_id IS NOT NULL) FROM landmatch.parcel "
                "WHERE deleted_at IS NULL"
            )
        ).scalar_one()
    share = round(settings().zone_min_share * 100)
    console.print(
        f"按面积占比 ≥ {share} % 重新认定开发区：{before[1]} 宗地块中 {after} 宗位于开发区内"
        f"（此前 {before[0]} 宗；{changed} 宗的开发区或占比有变化）"
    )


@app.command("boundary")
def zones_boundary(
    code: str,
    file: Annotated[Path, typer.Argument(help="GeoJSON, GPKG or zipped Shapefile.")],
    crs: Annotated[str | None, typer.Option(help="CRS if the file has none, or GCJ02.")] = None,
    actor: ActorOpt = "cli",
) -> None:
    """Replace a zone's boundary from a file (checked like parcels; overlaps refused)."""
    from landmatch.db.locking import ANY
    from landmatch.inventory.uploads import LAYER_FILES, read_file
    from landmatch.zones.records import boundary_from_file, update_zone

    up = read_file(file, LAYER_FILES, settings().max_unpacked_mb)
    geom, warnings = boundary_from_file(up.data, up.filename, crs)
    with transaction() as s:
        out = update_zone(s, operator(actor), code, {}, geom, reason="导入开发区边界", if_match=ANY)
    for w in warnings:
        console.print(f"[yellow]提示[/yellow]：{w}")
    console.print(f"{code} 边界已更新，面积 {ha(out['area_ha'])} 公顷；{out.get('facts')}")
