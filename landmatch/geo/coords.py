"""A boundary typed as text: one vertex per line (``经度,纬度``, EPSG:4490), a blank line
between rings. The keyboard's way to edit a boundary (the map's is GeoMan); a point's is its
two numbers (:func:`point_from_text`).

A ring that lies inside the shell of a polygon read before it is that polygon's hole; any
other ring starts a new polygon.

>>> g = polygon_from_text("114.5,38.0\\n114.51,38.0\\n114.51,38.01\\n114.5,38.01")
>>> g.geom_type, len(g.geoms[0].exterior.coords)
('MultiPolygon', 5)
>>> text_from_geometry(g).splitlines()[0]
'114.50000000,38.00000000'
>>> point_from_text(" 114.5 ", "38，").coords[0]
(114.5, 38.0)
"""

from __future__ import annotations

import re

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from landmatch.errors import GeometryError

_SPLIT = re.compile(r"[,，\s]+")
MAX_CHARS = 2_000_000


def polygon_from_text(text: str) -> MultiPolygon:
    """Rings of ``lon,lat`` lines → a MultiPolygon (rings closed if they are not);
    GeometryError naming the line of a problem."""
    if len(text) > MAX_CHARS:
        raise GeometryError("坐标文本过长")
    rings: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            if current:
                rings.append(current)
                current = []
            continue
        parts = [p for p in _SPLIT.split(line) if p]
        if len(parts) != 2:
            raise GeometryError(f"第 {n} 行应为“经度,纬度”两个数：{line[:40]}")
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise GeometryError(f"第 {n} 行不是数字：{line[:40]}") from None
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            raise GeometryError(f"第 {n} 行坐标超出经纬度范围：{line[:40]}")
        current.append((x, y))
    if current:
        rings.append(current)
    if not rings:
        raise GeometryError("没有坐标：每行一个界址点“经度,纬度”，环与环之间空一行")
    polygons: list[tuple[list[tuple[float, float]], list[list[tuple[float, float]]]]] = []
    for k, ring in enumerate(rings, start=1):
        if ring[0] != ring[-1]:
            ring = [*ring, ring[0]]
        if len(ring) < 4:
            raise GeometryError(f"第 {k} 个环至少需要 3 个不同的界址点")
        shell_of = next(
            (p for p in polygons if Polygon(p[0]).contains(Polygon(ring).representative_point())),
            None,
        )
        if shell_of is None:
            polygons.append((ring, []))
        else:
            shell_of[1].append(ring)
    return MultiPolygon([Polygon(shell, holes) for shell, holes in polygons])


def text_from_geometry(geom: BaseGeometry, digits: int = 8) -> str:
    """A (Multi)Polygon as the text :func:`polygon_from_text` reads (closing vertex left out)."""
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    blocks = []
    for poly in parts:
        for ring in (poly.exterior, *poly.interiors):
            coords = list(ring.coords)[:-1]
            blocks.append("\n".join(f"{x:.{digits}f},{y:.{digits}f}" for x, y, *_ in coords))
    return "\n\n".join(blocks)


#: A point's fields: (form field, label, valid range).
POINT_FIELDS = (("lon", "经度", (-180.0, 180.0)), ("lat", "纬度", (-90.0, 90.0)))


def point_from_text(lon: str, lat: str) -> Point:
    """A point from its typed 经度 and 纬度 (decimal degrees; a trailing comma or spaces
    ignored); GeometryError naming the field (``lon`` or ``lat``) of a problem."""
    values = []
    for (name, label, (low, high)), typed in zip(POINT_FIELDS, (lon, lat), strict=True):
        raw = typed.strip().strip(",，").strip()
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:  # NaN and inf fail too
            reason = f"应为 {low:g} 到 {high:g} 之间的十进制度数" if raw else f"请填写{label}"
            raise GeometryError(
                f"{label}{reason}：{raw[:40]}" if raw else reason,
                detail=[{"field": name, "reason": reason}],
            )
        values.append(value)
    return Point(*values)


def text_from_point(point: BaseGeometry, digits: int = 7) -> tuple[str, str]:
    """A point's 经度 and 纬度 as :func:`point_from_text` reads them (7 decimals: 1 cm)."""
    return f"{point.x:.{digits}f}", f"{point.y:.{digits}f}"


def same_boundary(a: BaseGeometry, b: BaseGeometry) -> bool:
    """Whether two boundaries read the same as coordinates text (:func:`text_from_geometry`,
    8 decimals, about 1 mm), whichever vertex a ring starts at and whichever way it runs: a
    boundary page saved as it was opened.

    >>> g = polygon_from_text("114.5,38.0\\n114.51,38.0\\n114.51,38.01\\n114.5,38.01")
    >>> same_boundary(g, polygon_from_text("114.5,38.01\\n114.51,38.01\\n114.51,38.0\\n114.5,38.0"))
    True
    >>> same_boundary(g, polygon_from_text("114.5,38.0\\n114.51,38.0\\n114.51,38.02\\n114.5,38.01"))
    False
    """
    return text_from_geometry(shapely.normalize(a)) == text_from_geometry(shapely.normalize(b))
