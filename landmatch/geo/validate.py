"""Checks and repair for parcel geometries (polygons), with problems reported in Chinese.

Checks return :class:`Problem` values rather than raising, so an import can report every bad
row at once; :func:`repair` and :func:`to_multipolygon` raise :class:`GeometryError` when nothing
usable is left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import shapely
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from landmatch.errors import GeometryError
from landmatch.geo.crs import HEBEI_BBOX

Bbox = tuple[float, float, float, float]
G = TypeVar("G", BaseGeometry, np.ndarray)  # one geometry, or an array of them


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a geometry.

    ``code`` is stable and machine-readable (``empty``, ``not_polygonal``, ``non_finite``,
    ``too_few_points``, ``invalid``, ``outside_bbox``); ``message_zh`` is for the user;
    ``location`` is an (x, y) where the problem sits, when known.
    """

    code: str
    message_zh: str
    location: tuple[float, float] | None = None


_POLYGONAL = ("Polygon", "MultiPolygon")

# GEOS reasons (shapely.is_valid_reason) → Chinese.
_REASONS_ZH = {
    "Self-intersection": "自相交",
    "Ring Self-intersection": "环自相交",
    "Too few points": "点数过少",
    "Hole lies outside shell": "内环（洞）位于外环之外",
    "Nested holes": "内环相互嵌套",
    "Interior is disconnected": "面内部不连通",
    "Nested shells": "外环相互嵌套",
    "Duplicate Rings": "存在重复的环",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
}
_REASON_RE = re.compile(r"^(?P<reason>[^\[]+?)\s*\[(?P<x>\S+)\s+(?P<y>\S+)(?:\s+\S+)?\]\s*$")


def too_many_vertices(n: int, limit: int) -> Problem | None:
    """A geometry with more than ``limit`` vertices (every response carrying it would be
    megabytes): refused, with the count, the limit and what to do.

    >>> too_many_vertices(500_000, 20_000).message_zh
    '几何图形有 500,000 个顶点，超过上限 20,000 个；请先抽稀（简化）边界再导入'
    >>> too_many_vertices(5, 20_000) is None
    True
    """
    if n <= limit:
        return None
    return Problem(
        "too_many_vertices",
        f"几何图形有 {n:,} 个顶点，超过上限 {limit:,} 个；请先抽稀（简化）边界再导入",
    )


def _fmt(v: float) -> str:
    return repr(round(float(v), 6))


def _where(location: tuple[float, float] | None) -> str:
    return f" 位于 {_fmt(location[0])}, {_fmt(location[1])}" if location else ""


def parse_reason(reason: str) -> tuple[str, tuple[float, float] | None]:
    """Split a GEOS validity reason into its text and its location.

    Examples
    --------
    >>> parse_reason("Self-intersection[114.5 38]")
    ('Self-intersection', (114.5, 38.0))
    >>> parse_reason("Valid Geometry")
    ('Valid Geometry', None)
    """
    match = _REASON_RE.match(reason)
    if not match:
        return reason.strip(), None
    try:
        return match["reason"], (float(match["x"]), float(match["y"]))
    except ValueError:
        return match["reason"], None


def check_polygonal(geom: BaseGeometry | None) -> list[Problem]:
    """List what is wrong with ``geom`` as a parcel (Polygon or MultiPolygon); ``[]`` if fine.

    Stops at the first structural problem (empty, wrong type, NaN), because later checks would
    only repeat it.

    Examples
    --------
    >>> from shapely import Polygon
    >>> [p.message_zh for p in check_polygonal(Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]))]
    ['几何图形无效：自相交 (Self-intersection) 位于 1.0, 1.0']
    """
    if geom is None or geom.is_empty:
        return [Problem("empty", "几何图形为空")]
    if geom.geom_type not in _POLYGONAL:
        first = shapely.get_coordinates(geom)[:1]
        loc = (float(first[0, 0]), float(first[0, 1])) if len(first) else None
        return [
            Problem(
                "not_polygonal",
                f"几何类型为 {geom.geom_type}，此处需要面（Polygon/MultiPolygon）",
                loc,
            )
        ]
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        return [Problem("non_finite", "坐标含 NaN 或无穷值")]
    problems: list[Problem] = []
    for ring in shapely.get_rings(shapely.get_parts(geom)):
        ring_coords = shapely.get_coordinates(ring)
        if len(np.unique(ring_coords, axis=0)) < 3:
            loc = (float(ring_coords[0, 0]), float(ring_coords[0, 1]))
            problems.append(Problem("too_few_points", f"环的不同顶点少于 3 个{_where(loc)}", loc))
    if problems:
        return problems
    if not shapely.is_valid(geom):
        reason, loc = parse_reason(shapely.is_valid_reason(geom))
        zh = _REASONS_ZH.get(reason, "拓扑错误")
        problems.append(Problem("invalid", f"几何图形无效：{zh} ({reason}){_where(loc)}", loc))
    return problems


