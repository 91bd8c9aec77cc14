"""Coordinate reference systems: constants, cached transformers, Gauss–Krüger zones, parsing.

Storage is CGCS2000 geographic (EPSG:4490) with lon/lat axis order everywhere in code
(``always_xy=True``). Survey files use the CGCS2000 3° Gauss–Krüger projections (docs/domain.md §1):
with zone prefix EPSG ``4488 + zone`` (zones 25–45), without prefix EPSG ``4534 + (CM − 75)/3``.

GCJ-02 (Amap/Tencent) has no EPSG code; :func:`parse_crs` returns the string :data:`GCJ02` for it
and callers convert with ``landmatch.geo.gcj02``.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Final, Literal

import numpy as np
import pyproj
import shapely
from pyproj.exceptions import CRSError as PyprojCRSError
from shapely.geometry.base import BaseGeometry

from landmatch.errors import CRSError, GeometryError

STORAGE_EPSG: Final = 4490
WGS84_EPSG: Final = 4326
WEB_MERCATOR_EPSG: Final = 3857

#: Hebei extent, lon/lat (min_lon, min_lat, max_lon, max_lat), rounded outwards from
#: about 113.45–119.85 °E, 36.05–42.65 °N.
HEBEI_BBOX: Final = (113.4, 36.0, 119.9, 42.7)
#: Mainland China plus islands, lon/lat, generous.
CHINA_BBOX: Final = (73.4, 3.5, 135.1, 53.6)
HEBEI_GK_ZONES: Final = (38, 39, 40)

#: Pseudo-code for the GCJ-02 offset system (no EPSG code exists).
GCJ02: Final = "GCJ02"

CrsCode = int | Literal["GCJ02"]

# (first prefixed EPSG - 25, first CM EPSG - 25) for 3° GK zones 25–45 of each datum.
_GK_BASES: Final = {
    "CGCS2000": (4488, 4509),
    "XIAN80": (2324, 2345),
    "BEIJING54": (2376, 2397),
}
_GK_ZONE_RANGE: Final = range(25, 46)


@lru_cache(maxsize=64)
def transformer(src: int, dst: int) -> pyproj.Transformer:
    """Return a cached lon/lat-ordered transformer from EPSG ``src`` to EPSG ``dst``.

    Examples
    --------
    >>> x, y = transformer(4490, 4526).transform(114.51, 38.04)
    >>> round(x, 3), round(y, 3)
    (38544770.357, 4212060.678)
    >>> transformer(4490, 4526) is transformer(4490, 4526)
    True
    """
    if not isinstance(src, int) or not isinstance(dst, int):
        raise CRSError(f"坐标系必须是 EPSG 代码（整数），收到 {src!r} → {dst!r}")
    try:
        return pyproj.Transformer.from_crs(src, dst, always_xy=True)
    except PyprojCRSError as exc:
        raise CRSError(f"无法建立坐标转换 EPSG:{src} → EPSG:{dst}") from exc


def gk_zone_for_lon(lon: float) -> int:
    """Return the 3° Gauss–Krüger zone number containing longitude ``lon``.

    Examples
    --------
    >>> gk_zone_for_lon(114.51), gk_zone_for_lon(115.5), gk_zone_for_lon(119.6)
    (38, 39, 40)
    """
    if not math.isfinite(lon):
        raise CRSError(f"经度无效：{lon}")
    return math.floor((lon + 1.5) / 3)


def gk_epsg(zone: int, prefixed: bool = True, *, datum: str = "CGCS2000") -> int:
    """Return the EPSG code of the 3° Gauss–Krüger projection for ``zone``.

    ``prefixed`` selects the variant whose easting carries the zone number (false easting
    ``zone·1e6 + 500 000``); otherwise the "CM" variant (false easting 500 000).
    ``datum`` is ``"CGCS2000"`` (default), ``"XIAN80"`` or ``"BEIJING54"``.

    Examples
    --------
    >>> gk_epsg(38), gk_epsg(38, prefixed=False), gk_epsg(39, datum="XIAN80")
    (4526, 4547, 2363)
    """
    if zone not in _GK_ZONE_RANGE:
        raise CRSError(f"3 度带带号 {zone} 超出范围（25–45）")
    try:
        prefixed_base, cm_base = _GK_BASES[datum.upper()]
    except KeyError:
        raise CRSError(f"不支持的大地基准：{datum}") from None
    return (prefixed_base if prefixed else cm_base) + zone


def gk_zone_from_epsg(epsg: int) -> tuple[int, bool] | None:
    """Return ``(zone, prefixed)`` for a CGCS2000 3° GK EPSG code, else ``None``.

    Examples
    --------
    >>> gk_zone_from_epsg(4527), gk_zone_from_epsg(4548), gk_zone_from_epsg(4490)
    ((39, True), (39, False), None)
    """
    prefixed_base, cm_base = _GK_BASES["CGCS2000"]
    if epsg - prefixed_base in _GK_ZONE_RANGE:
        return epsg - prefixed_base, True
    if epsg - cm_base in _GK_ZONE_RANGE:
        return epsg - cm_base, False
    return None


def is_gk_epsg(epsg: int) -> bool:
    """Tell whether ``epsg`` is a CGCS2000 3° Gauss–Krüger projection (4513–4554)."""
    return gk_zone_from_epsg(epsg) is not None


def _check_epsg(code: object) -> int:
    if not isinstance(code, int) or isinstance(code, bool):
        if code == GCJ02:
            raise CRSError("GCJ-02 坐标须先用 landmatch.geo.gcj02 转换为 WGS84，不能直接投影转换")
        raise CRSError(f"坐标系必须是 EPSG 代码（整数），收到 {code!r}")
    return code


def transform_geom(geom: BaseGeometry, src: int, dst: int) -> BaseGeometry:
    """Transform ``geom`` from EPSG ``src`` to EPSG ``dst`` (x = lon/easting, y = lat/northing).

    All vertices go through pyproj in one vectorised call, so large parcels are cheap.
    Z values are dropped.

    Examples
    --------
    >>> from shapely import Point
    >>> p = transform_geom(Point(114.51, 38.04), 4490, 4526)
    >>> round(p.x, 3), round(p.y, 3)
    (38544770.357, 4212060.678)
    """
    src, dst = _check_epsg(src), _check_epsg(dst)
    if src == dst:
        return geom
    coords = shapely.get_coordinates(geom)
    if coords.size and not np.isfinite(coords).all():
        raise GeometryError("坐标含 NaN 或无穷值，无法进行坐标转换")
    t = transformer(src, dst)

    def _apply(xy: np.ndarray) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        out = np.column_stack([x, y])
        if not np.isfinite(out).all():
            raise CRSError(f"坐标超出 EPSG:{src} → EPSG:{dst} 的有效范围，转换失败；请检查坐标系")
        return out

    return shapely.transform(geom, _apply)


def to_storage(geom: BaseGeometry, src_epsg: int) -> BaseGeometry:
    """Transform ``geom`` from EPSG ``src_epsg`` to the storage CRS (EPSG:4490)."""
    return transform_geom(geom, src_epsg, STORAGE_EPSG)


def from_storage(geom: BaseGeometry, dst_epsg: int) -> BaseGeometry:
    """Transform ``geom`` from the storage CRS (EPSG:4490) to EPSG ``dst_epsg``."""
    return transform_geom(geom, STORAGE_EPSG, dst_epsg)


def gk_epsg_for_geometry(geom_4490: BaseGeometry) -> int:
    """Return the prefixed CGCS2000 GK EPSG code for the zone of the geometry's centroid.

    Examples
    --------
    >>> from shapely import box
    >>> gk_epsg_for_geometry(box(116.6, 39.5, 116.7, 39.6))
    4527
    """
    if geom_4490 is None or geom_4490.is_empty:
        raise GeometryError("几何图形为空，无法确定投影带")
    lon = geom_4490.centroid.x
    if not -180.0 <= lon <= 180.0:
        raise CRSError(f"质心经度 {lon} 不在 −180…180 之间；几何图形似乎不是经纬度坐标")
    return gk_epsg(gk_zone_for_lon(lon), prefixed=True)


_CRS84_RE = re.compile(r"(?:^|[:/])CRS:?84$")
_EPSG_RE = re.compile(r"^(?:EPSG(?:::?|/0/|/)|URN:OGC:DEF:CRS:EPSG:[\d.]*:)?(\d{4,6})$")
_ALIASES: Final = {
    "CGCS2000": STORAGE_EPSG,
    "CGCS 2000": STORAGE_EPSG,
    "中国2000": STORAGE_EPSG,
    "2000国家大地坐标系": STORAGE_EPSG,
    "WGS84": WGS84_EPSG,
    "WGS 84": WGS84_EPSG,
    "WEBMERCATOR": WEB_MERCATOR_EPSG,
}


def _normalise(text: str) -> str:
    text = text.strip().upper()
    for prefix in ("HTTP://WWW.OPENGIS.NET/DEF/CRS/", "HTTPS://WWW.OPENGIS.NET/DEF/CRS/"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def is_crs84(text: str) -> bool:
    """Tell whether ``text`` names OGC CRS84 (WGS 84, lon/lat order).

    Examples
    --------
    >>> is_crs84("http://www.opengis.net/def/crs/OGC/1.3/CRS84"), is_crs84("EPSG:4326")
    (True, False)
    """
    return isinstance(text, str) and bool(_CRS84_RE.search(_normalise(text)))


def parse_crs(value: int | str) -> CrsCode:
    """Parse a user-supplied CRS into an EPSG code (or :data:`GCJ02`).

    Accepts integers, ``"4527"``, ``"EPSG:4527"``, OGC URIs/URNs, ``"CGCS2000"``, ``"CRS84"``
    (→ 4326) and ``"GCJ02"``/``"GCJ-02"`` (→ ``"GCJ02"``).

    Examples
    --------
    >>> parse_crs("EPSG:4527"), parse_crs(4490), parse_crs("http://www.opengis.net/def/crs/EPSG/0/4490")
    (4527, 4490, 4490)
    >>> parse_crs("OGC:CRS84"), parse_crs("cgcs2000"), parse_crs("GCJ-02")
    (4326, 4490, 'GCJ02')
    """
    if isinstance(value, bool):
        raise CRSError(f"无法识别的坐标系：{value!r}")
    if isinstance(value, int):
        return _known_epsg(value, str(value))
    if not isinstance(value, str) or not value.strip():
        raise CRSError("坐标系为空；请指定 EPSG 代码，例如 EPSG:4490")
    text = _normalise(value)
    if text in ("GCJ02", "GCJ-02"):
        return GCJ02
    if is_crs84(text):
        return WGS84_EPSG
    if text in _ALIASES:
        return _ALIASES[text]
    match = _EPSG_RE.match(text)
    if match:
        return _known_epsg(int(match.group(1)), value)
    raise CRSError(
        f"无法识别的坐标系“{value.strip()[:40]}”；请使用 EPSG 代码，例如 EPSG:4490 或 "
        "EPSG:4527；高德、腾讯地图的坐标（GCJ-02）填 GCJ02"
    )


@lru_cache(maxsize=256)
def _known_epsg(code: int, original: str) -> int:
    try:
        pyproj.CRS.from_epsg(code)
    except PyprojCRSError:
        raise CRSError(f"未知的 EPSG 代码：{original}") from None
    return code


_GK_NAME_RE = re.compile(
    r"CGCS[ _]?2000.*?3[-_ ]DEGREE[-_ ]G(?:AUSS-KRUGER|K)[-_ ](?:ZONE[-_ ](\d+)|CM[-_ ](\d+)E)"
)


def crs_from_wkt(prj_text: str, *, min_confidence: int = 70) -> int | None:
    """Identify the EPSG code of an OGC or ESRI WKT string (a shapefile ``.prj``).

    Order of evidence: an EPSG id on the CRS itself, then a CGCS2000 3° GK name (EPSG or ESRI
    spelling — the parameters of "3° CM 117E" equal those of the 6° "CM 117E" CRS, so matching
    by parameters alone is ambiguous), then PROJ's match with at least ``min_confidence``
    (0–100). Returns ``None`` when nothing matches; raises :class:`CRSError` when the text is
    not WKT at all.

    Examples
    --------
    >>> crs_from_wkt(pyproj.CRS.from_epsg(4548).to_wkt("WKT1_ESRI"))
    4548
    """
    text = prj_text.strip().lstrip("\ufeff")
    try:
        crs = pyproj.CRS.from_wkt(text)
    except PyprojCRSError as exc:
        raise CRSError("无法解析 .prj 坐标系定义 (WKT)") from exc
    ident = crs.to_json_dict().get("id") or {}
    if str(ident.get("authority", "")).upper() == "EPSG" and str(ident.get("code", "")).isdigit():
        return int(ident["code"])
    match = _GK_NAME_RE.search(crs.name.upper())
    if match:
        if match.group(1):
            return gk_epsg(int(match.group(1)), prefixed=True)
        return gk_epsg(int(match.group(2)) // 3, prefixed=False)
    return crs.to_epsg(min_confidence=min_confidence)
