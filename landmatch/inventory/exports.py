"""Exports of the inventory (with the listing's filters): GeoJSON, GeoPackage, zipped Shapefile
(UTF-8, GBK or GB18030; :mod:`landmatch.inventory.gisfiles`), the 熟地清单 as xlsx
(:mod:`landmatch.inventory.ledger`), and the 界址点 TXT (a zip of one TXT per 3° zone when the
parcels span several). Full coordinate precision, so an export imports back unchanged. Public
callers get public parcels and fields only. The API, the workbench and the CLI all export
through :func:`export_parcels`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.confidential import column_sql
from landmatch.dates import beijing_today
from landmatch.db.holds import hold_text, seen_by_code
from landmatch.db.parcels import ParcelFilter, filter_sql
from landmatch.db.qa_flags import FLAG_TITLES
from landmatch.errors import InvalidInput, NotFound
from landmatch.geo.txt import write_txt, write_txt_zones
from landmatch.geo.validate import normalise_polygons
from landmatch.inventory.fields import FIELDS, label_of
from landmatch.inventory.gisfiles import geopackage, shapefile_zip
from landmatch.inventory.ledger import ledger_xlsx
from landmatch.numbers import mu

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
    cols = [column_sql(principal, n) for n in names]
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
    today = beijing_today()
    if zone is not None:
        data = write_txt(
            items, zone=zone, produced_on=today, producer="landmatch", encoding=encoding
        )
        return {zone: data}
    return write_txt_zones(items, produced_on=today, producer="landmatch", encoding=encoding)


def txt_name(zone: int) -> str:
    """The name of a zone's file inside a zipped TXT export."""
    return f"界址点_{zone}带.txt"


# The text encodings a Shapefile or TXT export is written in, by the names a caller may give.
CODECS = {"UTF8": "UTF-8", "GBK": "GBK", "GB18030": "GB18030"}
# Parcels named at most in an encoding refusal.
NAMED_MAX = 5


def codec_of(encoding: str) -> str:
    """The codec a caller's ``encoding`` names (UTF-8, GBK or GB18030, any case, with or
    without the hyphen); :class:`InvalidInput` otherwise."""
    codec = CODECS.get(encoding.upper().replace("-", ""))
    if codec is None:
        raise InvalidInput(
            "encoding 仅支持 UTF-8、GBK 或 GB18030",
            detail=[{"field": "encoding", "reason": encoding}],
        )
    return codec


def check_encodable(frame: pd.DataFrame, codec: str) -> None:
    """Refuse an export whose text cannot be written in ``codec``, naming the parcels, the
    fields and the characters, rather than drop them (GDAL replaces what GBK cannot hold in a
    Shapefile without a word) or fail on the first one. GBK lacks emoji and rarer characters
    (e.g. 𠀀); GB18030, a superset of GBK that older tools read as GBK, holds all of Unicode."""
    if codec != "GBK":
        return
    found: list[str] = []
    count = 0
    for col in frame.columns:
        texts = {v for v in frame[col] if isinstance(v, str)}
        if _in_gbk("".join(texts)):  # the usual case, at the speed of one encode
            continue
        for i, value in enumerate(frame[col]):
            if not isinstance(value, str):
                continue
            bad = [ch for ch in dict.fromkeys(value) if not _in_gbk(ch)]
            if not bad:
                continue
            count += 1
            if len(found) < NAMED_MAX:
                code = frame["code"].iloc[i] if "code" in frame else i + 1
                chars = "".join(bad[:3]).encode("unicode_escape").decode("ascii")
                found.append(f"地块 {code} 的“{label_of(col)}”含 GBK 无法表示的字符（{chars}）")
    if found:
        more = f"等 {count} 处" if count > len(found) else ""
        raise InvalidInput(
            f"{'；'.join(found)}{more}。请改用 GB18030（兼容 GBK）或 UTF-8 编码导出，或修改这些字段",
            detail=[{"field": "encoding", "reason": "GBK 无法表示的字符"}],
        )