def _polygon_parts(geom: BaseGeometry) -> list[Polygon]:
    parts: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon" and not part.is_empty:
            parts.append(part)
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            parts.extend(_polygon_parts(part))
    return parts


_TYPE_ZH = {
    "Point": "点",
    "MultiPoint": "点",
    "LineString": "线",
    "MultiLineString": "线",
    "LinearRing": "线",
}


def _leaves(geom: BaseGeometry) -> list[BaseGeometry]:
    """The single geometries of ``geom``, through nested collections and multi-parts."""
    out: list[BaseGeometry] = []
    for part in shapely.get_parts(geom):
        if shapely.get_type_id(part) in (4, 5, 6, 7):  # Multi*, GeometryCollection
            out.extend(_leaves(part))
        else:
            out.append(part)
    return out


def collection_polygons(geom: BaseGeometry) -> MultiPolygon:
    """The polygons of a GeometryCollection (nested ones too) as one MultiPolygon, unchecked:
    :class:`GeometryError` when a member is not a polygon (a point or line would be dropped
    silently) or when no polygon is left. Whether the parts together are valid (overlapping
    parts are not) is the caller's check, on the result.

    Examples
    --------
    >>> from shapely import GeometryCollection, Point, box
    >>> collection_polygons(GeometryCollection([box(0, 0, 1, 1), box(2, 0, 3, 1)])).geom_type
    'MultiPolygon'
    >>> collection_polygons(GeometryCollection([box(0, 0, 1, 1), Point(5, 5)]))
    Traceback (most recent call last):
    ...
    landmatch.errors.GeometryError: 几何集合中含有点（Point），地块边界只能由面（Polygon/MultiPolygon）组成
    """
    others: list[str] = []
    for part in _leaves(geom):
        if part.is_empty or part.geom_type == "Polygon":
            continue
        kind = f"{_TYPE_ZH.get(part.geom_type, '非面要素')}（{part.geom_type}）"
        if kind not in others:
            others.append(kind)
    if others:
        raise GeometryError(
            f"几何集合中含有{'、'.join(others)}，地块边界只能由面（Polygon/MultiPolygon）组成"
        )
    polygons = _polygon_parts(geom)
    if not polygons:
        raise GeometryError("几何集合中没有面（Polygon），无法作为地块边界")
    return MultiPolygon(polygons)


