"""Areas and distances: geodesic on the CGCS2000 ellipsoid, never in degrees or Web Mercator.

Store square metres; derive 亩 and 公顷 with the exact factors of docs/domain.md §0.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import shapely
from pyproj import Geod
from shapely import Point
from shapely.geometry.base import BaseGeometry

from landmatch.errors import GeometryError
from landmatch.geo.crs import STORAGE_EPSG, gk_epsg_for_geometry, transform_geom

#: 1 亩 = 10000/15 m² exactly; never round this factor.
M2_PER_MU: Final = 10000 / 15
M2_PER_HA: Final = 10000.0

#: CGCS2000 uses the GRS80 ellipsoid (its flattening differs from GRS80 by < 1e-10).
GEOD: Final = Geod(ellps="GRS80")


def m2_to_mu(m2: float) -> float:
    """Convert square metres to 亩.

    Examples
    --------
    >>> m2_to_mu(10000.0)
    15.0
    """
    return m2 / M2_PER_MU


def m2_to_ha(m2: float) -> float:
    """Convert square metres to 公顷 (hectares)."""
    return m2 / M2_PER_HA


def mu_to_m2(mu: float) -> float:
    """Convert 亩 to square metres.

    Examples
    --------
    >>> round(mu_to_m2(1.0), 6)
    666.666667
    """
    return mu * M2_PER_MU


def ha_to_m2(ha: float) -> float:
    """Convert 公顷 (hectares) to square metres."""
    return ha * M2_PER_HA


def _polygons(geom: BaseGeometry) -> list[shapely.Polygon]:
    parts = shapely.get_parts(geom) if geom.geom_type.startswith(("Multi", "Geometry")) else [geom]
    out: list[shapely.Polygon] = []
    for part in parts:
        if part.geom_type == "Polygon":
            out.append(part)
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_polygons(part))
    return out


def _check_lonlat(geom: BaseGeometry) -> None:
    minx, miny, maxx, maxy = geom.bounds
    if not (minx >= -180.0 and maxx <= 180.0 and miny >= -90.0 and maxy <= 90.0):
        raise GeometryError(
            f"坐标超出经纬度范围（{minx:.3f}, {miny:.3f} – {maxx:.3f}, {maxy:.3f}）；"
            f"面积计算需要 EPSG:{STORAGE_EPSG} 经纬度坐标"
        )


def _ring_area(ring: shapely.LinearRing) -> float:
    lon, lat = np.asarray(ring.xy)
    area, _ = GEOD.polygon_area_perimeter(lon, lat)
    return abs(area)


def area_m2(geom_4490: BaseGeometry) -> float:
    """Geodesic area in m² of a lon/lat (EPSG:4490) geometry on the CGCS2000 ellipsoid.

    Holes are subtracted and parts summed whatever the ring orientation; non-polygonal parts
    count as zero; an empty geometry has area 0.

    Examples
    --------
    >>> from shapely import box
    >>> round(area_m2(box(114.5, 38.0, 114.51, 38.01)))  # about 877 m × 1111 m
    974844
    """
    if geom_4490 is None or geom_4490.is_empty:
        return 0.0
    _check_lonlat(geom_4490)
    if not np.isfinite(shapely.get_coordinates(geom_4490)).all():
        raise GeometryError("坐标含 NaN 或无穷值，无法计算面积")
    total = 0.0
    for poly in _polygons(geom_4490):
        total += _ring_area(poly.exterior) - sum(_ring_area(r) for r in poly.interiors)
    return total


def area_mu(geom_4490: BaseGeometry) -> float:
    """Geodesic area in 亩 of a lon/lat (EPSG:4490) geometry."""
    return m2_to_mu(area_m2(geom_4490))


def area_m2_gk(geom_4490: BaseGeometry, epsg: int | None = None) -> float:
    """Planar area in m² after projecting to the geometry's 3° Gauss–Krüger zone.

    This is what survey software reports (shoelace on GK coordinates); compare it with declared
    areas in TXT files. ``epsg`` overrides the zone chosen from the centroid.

    Examples
    --------
    >>> from shapely import box
    >>> g = box(114.5, 38.0, 114.51, 38.01)
    >>> abs(area_m2_gk(g) / area_m2(g) - 1) < 3e-4
    True
    """
    if geom_4490 is None or geom_4490.is_empty:
        return 0.0
    _check_lonlat(geom_4490)
    target = epsg if epsg is not None else gk_epsg_for_geometry(geom_4490)
    return float(sum(p.area for p in _polygons(transform_geom(geom_4490, STORAGE_EPSG, target))))


def _lonlat(p: Point | tuple[float, float]) -> tuple[float, float]:
    if isinstance(p, Point):
        if p.is_empty:
            raise GeometryError("点为空，无法计算距离")
        return p.x, p.y
    lon, lat = p
    return float(lon), float(lat)


def distance_m(a: Point | tuple[float, float], b: Point | tuple[float, float]) -> float:
    """Geodesic distance in metres between two lon/lat points (shapely or ``(lon, lat)``).

    Examples
    --------
    >>> round(distance_m((114.51, 38.04), (114.51, 39.04)))  # one degree of latitude
    111007
    """
    (lon1, lat1), (lon2, lat2) = _lonlat(a), _lonlat(b)
    for lon, lat in ((lon1, lat1), (lon2, lat2)):
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise GeometryError(f"坐标 {lon}, {lat} 不是有效的经纬度")
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return float(dist)


# Vertices of the sampled circle; the circle is sampled at radius r / cos(π/n) so that the
# polygon through the samples circumscribes the true circle.
_BBOX_SAMPLES: Final = 360


def bbox_of_radius(lon: float, lat: float, km: float) -> tuple[float, float, float, float]:
    """Lon/lat box ``(min_lon, min_lat, max_lon, max_lat)`` containing the geodesic circle.

    The box is at most about 0.01 % larger than the circle's true extent, which makes it a safe
    pre-filter (e.g. for a spatial index) before an exact :func:`distance_m` test.

    Examples
    --------
    >>> [round(v, 3) for v in bbox_of_radius(114.51, 38.04, 10)]
    [114.396, 37.95, 114.624, 38.13]
    """
    if km < 0 or not math.isfinite(km):
        raise GeometryError(f"半径无效：{km} km")
    if not (-180.0 <= lon <= 180.0 and -90.0 < lat < 90.0):
        raise GeometryError(f"坐标 {lon}, {lat} 不是有效的经纬度")
    if km == 0:
        return lon, lat, lon, lat
    az = np.linspace(0.0, 360.0, _BBOX_SAMPLES, endpoint=False)
    radius = km * 1000.0 / math.cos(math.pi / _BBOX_SAMPLES)
    lons, lats, _ = GEOD.fwd(
        np.full_like(az, lon), np.full_like(az, lat), az, np.full_like(az, radius)
    )
    return float(lons.min()), float(lats.min()), float(lons.max()), float(lats.max())