def _in_gbk(text: str) -> bool:
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


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
    layer: str = "parcels",
) -> Export:
    """The filtered parcels as a file. ``encoding`` (UTF-8, GBK or GB18030) applies to shp
    and txt;
    ``zone`` (a 3° zone; 37–40 cover Hebei) writes a TXT export in that one zone; ``layer``
    names the files inside a Shapefile zip."""
    if fmt not in FORMATS:
        raise InvalidInput(f"不支持的导出格式 {fmt}；可选：{', '.join(FORMATS)}")
    codec = codec_of(encoding)
    if zone is not None and (fmt != "txt" or not 25 <= zone <= 45):
        raise InvalidInput("zone（3° 带号 25–45）只用于界址点 TXT 导出")
    frame, geoms = fetch(session, f, principal, limit)
    if fmt == "txt" and not len(frame):
        raise NotFound("没有符合条件的地块可导出")
    media, ext = FORMATS[fmt]
    stamp = beijing_today().strftime("%Y%m%d")
    if fmt in ("txt", "shp"):
        check_encodable(frame, codec)
    if fmt == "txt":
        by_zone = _txt(frame, geoms, codec.lower(), zone)
        if len(by_zone) == 1:
            [data] = by_zone.values()
            # The text's own charset (GBK/GB18030 readers need to be told).
            media = f"text/plain; charset={codec.lower()}"
            return Export(data=data, media_type=media, filename=f"parcels-{stamp}.txt")
        zones = "、".join(str(z) for z in by_zone)
        return Export(
            data=_zip({txt_name(z): d for z, d in by_zone.items()}),
            media_type="application/zip",
            filename=f"parcels-{stamp}-txt.zip",
            note=f"地块分属 {zones} 共 {len(by_zone)} 个投影带，每带一个界址点 TXT 文件",
        )
    if fmt == "geojson":
        return Export(_geojson(frame, geoms), media, f"parcels-{stamp}.{ext}")
    rows = session.execute(
        text("SELECT code, name FROM landmatch.admin_division WHERE level = 'county'")
    ).all()
    counties = {str(r[0]): str(r[1]) for r in rows}
    if fmt == "gpkg":
        data = geopackage(frame, geoms, counties)
    elif fmt == "shp":
        data = shapefile_zip(frame, geoms, counties, codec, layer=layer)
    else:
        fields = "公开字段（公众可见）" if principal.is_public else "全部字段（内部资料，注意保密）"
        holds = None
        if not principal.is_public:
            holds = {c: hold_text(h) for c, h in seen_by_code(session, principal).items()}
        scope = scope_text(f, principal, counties, zone_name(session, f))
        data = ledger_xlsx(frame, geoms, counties, scope=scope, fields=fields, holds=holds)
    return Export(data=data, media_type=media, filename=f"parcels-{stamp}.{ext}")


def zone_name(session: Session, f: ParcelFilter) -> str | None:
    """The name of the zone ``f`` is narrowed to (by code, or by id for a committee)."""
    if not (f.zone or f.zone_id):
        return None
    name = session.execute(
        text("SELECT name FROM landmatch.dev_zone WHERE code = :c OR id = :i"),
        {"c": f.zone, "i": f.zone_id},
    ).scalar()
    return None if name is None else str(name)


def scope_text(
    f: ParcelFilter,
    principal: Principal,
    counties: dict[str, str] | None = None,
    zone: str | None = None,
) -> str:
    """Which parcels an export holds, in words (for the 说明 sheet): names for codes
    (``counties``: county names by code; ``zone``: the zone's name), never a bare id."""
    parts = []
    if f.city:
        parts.append(f"城市 {vocab.CITIES.get(f.city, f.city)}（{f.city}）")
    if f.county:
        county = (counties or {}).get(f.county)
        parts.append(f"县区 {county}（{f.county}）" if county else f"县区 {f.county}")
    if f.zone or f.zone_id:
        parts.append(f"开发区 {zone or f.zone or f.zone_id}")
    if f.status:
        parts.append("状态 " + "、".join(vocab.PARCEL_STATUS.get(s, s) for s in f.status))
    if f.land_use:
        parts.append("用途 " + "、".join(vocab.PARCEL_LAND_USE.get(u, u) for u in f.land_use))
    if f.area_mu_min is not None or f.area_mu_max is not None:
        lo = "" if f.area_mu_min is None else mu(f.area_mu_min)
        hi = "" if f.area_mu_max is None else mu(f.area_mu_max)
        parts.append(f"面积 {lo}–{hi} 亩")
    if f.held is not None:
        parts.append("已预留" if f.held else "未预留")
    if f.visibility:
        parts.append(f"公开范围 {vocab.VISIBILITY.get(f.visibility, f.visibility)}")
    if f.q:
        parts.append(f"编号或名称含“{f.q}”")
    if f.qa:
        parts.append(f"质检问题 {FLAG_TITLES.get(f.qa, f.qa)}")
    if f.age:
        parts.append(
            {"fresh": "数据较新", "stale": "数据过期", "unknown": "未注明更新日期"}.get(
                f.age, f.age
            )
        )
    if f.bbox:
        parts.append("范围框 " + ",".join(f"{v:g}" for v in f.bbox))
    if f.deleted:
        parts.append("已删除的地块")
    where = "；".join(parts) if parts else "全部地块"
    who = "公开的熟地（公众导出）" if principal.is_public else f"{principal.name} 权限范围内"
    return f"{who}；{where}"
