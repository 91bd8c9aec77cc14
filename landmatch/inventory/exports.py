"""Exports of the inventory (with the listing's filters): GeoJSON, GeoPackage, zipped Shapefile
(UTF-8 or GBK, with .cpg), the 熟地清单 as xlsx, and the 界址点 TXT (a zip of one TXT per
3° zone when the parcels span several). Full coordinate precision, so an export imports back
unchanged. Public callers get public parcels and fields only.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.parcels import ParcelFilter, filter_sql
from landmatch.errors import InvalidInput, NotFound
from landmatch.geo.measure import M2_PER_HA, M2_PER_MU
from landmatch.geo.txt import write_txt, write_txt_zones
from landmatch.geo.validate import normalise_polygons
from landmatch.inventory.fields import BY_NAME, FIELDS, SHP_NAMES
from landmatch.spreadsheets import safe_cell

FORMATS = {
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "shp": ("application/zip", "zip"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "txt": ("text/plain; charset=utf-8", "txt"),
}


@dataclass
class Export:
    data: bytes
    media_type: str
    filename: str
    note: str = ""  # for the user, e.g. why a TXT export is a zip


def _fields(principal: Principal) -> list[str]:
    names = [f.name for f in FIELDS if f.public or not principal.is_public]
    return names


def fetch(
    session: Session, f: ParcelFilter, principal: Principal, limit: int | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows (field columns + area_m2) and geometries (EPSG:4490, full precision), in code
    order; ``limit`` (None: all) and ``f.offset`` page through them as a listing does."""
    names = [n for n in _fields(principal) if n != "zone_code"]
    cols = [f"p.{n}" for n in names if n != "ref_price_wan_per_mu"]
    if "ref_price_wan_per_mu" in names:
        cols.append(
            "CASE WHEN p.price_public THEN p.ref_price_wan_per_mu END AS ref_price_wan_per_mu"
            if principal.is_public
            else "p.ref_price_wan_per_mu"
        )
    where, params = filter_sql(f, principal)
    page = ""
    if limit is not None:
        page = " LIMIT :limit OFFSET :offset"
        params.update(limit=limit, offset=f.offset)
    elif f.offset:
        page = " OFFSET :offset"
        params["offset"] = f.offset
    sql = (
        f"SELECT {', '.join(cols)}, z.code AS zone_code, p.area_m2, ST_AsBinary(p.geom) AS wkb "
        "FROM landmatch.parcel p LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id "
        f"WHERE {' AND '.join(where)} ORDER BY p.code{page}"
    )
    rows = session.execute(text(sql), params).mappings().all()
    frame = pd.DataFrame(
        [{k: v for k, v in r.items() if k != "wkb"} for r in rows],
        columns=[*names, "zone_code", "area_m2"],
    )
    frame = frame[[n for n in _fields(principal)] + ["area_m2"]]
    geoms = shapely.from_wkb(np.array([bytes(r["wkb"]) for r in rows], dtype=object))
    # Stored rows are normalised already; every format gets the guarantee all the same.
    return frame, normalise_polygons(geoms)


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, list):
        return ",".join(v)
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def _plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for c in frame.columns:
        out[c] = [_plain(v) for v in frame[c]]
    return out


def _geojson(frame: pd.DataFrame, geoms: np.ndarray) -> bytes:
    feats = []
    plain = _plain_frame(frame)
    for rec, g in zip(plain.to_dict("records"), geoms, strict=True):
        rec = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
        feats.append(
            {
                "type": "Feature",
                "id": rec["code"],
                "properties": rec,
                "geometry": json.loads(shapely.to_geojson(g)),
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "features": feats}, ensure_ascii=False, default=str
    ).encode()


