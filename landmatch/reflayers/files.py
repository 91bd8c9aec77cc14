"""Read a layer file (GeoJSON, GeoPackage, zipped Shapefile) into EPSG:4490 features.

Shared by zone boundaries and reference layers, so both get the same CRS handling and checks.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from landmatch.errors import CRSError, FormatError, GeometryError
from landmatch.geo import crs as gcrs
from landmatch.geo import gcj02
from landmatch.geo.validate import (
    check_in_bbox,
    check_polygonal,
    looks_swapped_latlon,
    normalise_polygons,
    repair,
    too_many_vertices,
)
from landmatch.settings import get_settings

SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")


def read_features(data: bytes, filename: str, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Parse ``data`` (named ``filename``) and return it in EPSG:4490, lon/lat.

    ``crs`` overrides or supplies the file's CRS (``"GCJ02"`` converts Amap coordinates).
    """
    name = filename.lower()
    if not name.endswith(SUFFIXES):
        raise FormatError(
            f"不支持的文件类型 {filename}；支持 GeoJSON、GeoPackage、Shapefile（zip）"
        )
    if not data:
        raise FormatError(f"文件 {filename} 为空")
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if not any(n.lower().endswith(".shp") for n in zf.namelist()):
                    raise FormatError("zip 文件中没有 .shp 文件")
        except zipfile.BadZipFile:
            raise FormatError(f"{filename} 不是有效的 zip 文件") from None
    try:
        gdf = pyogrio.read_dataframe(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - GDAL's message explains the format problem
        raise FormatError(f"无法读取 {filename}：{str(exc).splitlines()[0][:200]}") from None
    if len(gdf) == 0:
        raise FormatError(f"文件 {filename} 中没有要素")
    if crs is not None:
        code = gcrs.parse_crs(crs)
    elif gdf.crs is not None:
        epsg = gdf.crs.to_epsg(min_confidence=70)
        if epsg is None:
            epsg = gcrs.crs_from_wkt(gdf.crs.to_wkt())
        if epsg is None:
            raise CRSError(f"无法识别 {filename} 的坐标系；请用 crs 参数指定，例如 EPSG:4490")
        code = epsg
    else:
        raise CRSError(f"{filename} 未声明坐标系；请用 crs 参数指定，例如 EPSG:4490")
    geoms = gdf.geometry.to_numpy()
    if code == gcrs.GCJ02:
        geoms = gcj02.gcj02_to_wgs84_geom(geoms)
    elif code not in (gcrs.STORAGE_EPSG, gcrs.WGS84_EPSG):
        geoms = [None if g is None else gcrs.to_storage(g, code) for g in geoms]
    out = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=list(geoms), crs=4490)
    return out


def _where(row: int) -> str:
    return f"第 {row + 1} 个要素"


def polygon_for_storage(geom: BaseGeometry | None, row: int) -> tuple[BaseGeometry, list[str]]:
    """The checks parcels get: polygonal, finite, inside Hebei, not lat/lon-swapped; invalid
    rings repaired with a warning."""
    problems = check_polygonal(geom)
    structural = [p for p in problems if p.code != "invalid"]
    if structural:
        raise GeometryError(
            f"{_where(row)}：{structural[0].message_zh}",
            detail=[
                {"row": row + 1, "field": "geometry", "reason": p.message_zh} for p in structural
            ],
        )
    assert geom is not None
    dense = too_many_vertices(shapely.get_num_coordinates(geom), get_settings().max_parcel_vertices)
    if dense:
        raise GeometryError(
            f"{_where(row)}：{dense.message_zh}",
            detail=[{"row": row + 1, "field": "geometry", "reason": dense.message_zh}],
        )
    if looks_swapped_latlon(geom):
        raise GeometryError(f"{_where(row)}：经纬度疑似颠倒（纬度在前），请检查坐标顺序")
    outside = check_in_bbox(geom, gcrs.HEBEI_BBOX, region_zh="河北省范围")
    if outside:
        raise GeometryError(f"{_where(row)}：{outside.message_zh}")
    fixed, warnings = repair(geom)
    return normalise_polygons(fixed), [f"{_where(row)}：{w}" for w in warnings]


def point_for_storage(geom: BaseGeometry | None, row: int) -> BaseGeometry:
    if geom is None or geom.is_empty:
        raise GeometryError(f"{_where(row)}：几何图形为空")
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if geom.geom_type != "Point":
        raise GeometryError(
            f"{_where(row)}：几何类型为 {geom.geom_type}，设施图层需要点（Point）",
            detail=[{"row": row + 1, "field": "geometry", "reason": "几何类型应为点"}],
        )
    if not shapely.is_valid(geom) or looks_swapped_latlon(geom):
        raise GeometryError(f"{_where(row)}：坐标无效或经纬度颠倒")
    outside = check_in_bbox(geom, gcrs.HEBEI_BBOX, region_zh="河北省范围")
    if outside:
        raise GeometryError(f"{_where(row)}：{outside.message_zh}")
    return geom


def records(gdf: gpd.GeoDataFrame, columns: Iterable[str]) -> list[dict[str, Any]]:
    """Plain dicts of the wanted attribute columns (missing → None) plus ``geometry``."""
    cols = [c for c in columns if c in gdf.columns]
    out = []
    for row in gdf.itertuples(index=False):
        d: dict[str, Any] = {c: None for c in columns}
        for c in cols:
            v = getattr(row, c)
            d[c] = None if v is None or (isinstance(v, float) and v != v) else v
        d["geometry"] = row.geometry
        out.append(d)
    return out