def to_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Return ``geom`` as a MultiPolygon (polygon parts of a collection are kept).

    Examples
    --------
    >>> from shapely import box
    >>> to_multipolygon(box(0, 0, 1, 1)).geom_type
    'MultiPolygon'
    """
    if geom is None or geom.is_empty:
        return MultiPolygon()
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    if geom.geom_type == "GeometryCollection":
        return MultiPolygon(_polygon_parts(geom))
    raise GeometryError(f"几何类型为 {geom.geom_type}，无法转换为面（MultiPolygon）")


def normalise_polygons(geoms: G) -> G:
    """Polygonal geometries as every writer stores them and every output gives them:
    repeated consecutive vertices removed, exterior rings counterclockwise and holes clockwise
    (RFC 7946 §3.1.6, the OGC Simple Features convention). The point set is unchanged (same
    area, same shape); other geometry types and ``None`` pass through.

    The SQL twin, for geometries built in the database (unions, stored rows), is
    ``ST_ForcePolygonCCW(ST_RemoveRepeatedPoints(g))`` (``landmatch.db.geometry``).

    Examples
    --------
    >>> from shapely import Polygon
    >>> cw = Polygon([(0, 0), (0, 1), (1, 1), (1, 1), (1, 0), (0, 0)])
    >>> normalise_polygons(cw).wkt
    'POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))'
    >>> normalise_polygons(np.array([cw, None], dtype=object))[1] is None
    True
    """
    out = shapely.remove_repeated_points(geoms, 0.0)
    return shapely.orient_polygons(out, exterior_cw=False)  # type: ignore[no-any-return]


def repair(geom: BaseGeometry) -> tuple[MultiPolygon, list[str]]:
    """Make ``geom`` a valid MultiPolygon; return it with warnings (in Chinese) about changes.

    Uses ``make_valid(method="structure")`` (rings are re-noded, shells unioned, holes
    subtracted), keeps only polygonal parts and reports the change in planar area.

    Examples
    --------
    >>> from shapely import Polygon
    >>> fixed, warnings = repair(Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]))
    >>> fixed.is_valid, len(fixed.geoms), fixed.area
    (True, 2, 2.0)
    """
    if geom is None or geom.is_empty:
        raise GeometryError("几何图形为空，无法修复")
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise GeometryError("坐标含 NaN 或无穷值，无法修复")
    if geom.geom_type in _POLYGONAL and geom.is_valid:
        return to_multipolygon(geom), []
    if geom.geom_type not in (*_POLYGONAL, "GeometryCollection"):
        raise GeometryError(f"几何类型为 {geom.geom_type}，此处需要面（Polygon/MultiPolygon）")

    warnings: list[str] = []
    if not geom.is_valid:
        reason, loc = parse_reason(shapely.is_valid_reason(geom))
        zh = _REASONS_ZH.get(reason, "拓扑错误")
        warnings.append(f"几何图形无效（{zh}{_where(loc)}），已自动修复")
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    all_parts = list(shapely.get_parts(fixed))
    polygons = _polygon_parts(fixed)
    dropped = sum(1 for p in all_parts if p.geom_type not in (*_POLYGONAL, "GeometryCollection"))
    if dropped:
        warnings.append(f"修复时丢弃了 {dropped} 个非面部分（点或线）")
    if not polygons:
        raise GeometryError("修复后没有剩下有效的面")
    result = (
        to_multipolygon(shapely.union_all(polygons))
        if len(polygons) > 1
        else MultiPolygon(polygons)
    )
    before, after = geom.area, result.area
    if before > 0:
        change = (after - before) / before * 100
        if abs(change) >= 0.005:
            warnings.append(f"修复后面积变化 {change:+.2f}%")
    else:
        warnings.append("原图形面积为 0（自相交部分相互抵消），修复后面积不为 0")
    return result, warnings


def check_in_bbox(geom: BaseGeometry, bbox: Bbox, *, region_zh: str = "给定范围") -> Problem | None:
    """Return a problem when ``geom`` is not entirely inside ``bbox`` (min_x, min_y, max_x, max_y).

    Examples
    --------
    >>> from shapely import box
    >>> from landmatch.geo.crs import CHINA_BBOX
    >>> check_in_bbox(box(2.35, 48.85, 2.36, 48.86), CHINA_BBOX, region_zh="中国").code
    'outside_bbox'
    """
    if geom is None or geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    bminx, bminy, bmaxx, bmaxy = bbox
    if bminx <= minx and maxx <= bmaxx and bminy <= miny and maxy <= bmaxy:
        return None
    c = geom.centroid
    loc = (c.x, c.y) if np.isfinite([c.x, c.y]).all() else None
    return Problem(
        "outside_bbox",
        f"几何图形超出{region_zh}（范围 {bminx}–{bmaxx}, {bminy}–{bmaxy}）{_where(loc)}",
        loc,
    )


def looks_swapped_latlon(geom: BaseGeometry, bbox: Bbox = HEBEI_BBOX) -> bool:
    """Tell whether ``geom`` lies in ``bbox`` (Hebei by default) only once x and y are swapped.

    Examples
    --------
    >>> from shapely import Point
    >>> looks_swapped_latlon(Point(38.04, 114.51)), looks_swapped_latlon(Point(114.51, 38.04))
    (True, False)
    """
    if geom is None or geom.is_empty:
        return False
    minx, miny, maxx, maxy = geom.bounds
    bminx, bminy, bmaxx, bmaxy = bbox

    def inside(x0: float, y0: float, x1: float, y1: float) -> bool:
        return bminx <= x0 and x1 <= bmaxx and bminy <= y0 and y1 <= bmaxy

    return inside(miny, minx, maxy, maxx) and not inside(minx, miny, maxx, maxy)
