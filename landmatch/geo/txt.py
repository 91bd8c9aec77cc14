"""The 自然资源部 界址点坐标 TXT exchange format ("坐标文件"): lenient reader and strict writer.

Layout and parser rules follow docs/domain.md §2. In the file, X is the northing and Y the
easting (usually with a 2-digit zone prefix); in the shapely geometries here x is the easting and
y the northing, as everywhere else in code.

Examples
--------
>>> from shapely import box
>>> from landmatch.geo.crs import to_storage
>>> square = to_storage(box(38544700, 4212000, 38544800, 4212100), 4526)
>>> data = write_txt([{"code": "1", "name": "地块1", "use": "工业用地", "geometry_4490": square}])
>>> parsed = parse_txt(data)
>>> parsed.epsg, parsed.parcels[0].declared_area_ha, round(parsed.parcels[0].geometry.area, 3)
(4526, 1.0, 10000.0)
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import pyproj
import shapely
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from landmatch.dates import beijing_today
from landmatch.errors import CRSError, FormatError, GeometryError
from landmatch.geo.crs import GCJ02, STORAGE_EPSG, gk_epsg, gk_zone_for_lon, parse_crs, to_storage
from landmatch.geo.crs import transform_geom as _transform
from landmatch.geo.measure import M2_PER_HA, M2_PER_MU
from landmatch.geo.validate import check_polygonal, to_multipolygon
from landmatch.numbers import ha, mu, num

COORDS_SECTION = "地块坐标"
_HEADER_SECTIONS = ("属性描述", "项目信息")
_FULLWIDTH = str.maketrans(
    {"【": "[", "】": "]", "［": "[", "］": "]", "＠": "@", "＝": "=", "\u3000": " "}
)
_SECTION_RE = re.compile(r"^\[\s*(.+?)\s*\]$")
#: Relative tolerance for the declared-area check (docs/domain.md §2).
AREA_TOLERANCE = 0.01


@dataclass
class TxtParcel:
    """One parcel (地块) of a TXT file; ``geometry`` is in the file's projected CRS ``epsg``."""

    code: str
    name: str
    use: str
    land_class: str
    declared_area_ha: float | None
    geometry: Polygon | MultiPolygon
    epsg: int
    point_count_declared: int | None = None
    line: int | None = None  # line number of the parcel's header line
    # What was noticed about this parcel (also in TxtFile.warnings): an area off the measured
    # one, a ring closed, a point count that disagrees.
    notes: list[str] = field(default_factory=list)

    @property
    def geometry_4490(self) -> BaseGeometry:
        """The geometry transformed to the storage CRS (EPSG:4490, lon/lat)."""
        return to_storage(self.geometry, self.epsg)


@dataclass
class TxtFile:
    """A parsed TXT file: header keys, parcels, and warnings (Chinese) for the user."""

    header: dict[str, str]
    parcels: list[TxtParcel]
    warnings: list[str] = field(default_factory=list)  # the file's and every parcel's
    epsg: int = STORAGE_EPSG
    file_warnings: list[str] = field(default_factory=list)  # about the file, not a parcel


