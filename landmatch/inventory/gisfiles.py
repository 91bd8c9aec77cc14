"""The inventory as GIS files: a zipped Shapefile and a GeoPackage, with typed fields.

Dates are Date fields, booleans Boolean (DBF logical ``L``), numbers numbers (capacities,
prices, ratios), codes and lists text; each parcel carries its computed area in 亩 and 公顷.
Shapefile fields are named by the pinyin initials of their Chinese names, as 国土 data has
them (DKBH 地块编号, DKMC 地块名称, XZQDM 县区代码, TDYT 用途, MJ_MU 面积(亩) …), and the zip
holds a 字段说明.txt listing them; a GBK DBF carries the GBK language driver id (0x4D) beside
its ``.cpg``, so the text survives a lost ``.cpg``. GeoPackage fields keep the English names,
with the Chinese ones as their aliases (``gpkg_data_columns``). Both import back unchanged:
the area and name columns are ignored on import.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from landmatch import vocab
from landmatch.geo.dbf import with_ldid
from landmatch.geo.measure import M2_PER_HA, M2_PER_MU
from landmatch.inventory.fields import BY_NAME, FIELDS

#: The Shapefile (DBF) names of the columns that are not fields: the computed areas and the
#: names beside the codes (all ignored on import).
EXTRA_SHP = {
    "city_name": ("CSMC", "城市名称"),
    "county_name": ("XZQMC", "县区名称"),
    "area_mu": ("MJ_MU", "面积(亩)"),
    "area_ha": ("MJ_GQ", "面积(公顷)"),
}
#: Their GeoPackage names ("area_mu" would read as a declared area on import).
EXTRA_GPKG = {
    "city_name": "city_name",
    "county_name": "county_name",
    "area_mu": "calc_area_mu",
    "area_ha": "calc_area_ha",
}
DBF_TEXT_WIDTH = 254  # the DBF maximum; GDAL shrinks each to its content (RESIZE=YES)
_ARROW = {
    "int": pa.int32(),
    "num": pa.float64(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}
_TYPE_ZH = {"int": "整数", "num": "数值", "date": "日期", "bool": "布尔（T/F）"}


@dataclass(frozen=True)
class Column:
    name: str  # field name or an EXTRA key
    label: str
    kind: str  # text, int, num, date, bool
    unit: str = ""


def columns(names: list[str]) -> list[Column]:
    """The written columns for the frame's field ``names``: each name column beside its code,
    the areas last."""
    out: list[Column] = []
    for n in names:
        f = BY_NAME[n]
        kind = f.kind if f.kind in _ARROW else "text"
        out.append(Column(n, f.label, kind))
        if n == "city_code":
            out.append(Column("city_name", "城市名称", "text"))
        elif n == "county_code":
            out.append(Column("county_name", "县区名称", "text"))
    out += [
        Column("area_mu", "面积(亩)", "num", "亩"),
        Column("area_ha", "面积(公顷)", "num", "公顷"),
    ]
    return out


def _values(frame: pd.DataFrame, col: Column, county_names: dict[str, str]) -> list[Any]:
    if col.name == "city_name":
        return [vocab.CITIES.get(v) if v else None for v in frame["city_code"]]
    if col.name == "county_name":
        return [county_names.get(v) if v else None for v in frame["county_code"]]
    if col.name == "area_mu":
        return [round(float(a) / M2_PER_MU, 2) for a in frame["area_m2"]]
    if col.name == "area_ha":
        return [round(float(a) / M2_PER_HA, 4) for a in frame["area_m2"]]
    out: list[Any] = []
    for v in frame[col.name]:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
        elif isinstance(v, Decimal):
            out.append(float(v))
        elif isinstance(v, list):
            out.append(",".join(v))  # codes, as the importer reads them
        else:
            out.append(v)
    return out


def _table(
    frame: pd.DataFrame,
    geoms: np.ndarray,
    county_names: dict[str, str],
    shapefile: bool,
) -> pa.Table:
    names = [c for c in frame.columns if c != "area_m2"]
    fields, arrays = [], []
    for col in columns(names):
        if shapefile:
            name = EXTRA_SHP[col.name][0] if col.name in EXTRA_SHP else BY_NAME[col.name].shp
        else:
            name = EXTRA_GPKG.get(col.name, col.name)
        meta = {"GDAL:OGR:alternative_name": col.label}
        if shapefile and col.kind == "text":
            meta["GDAL:OGR:width"] = str(DBF_TEXT_WIDTH)
        typ = _ARROW.get(col.kind, pa.string())
        fields.append(pa.field(name, typ, metadata=meta))
        arrays.append(pa.array(_values(frame, col, county_names), type=typ))
    multi = [
        g if g is None or g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g])
        for g in geoms
    ]
    fields.append(pa.field("geometry", pa.binary()))
    arrays.append(pa.array(list(shapely.to_wkb(np.array(multi, dtype=object))), pa.binary()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


# What the 字段说明 says of an encoding's DBF language driver id (``geo.dbf.with_ldid``).
LDID_NOTE = {
    "GBK": "；属性表头部语言驱动标识为 0x4D，.cpg 丢失时仍可正确读取",
    "GB18030": "；GB18030 没有语言驱动标识，请保留 .cpg，或在软件中指定 GB18030 编码",
}


def field_notes(names: list[str], encoding: str) -> str:
    """The 字段说明 of a Shapefile export: each DBF field, its Chinese name, type and unit."""
    lines = [
        "字段说明（Shapefile 属性表 .dbf）",
        "",
        "坐标系：CGCS2000 经纬度（EPSG:4490）；面积为 CGCS2000 椭球面积。",
        f"属性表编码：{encoding}（见 .cpg{LDID_NOTE.get(encoding, '')}）。",
        "代码字段写代码（用途、状态等为 landmatch 代码，城市、县区为行政区划代码），名称字段在其旁。",
        "多选字段（兼容用途、供地方式、七通一平、熟地核查项）为以英文逗号分隔的代码。",
        "文本字段最长 254 字节（DBF 限制），更长的备注等以 GeoPackage 或 Excel 导出为准。",
        "",
        "字段名\t中文名称\t类型\t单位",
    ]
    for col in columns(names):
        name = EXTRA_SHP[col.name][0] if col.name in EXTRA_SHP else BY_NAME[col.name].shp
        label, unit = col.label, col.unit
        if "(" in label and label.endswith(")"):
            label, _, unit = label[:-1].partition("(")
        lines.append(f"{name}\t{label}\t{_TYPE_ZH.get(col.kind, '文本')}\t{unit}")
    return "\r\n".join(lines) + "\r\n"


def shapefile_zip(
    frame: pd.DataFrame,
    geoms: np.ndarray,
    county_names: dict[str, str],
    codec: str,
    layer: str = "parcels",
) -> bytes:
    """A zip of ``layer``.shp/.shx/.dbf/.prj/.cpg and 字段说明.txt, its text in ``codec``
    (UTF-8, GBK or GB18030; :func:`landmatch.inventory.exports.codec_of`)."""
    table = _table(frame, geoms, county_names, shapefile=True)
    with tempfile.TemporaryDirectory(prefix="lm-export-") as d:
        path = Path(d) / f"{layer}.shp"
        pyogrio.write_arrow(
            table,
            path,
            layer=layer,
            driver="ESRI Shapefile",
            geometry_name="geometry",
            geometry_type="MultiPolygon",
            crs="EPSG:4490",
            encoding=codec,
            layer_options={"RESIZE": "YES"},
        )
        dbf = path.with_suffix(".dbf")
        dbf.write_bytes(with_ldid(dbf.read_bytes(), codec))
        path.with_suffix(".cpg").write_text(codec)
        names = [c for c in frame.columns if c != "area_m2"]
        notes = field_notes(names, codec)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(d).iterdir()):
                zf.write(p, p.name)
            # UTF-8 with a BOM: Notepad and WPS open it right on any Windows.
            zf.writestr("字段说明.txt", "\ufeff" + notes)
        return buf.getvalue()


def geopackage(frame: pd.DataFrame, geoms: np.ndarray, county_names: dict[str, str]) -> bytes:
    """A GeoPackage with one layer ``parcels``."""
    table = _table(frame, geoms, county_names, shapefile=False)
    with tempfile.TemporaryDirectory(prefix="lm-export-") as d:
        path = Path(d) / "parcels.gpkg"
        pyogrio.write_arrow(
            table,
            path,
            layer="parcels",
            driver="GPKG",
            geometry_name="geometry",
            geometry_type="MultiPolygon",
            crs="EPSG:4490",
        )
        return path.read_bytes()


def shp_field_table() -> list[tuple[str, str]]:
    """(DBF name, Chinese name) of every field a Shapefile export can hold, in order."""
    out = []
    for f in FIELDS:
        out.append((f.shp, f.label))
        if f.name == "city_code":
            out.append(EXTRA_SHP["city_name"])
        elif f.name == "county_code":
            out.append(EXTRA_SHP["county_name"])
    return [*out, EXTRA_SHP["area_mu"], EXTRA_SHP["area_ha"]]