def _ogr(frame: pd.DataFrame, geoms: np.ndarray, driver: str, encoding: str) -> bytes:
    plain = _plain_frame(frame.drop(columns=["area_m2"]))
    if driver == "ESRI Shapefile":
        plain = plain.rename(columns=SHP_NAMES)
    gdf = gpd.GeoDataFrame(plain, geometry=list(geoms), crs="EPSG:4490")
    with tempfile.TemporaryDirectory(prefix="lm-export-") as d:
        if driver == "GPKG":
            path = Path(d) / "parcels.gpkg"
            gdf.to_file(path, driver="GPKG", layer="parcels", engine="pyogrio")
            return path.read_bytes()
        path = Path(d) / "parcels.shp"
        gdf.to_file(path, driver="ESRI Shapefile", engine="pyogrio", encoding=encoding)
        cpg = path.with_suffix(".cpg")
        cpg.write_text("UTF-8" if encoding.upper().replace("-", "") == "UTF8" else "GBK")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(d).iterdir()):
                zf.write(p, p.name)
        return buf.getvalue()


def _label_list(values: Any, f: Any) -> Any:
    if isinstance(values, list):
        return "、".join(f.vocab.get(v, v) for v in values) if f.vocab else "、".join(values)
    return values


def _xlsx(frame: pd.DataFrame, geoms: np.ndarray, county_names: dict[str, str]) -> bytes:
    """The 熟地清单: one row per parcel (Chinese headers, labels, 亩 and 公顷), a summary
    sheet by city, and for each city a summary sheet by county and by land use."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active

    def put(sheet: Any, values: list[Any]) -> None:
        sheet.append([safe_cell(v, Cell(sheet)) for v in values])

    ws.title = "熟地清单"
    names = [c for c in frame.columns if c != "area_m2"]
    header = [
        "城市名称",
        *(BY_NAME[n].label for n in names),
        "计算面积(亩)",
        "计算面积(公顷)",
        "几何(WKT)",
    ]
    put(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    wkts = shapely.to_wkt(geoms, rounding_precision=-1)
    for rec, wkt in zip(frame.to_dict("records"), wkts, strict=True):
        row: list[Any] = [vocab.CITIES.get(rec["city_code"], rec["city_code"])]
        for n in names:
            f, v = BY_NAME[n], rec[n]
            if f.kind == "code" and v is not None:
                v = f.vocab.get(v, v)  # type: ignore[union-attr]
            elif f.kind == "list":
                v = _label_list(v, f)
            elif f.kind == "bool" and v is not None:
                v = "是" if v else "否"
            elif isinstance(v, Decimal):
                v = float(v)
            if isinstance(v, float) and np.isnan(v):
                v = None
            row.append(v)
        area = rec["area_m2"]
        row += [
            round(area / M2_PER_MU, 2),
            round(area / M2_PER_HA, 4),
            wkt if len(wkt) < 32000 else None,
        ]
        put(ws, row)
    ws.freeze_panes = "B2"
    statuses = list(vocab.PARCEL_STATUS)
    status_cols = [
        *(f"{vocab.PARCEL_STATUS[s]}(宗)" for s in statuses),
        *(f"{vocab.PARCEL_STATUS[s]}(亩)" for s in statuses),
    ]

    def tally(part: pd.DataFrame) -> list[Any]:
        counts = part["status"].value_counts() if "status" in part else pd.Series(dtype=int)
        areas = part.groupby("status")["area_m2"].sum() if "status" in part else pd.Series()
        total = part["area_m2"].sum()
        return [
            len(part),
            round(total / M2_PER_MU, 2),
            round(total / M2_PER_HA, 4),
            *(int(counts.get(s, 0)) for s in statuses),
            *(round(float(areas.get(s, 0)) / M2_PER_MU, 2) for s in statuses),
        ]

    def sheet(title: str, head: list[str]) -> Any:
        ws2 = wb.create_sheet(title[:31])
        put(ws2, [*head, "地块数", "面积(亩)", "面积(公顷)", *status_cols])
        for cell in ws2[1]:
            cell.font = Font(bold=True)
        return ws2

    # The province at a glance: one row per city.
    summary = sheet("按城市汇总", ["城市代码", "城市"])
    for city, part in frame.groupby("city_code"):
        put(summary, [city, vocab.CITIES.get(city, city), *tally(part)])
    if len(frame):
        put(summary, ["合计", "", *tally(frame)])
    # Each city's own summary sheet: by county, then by land use.
    for city, part in frame.groupby("city_code"):
        ws2 = sheet(f"{vocab.CITIES.get(city, city)}汇总", ["区县代码", "区县"])
        if "county_code" in part:
            counties = part.assign(county=part["county_code"].fillna(""))
            for county, sub in counties.groupby("county"):
                put(ws2, [county or "—", county_names.get(county, "未填区县"), *tally(sub)])
        put(ws2, ["合计", "", *tally(part)])
        ws2.append([])
        put(ws2, ["用途代码", "用途", "地块数", "面积(亩)", "面积(公顷)"])
        for cell in ws2[ws2.max_row]:
            cell.font = Font(bold=True)
        for use, sub in part.groupby("land_use"):
            put(ws2, [use, vocab.LAND_USE.get(use, use), *tally(sub)[:3]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _txt(
    frame: pd.DataFrame, geoms: np.ndarray, encoding: str, zone: int | None
) -> dict[int, bytes]:
    """One 界址点 TXT per 3° zone, each parcel in the zone of its centroid (a file carries one
    带号, and readers reject files that mix zones); with ``zone``, every parcel in that one
    (a city that keeps its surveys in one zone)."""
    items = [
        {
            "code": r["code"],
            "name": r["name"],
            "use": vocab.LAND_USE.get(r["land_use"], r["land_use"]),
            "geometry_4490": g,
        }
        for r, g in zip(frame.to_dict("records"), geoms, strict=True)
    ]
    today = dt.date.today()
    if zone is not None:
        data = write_txt(
            items, zone=zone, produced_on=today, producer="landmatch", encoding=encoding
        )
        return {zone: data}
    return write_txt_zones(items, produced_on=today, producer="landmatch", encoding=encoding)


def txt_name(zone: int) -> str:
    """The name of a zone's file inside a zipped TXT export."""
    return f"界址点_{zone}带.txt"


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def export_parcels(
    session: Session,
    f: ParcelFilter,
    principal: Principal,
    fmt: str,
    encoding: str = "UTF-8",
    *,
    limit: int | None = None,
    zone: int | None = None,
) -> Export:
    """The filtered parcels as a file. ``encoding`` (UTF-8 or GBK) applies to shp and txt;
    ``zone`` (a 3° zone; 37–40 cover Hebei) writes a TXT export in that one zone."""
    if fmt not in FORMATS:
        raise InvalidInput(f"不支持的导出格式 {fmt}；可选：{', '.join(FORMATS)}")
    if encoding.upper().replace("-", "") not in ("UTF8", "GBK", "GB18030"):
        raise InvalidInput("encoding 仅支持 UTF-8 或 GBK")
    if zone is not None and (fmt != "txt" or not 25 <= zone <= 45):
        raise InvalidInput("zone（3° 带号 25–45）只用于界址点 TXT 导出")
    frame, geoms = fetch(session, f, principal, limit)
    if fmt == "txt" and not len(frame):
        raise NotFound("没有符合条件的地块可导出")
    media, ext = FORMATS[fmt]
    stamp = dt.date.today().strftime("%Y%m%d")
    if fmt == "txt":
        txt_encoding = "utf-8" if encoding.upper().replace("-", "") == "UTF8" else "gbk"
        by_zone = _txt(frame, geoms, txt_encoding, zone)
        if len(by_zone) == 1:
            [data] = by_zone.values()
            return Export(data=data, media_type=media, filename=f"parcels-{stamp}.txt")
        zones = "、".join(str(z) for z in by_zone)
        return Export(
            data=_zip({txt_name(z): d for z, d in by_zone.items()}),
            media_type="application/zip",
            filename=f"parcels-{stamp}-txt.zip",
            note=f"地块分属 {zones} 共 {len(by_zone)} 个投影带，每带一个界址点 TXT 文件",
        )
    if fmt == "geojson":
        data = _geojson(frame, geoms)
    elif fmt == "gpkg":
        data = _ogr(frame, geoms, "GPKG", "UTF-8")
    elif fmt == "shp":
        data = _ogr(frame, geoms, "ESRI Shapefile", encoding)
    else:
        counties = session.execute(
            text("SELECT code, name FROM landmatch.admin_division WHERE level = 'county'")
        ).all()
        data = _xlsx(frame, geoms, {r[0]: r[1] for r in counties})
    return Export(data=data, media_type=media, filename=f"parcels-{stamp}.{ext}")