class ParcelLike(Protocol):
    """What :func:`write_txt` needs; mappings with the same keys are accepted too."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def use(self) -> str: ...
    @property
    def geometry_4490(self) -> BaseGeometry: ...


@dataclass
class _Point:
    name: str
    ring: int
    x: float  # as written: northing unless the columns are swapped
    y: float
    line: int


@dataclass
class _RawParcel:
    fields: list[str]
    line: int
    points: list[_Point] = field(default_factory=list)


@dataclass
class _Ring:
    number: int
    coords: list[tuple[float, float]]
    line: int
    closed_in_file: bool


# --------------------------------------------------------------------------- reading


_UTF_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _decode(data: bytes, encoding: str | None = None) -> str:
    """The file's text: ``encoding`` if given, else by its BOM, else UTF-8, else GB18030.

    Every failure is a :class:`FormatError` for the user, never a ``UnicodeDecodeError``.
    """
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
            "".encode(codec)  # LookupError also for codecs that are not text encodings
        except LookupError:
            raise FormatError(f"未知的字符编码“{encoding}”") from None
        if codec == "utf-8":
            codec = "utf-8-sig"  # the BOM is not part of the text
        try:
            return data.decode(codec)
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"无法按 {encoding} 解码文件（第 {exc.start + 1} 字节起不是有效的 {encoding} 编码）；"
                "请检查所选的字符编码，或不指定让系统自动识别"
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for bom, codec in _UTF_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                raise FormatError(
                    f"文件以 {codec} 字节顺序标记（BOM）开头，但内容不是有效的 {codec} 文本；"
                    "文件可能已损坏，或不是界址点坐标 TXT 文件"
                ) from None
    for codec in ("utf-8", "gb18030"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    raise FormatError("无法识别文件编码（既不是 UTF-8，也不是 GBK/GB18030）；请指定字符编码")


def _split(line: str) -> list[str]:
    fields = [f.strip() for f in (line.split(",") if "," in line else line.split("，"))]
    while len(fields) > 1 and fields[-1] == "":
        fields.pop()
    return fields


def _parse_point(fields: list[str], lineno: int, line: str) -> _Point:
    if len(fields) < 4:
        raise FormatError(
            f"第 {lineno} 行：界址点行应为“点号,圈号,X坐标,Y坐标”，实际为：{line}",
            detail={"line": lineno},
        )
    try:
        number = float(fields[1])
        if not number.is_integer():  # 1.7 is no ring number (it was read as 1)
            raise ValueError(number)
        ring = int(number)
    except (ValueError, OverflowError):  # OverflowError: 1e400 is inf
        raise FormatError(
            f"第 {lineno} 行：圈号不是整数：{fields[1]!r}", detail={"line": lineno}
        ) from None
    try:
        x, y = float(fields[2]), float(fields[3])
    except ValueError:
        x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y)):
        raise FormatError(
            f"第 {lineno} 行：坐标不是有效数字：{fields[2]!r}, {fields[3]!r}",
            detail={"line": lineno},
        )
    return _Point(fields[0], ring, x, y, lineno)


def _read_lines(text: str) -> tuple[dict[str, str], list[_RawParcel]]:
    header: dict[str, str] = {}
    parcels: list[_RawParcel] = []
    section: str | None = None
    seen_coords = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.translate(_FULLWIDTH).strip()
        if not line:
            continue
        match = _SECTION_RE.match(line)
        if match:
            section = match[1]
            seen_coords = seen_coords or section == COORDS_SECTION
            continue
        if section == COORDS_SECTION:
            fields = _split(line)
            if fields[-1] == "@":
                parcels.append(_RawParcel(fields[:-1], lineno))
            elif not parcels:
                raise FormatError(
                    f"第 {lineno} 行：界址点之前缺少地块头行（应以“@”结尾，"
                    f"例如“5,1.0000,1,地块1,面,,工业用地,,@”）",
                    detail={"line": lineno},
                )
            else:
                parcels[-1].points.append(_parse_point(fields, lineno, line))
        elif section in _HEADER_SECTIONS and "=" in line:
            key, value = line.split("=", 1)
            header.setdefault(key.strip(), value.strip())
    if not seen_coords:
        raise FormatError("未找到 [地块坐标] 段；文件不是界址点坐标 TXT 格式")
    if not parcels:
        raise FormatError("[地块坐标] 段中没有地块（以“@”结尾的头行）和界址点")
    for parcel in parcels:
        if not parcel.points:
            raise FormatError(f"第 {parcel.line} 行的地块没有界址点", detail={"line": parcel.line})
    return header, parcels


def _looks_swapped(x: float, y: float) -> bool:
    if abs(x) <= 360 and abs(y) <= 360:  # degrees (with --crs): X should be lat, Y lon
        return x > y
    if x >= 1e7 > y:  # the zone-prefixed easting is in the X column
        return True
    # Without prefixes: northings in China (≥ 2e6) exceed eastings (< 1e6).
    return x < 1e7 and y < 1e7 and x < y


def _datum(text: str) -> str:
    if "80" in text or "西安" in text:
        return "XIAN80"
    if "54" in text or "北京" in text:
        return "BEIJING54"
    return "CGCS2000"


def _header_zone(text: str) -> int | None:
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    number = int(digits)
    # Some writers put the central meridian (e.g. 114) into 带号.
    if 75 <= number <= 135 and number % 3 == 0:
        return number // 3
    return number


def _detect_epsg(header: dict[str, str], eastings: list[float], warnings: list[str]) -> int:
    datum = _datum(header.get("坐标系", ""))
    if datum != "CGCS2000":
        warnings.append(
            f"坐标系为“{header.get('坐标系')}”，转换到 CGCS2000 时未使用七参数，误差可达数十米"
        )
    band = re.sub(r"\D", "", header.get("几度分带", ""))
    if band and band != "3":
        raise CRSError(f"文件为 {band} 度分带，暂不支持自动识别；请指定坐标系（EPSG 代码）")
    header_zone = _header_zone(header.get("带号", ""))
    prefixes = sorted({int(e // 1_000_000) for e in eastings if e >= 1e7})
    odd = [e for e in eastings if 1e6 <= e < 1e7]
    if odd:
        raise CRSError(
            f"横坐标 {odd[0]} 既不带带号也不在 0–1000000 之间，无法确定投影带；"
            "请指定坐标系（EPSG 代码）"
        )
    if prefixes and any(e < 1e6 for e in eastings):
        raise CRSError("文件中既有带带号的横坐标，也有不带带号的横坐标；请指定坐标系（EPSG 代码）")
    if len(prefixes) > 1:
        raise CRSError(
            f"文件混用了多个投影带（带号 {', '.join(map(str, prefixes))}）；请按带号拆分文件"
        )
    if prefixes:
        zone = prefixes[0]
        if header_zone is not None and header_zone != zone:
            warnings.append(
                f"头部“带号={header.get('带号')}”与横坐标前缀 {zone} 不一致，按坐标前缀 {zone} 处理"
            )
        return gk_epsg(zone, prefixed=True, datum=datum)
    if header_zone is None:
        raise CRSError(
            "无法确定投影带：头部“带号”为空，横坐标也不带带号；"
            "请指定坐标系：河北不带带号的 CGCS2000 3° 带为 EPSG:4547、4548、4549"
            "（中央经线 114°、117°、120°，即第 38、39、40 带）"
        )
    return gk_epsg(header_zone, prefixed=False, datum=datum)


def _assemble_rings(points: list[_Point], swapped: bool) -> list[_Ring]:
    rings: list[_Ring] = []
    for p in points:
        xy = (p.x, p.y) if swapped else (p.y, p.x)
        current = rings[-1] if rings else None
        if current is None or current.closed_in_file or p.ring != current.number:
            rings.append(_Ring(p.ring, [xy], p.line, False))
            continue
        current.coords.append(xy)
        first = current.coords[0]
        if len(current.coords) >= 4 and math.dist(xy, first) < 1e-6:
            current.closed_in_file = True
    return rings


def _build_geometry(rings: list[_Ring]) -> Polygon | MultiPolygon:
    # A ring number already seen in the current group starts a new part (1,2,1 or 1,1).
    groups: list[list[_Ring]] = []
    for ring in rings:
        if not groups or ring.number in {r.number for r in groups[-1]}:
            groups.append([ring])
        else:
            groups[-1].append(ring)
    polygons: list[Polygon] = []
    for group in groups:
        shells: list[tuple[Polygon, list[Polygon]]] = [(Polygon(group[0].coords), [])]
        for ring in group[1:]:
            candidate = Polygon(ring.coords)
            for shell, holes in shells:
                if shell.contains(candidate) and not any(h.contains(candidate) for h in holes):
                    holes.append(candidate)
                    break
            else:  # some writers number separate parts 1, 2, 3
                shells.append((candidate, []))
        polygons.extend(
            Polygon(shell.exterior.coords, [h.exterior.coords for h in holes])
            for shell, holes in shells
        )
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def _float_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _int_or_none(text: str) -> int | None:
    value = _float_or_none(text)
    return int(value) if value is not None and value.is_integer() else None


@lru_cache(maxsize=64)
def _is_projected(epsg: int) -> bool:
    return pyproj.CRS.from_epsg(epsg).is_projected


def _check_area(
    label: str, declared: float | None, computed_m2: float, warnings: list[str]
) -> float | None:
    """Return the declared area in hectares, converting m² or 亩 when that is what was written."""
    if declared is None or declared <= 0 or computed_m2 <= 0:
        return declared

    def close(value: float, reference: float) -> bool:
        return abs(value - reference) <= AREA_TOLERANCE * reference

    computed_ha = computed_m2 / M2_PER_HA
    if close(declared, computed_ha):
        return declared
    if close(declared, computed_m2):
        warnings.append(
            f"{label}：地块面积 {declared} 似以平方米填写（计算面积 {num(computed_m2, 2)} m²），"
            f"按规定应为公顷；已换算为 {ha(declared / M2_PER_HA)} 公顷"
        )
        return declared / M2_PER_HA
    if close(declared, computed_m2 / M2_PER_MU):
        warnings.append(
            f"{label}：地块面积 {declared} 似以亩填写（计算面积 {mu(computed_m2 / M2_PER_MU)} 亩），"
            f"按规定应为公顷；已换算为 {ha(declared * M2_PER_MU / M2_PER_HA)} 公顷"
        )
        return declared * M2_PER_MU / M2_PER_HA
    diff = (declared - computed_ha) / computed_ha * 100
    warnings.append(
        f"{label}：申报面积 {declared} 公顷（{mu(declared * M2_PER_HA / M2_PER_MU, fixed=True)} 亩）"
        f"与坐标计算面积 {ha(computed_ha, fixed=True)} 公顷（{mu(computed_m2 / M2_PER_MU, fixed=True)} 亩）"
        f"相差 {diff:+.2f}%（超过 {AREA_TOLERANCE:.0%}）"
    )
    return declared


def _build_parcel(raw: _RawParcel, epsg: int, swapped: bool, file_warnings: list[str]) -> TxtParcel:
    warnings: list[str] = []  # this parcel's, added to the file's at the end
    parcel = _parcel(raw, epsg, swapped, warnings)
    label = _label(raw)
    parcel.notes = [w.removeprefix(label).removeprefix("：") for w in warnings]
    file_warnings.extend(warnings)
    return parcel


def _label(raw: _RawParcel) -> str:
    """How a message names a parcel of the file."""
    code = raw.fields[2] if len(raw.fields) > 2 else ""
    name = raw.fields[3] if len(raw.fields) > 3 else ""
    return f"地块“{code or name or raw.line}”（第 {raw.line} 行）"


def _parcel(raw: _RawParcel, epsg: int, swapped: bool, warnings: list[str]) -> TxtParcel:
    def fld(i: int) -> str:
        return raw.fields[i] if len(raw.fields) > i else ""

    code, name = fld(2), fld(3)
    label = _label(raw)
    rings = _assemble_rings(raw.points, swapped)
    for ring in rings:
        if len(set(ring.coords)) < 3:
            raise FormatError(
                f"第 {ring.line} 行起的第 {ring.number} 圈少于 3 个不同的点，无法构成面",
                detail={"line": ring.line},
            )
        if not ring.closed_in_file:
            ring.coords.append(ring.coords[0])
            warnings.append(f"{label}第 {ring.number} 圈（第 {ring.line} 行起）未闭合，已自动闭合")
    geometry = _build_geometry(rings)
    for problem in check_polygonal(geometry):
        warnings.append(f"{label}：{problem.message_zh}")

    count = _int_or_none(fld(0)) if fld(0) else None
    if fld(0) and count is None:
        warnings.append(f"{label}：界址点数“{fld(0)}”不是整数")
    n_lines = len(raw.points)
    explicit_closings = sum(r.closed_in_file for r in rings)
    if count is not None and count not in (n_lines, n_lines - explicit_closings):
        warnings.append(f"{label}：界址点数 {count} 与实际点行数 {n_lines} 不符")

    declared = _float_or_none(fld(1)) if fld(1) else None
    if fld(1) and declared is None:
        warnings.append(f"{label}：地块面积“{fld(1)}”不是数字")
    if _is_projected(epsg):
        declared = _check_area(label, declared, geometry.area, warnings)
    return TxtParcel(
        code=code,
        name=name,
        use=fld(6),
        land_class=fld(7),
        declared_area_ha=declared,
        geometry=geometry,
        epsg=epsg,
        point_count_declared=count,
        line=raw.line,
    )


def parse_txt(data: bytes, *, crs: int | str | None = None, encoding: str | None = None) -> TxtFile:
    """Parse a 界址点坐标 TXT file.

    Parameters
    ----------
    data
        The file's bytes (UTF-8 with or without BOM, or GBK/GB18030).
    crs
        EPSG code of the coordinates, overriding the zone taken from ``带号`` or the Y prefix.
    encoding
        The text encoding (e.g. ``"GBK"``), overriding the detection.

    Returns
    -------
    TxtFile
        Parcels with geometries in the file's projected CRS and warnings in Chinese.

    Raises
    ------
    FormatError
        Not this format, undecodable text, or a malformed line (the message names the line
        number).
    CRSError
        Mixed zones, or no zone can be determined (the message asks for a CRS).
    """
    header, raw_parcels = _read_lines(_decode(data, encoding))
    warnings: list[str] = []
    points = [p for raw in raw_parcels for p in raw.points]
    swapped = sum(_looks_swapped(p.x, p.y) for p in points) * 2 > len(points)
    if swapped:
        warnings.append(
            "检测到 X、Y 两列互换（X 应为纵坐标/北坐标，Y 应为横坐标/东坐标），已自动交换"
        )
    eastings = [p.x if swapped else p.y for p in points]
    if crs is not None:
        code = parse_crs(crs)
        if code == GCJ02 or not isinstance(code, int):
            raise CRSError("界址点坐标 TXT 文件不能使用 GCJ-02 坐标系")
        epsg = code
    else:
        epsg = _detect_epsg(header, eastings, warnings)
    about_file = list(warnings)
    parcels = [_build_parcel(raw, epsg, swapped, warnings) for raw in raw_parcels]
    return TxtFile(
        header=header, parcels=parcels, warnings=warnings, epsg=epsg, file_warnings=about_file
    )


# --------------------------------------------------------------------------- writing


def _get(parcel: Any, name: str, default: Any = "") -> Any:
    if isinstance(parcel, Mapping):
        return parcel.get(name, default)
    return getattr(parcel, name, default)


# What ends a line for str.splitlines (the reader here) and for many text tools: CR, LF, VT,
# FF, the C0 separators, NEL, U+2028 and U+2029; with the other C0 controls and DEL, which no
# text field of the format holds.
_NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def _text(value: Any) -> str:
    r"""A value as one field of a parcel's header line: commas made full-width (the field
    separator), and anything that would end the line, or is a control character, a space.

    >>> _text("甲,乙\u2028丙\r\n")
    '甲，乙 丙'
    """
    text = "" if value is None else str(value)
    return _NOT_IN_A_LINE.sub(" ", text.replace(",", "，")).strip()


def parcel_zone(geom_4490: BaseGeometry) -> int:
    """The 3° Gauss–Krüger zone a parcel is written in: that of its centroid's longitude.

    Examples
    --------
    >>> from shapely import box
    >>> parcel_zone(box(114.50, 38.03, 114.51, 38.04)), parcel_zone(box(119.15, 39.70, 119.16, 39.71))
    (38, 40)
    """
    return gk_zone_for_lon(geom_4490.centroid.x)


def _polygonal(items: list[Any]) -> list[MultiPolygon]:
    if not items:
        raise FormatError("没有可写出的地块")
    geometries = []
    for item in items:
        geom = _get(item, "geometry_4490", None)
        if geom is None or geom.is_empty:
            raise GeometryError(f"地块“{_get(item, 'code')}”的几何图形为空，无法写出")
        geometries.append(to_multipolygon(geom))
    return geometries


def write_txt(
    parcels: Iterable[ParcelLike | Mapping[str, Any]],
    *,
    zone: int | None = None,
    prefixed: bool = True,
    encoding: str = "utf-8",
    producer: str = "",
    produced_on: dt.date | None = None,
    newline: str = "\r\n",
) -> bytes:
    """Write parcels (geometries in EPSG:4490) as a CGCS2000 3° GK 界址点坐标 TXT file.

    Each parcel needs ``code``, ``name``, ``use`` and ``geometry_4490`` (``land_class``
    optional), as attributes or mapping keys. Coordinates are projected to ``zone`` and written
    to the millimetre; points are numbered J1, J2 … per parcel with each ring closed by
    repeating its first point; holes are rings 2, 3 …; every further part starts again at
    ring 1. 地块面积 is the planar GK area in 公顷.

    Without ``zone``, all parcels must lie in one zone (:func:`parcel_zone`): a file carries a
    single 带号 and readers reject files that mix zones. Use :func:`write_txt_zones` for
    parcels that span several zones.
    """
    items = list(parcels)
    geometries = _polygonal(items)
    if zone is None:
        zones = sorted({parcel_zone(g) for g in geometries})
        if len(zones) > 1:
            raise FormatError(
                f"地块分属多个 3° 投影带（{'、'.join(map(str, zones))} 带），"
                "一个界址点坐标 TXT 文件只能有一个带号；请按带分别写出"
            )
        zone = zones[0]
    return _write(items, geometries, zone, prefixed, encoding, producer, produced_on, newline)


def write_txt_zones(
    parcels: Iterable[ParcelLike | Mapping[str, Any]], **options: Any
) -> dict[int, bytes]:
    """Write parcels as one TXT file per 3° zone, each parcel in its own zone.

    Returns ``{zone: file bytes}`` in zone order; parcels keep their order within a file.
    ``options`` are those of :func:`write_txt` except ``zone``.

    Examples
    --------
    >>> from shapely import box
    >>> files = write_txt_zones([
    ...     {"code": "A-1", "name": "", "use": "", "geometry_4490": box(119.15, 39.70, 119.16, 39.71)},
    ...     {"code": "A-2", "name": "", "use": "", "geometry_4490": box(114.50, 38.03, 114.51, 38.04)},
    ... ])
    >>> {zone: parse_txt(data).epsg for zone, data in files.items()}
    {38: 4526, 40: 4528}
    """
    items = list(parcels)
    geometries = _polygonal(items)
    by_zone: dict[int, list[int]] = {}
    for i, geom in enumerate(geometries):
        by_zone.setdefault(parcel_zone(geom), []).append(i)
    return {
        zone: write_txt([items[i] for i in by_zone[zone]], zone=zone, **options)
        for zone in sorted(by_zone)
    }


def _write(
    items: list[Any],
    geometries: list[MultiPolygon],
    zone: int,
    prefixed: bool,
    encoding: str,
    producer: str,
    produced_on: dt.date | None,
    newline: str,
) -> bytes:
    epsg = gk_epsg(zone, prefixed=prefixed)
    lines = [
        "[属性描述]",
        "格式版本号=1.01版本",
        f"数据产生单位={_text(producer)}",
        f"数据产生日期={(produced_on or beijing_today()).isoformat()}",
        "坐标系=2000国家大地坐标系",
        "几度分带=3",
        "投影类型=高斯克吕格",
        "计量单位=米",
        f"带号={zone}",
        "精度=0.001",
        "转换参数=,,,,,,",
        f"[{COORDS_SECTION}]",
    ]
    for item, geom in zip(items, geometries, strict=True):
        projected = _transform(geom, STORAGE_EPSG, epsg)
        point_lines: list[str] = []
        number = 0
        for polygon in shapely.get_parts(projected):
            for ring_no, ring in enumerate([polygon.exterior, *polygon.interiors], start=1):
                coords = list(ring.coords)[:-1]
                first = number + 1
                for east, north in coords:
                    number += 1
                    point_lines.append(f"J{number},{ring_no},{north:.3f},{east:.3f}")
                east, north = coords[0]
                point_lines.append(f"J{first},{ring_no},{north:.3f},{east:.3f}")
        area_ha = projected.area / M2_PER_HA
        fields = [
            str(len(point_lines)),
            f"{area_ha:.4f}",
            _text(_get(item, "code")),
            _text(_get(item, "name")),
            "面",
            "",
            _text(_get(item, "use")),
            _text(_get(item, "land_class")),
            "@",
        ]
        lines.append(",".join(fields))
        lines.extend(point_lines)
    text = newline.join(lines) + newline
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise FormatError(
            f"无法用 {encoding} 编码写出：{exc.object[exc.start : exc.end]!r}"
        ) from None
