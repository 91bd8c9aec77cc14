"""``landmatch export``: parcels as the 熟地清单 (xlsx), GIS files or 界址点 TXT (the service of
``landmatch.api.routes.exports``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from landmatch.cli.common import console, operator, reading


def export_cmd(
    out: Annotated[Path, typer.Argument(help="Output file.")],
    fmt: Annotated[str, typer.Option("--format", help="geojson, gpkg, shp, xlsx or txt.")] = "",
    status: Annotated[
        str | None, typer.Option("--status", help="Comma-separated statuses.")
    ] = None,
    city: Annotated[str | None, typer.Option("--city")] = None,
    zone: Annotated[str | None, typer.Option("--zone")] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", help="Shapefile DBF and 界址点 TXT: UTF-8, GBK or GB18030.")
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
        raise InvalidInput(vocab.unknown_city(city))
    f = ParcelFilter(status=status.split(",") if status else None, city=city, zone=zone)
    with reading() as session:
        res = export_parcels(
            session,
            f,
            PUBLIC if public else operator(),
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
