"""GCJ-02 ("Mars coordinates", used by Amap/Gaode and Tencent maps) ⇄ WGS 84.

GCJ-02 is a deliberate, non-linear offset of WGS 84 longitude/latitude of a few hundred metres
(about 265–606 m across China; roughly 300–600 m in Hebei). PROJ cannot express it, so it is
implemented here with the published formula on the Krasovsky ellipsoid
(``a = 6378245.0``, ``e² = 0.00669342162296594323``), as used by every open converter.

**CGCS2000 (EPSG:4490) and WGS 84 are treated as identical** at map scale: they agree to
centimetres and PROJ itself treats 4326 ⇄ 4490 as a no-op. "WGS 84" below therefore also means
the project's storage CRS, CGCS2000.

The forward direction (WGS 84 → GCJ-02) is closed-form. The inverse has no closed form; the
one-step approximation ``w ≈ g − (f(g) − g)`` is only metre-accurate, so
:func:`gcj02_to_wgs84` iterates the fixed point ``w ← w − (f(w) − g)`` until the correction is
below ``tol`` degrees (default 1e-9°, about 0.1 mm), which converges in a handful of steps
because the offset varies slowly with position.

Like all converters, the "inside China" test is a rough bounding box (:func:`out_of_china`);
points outside it are returned unchanged, points inside it but outside China (e.g. Seoul) are
shifted wrongly. Only use these functions on data known to be GCJ-02.

The module is pure: numpy and shapely only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from landmatch.errors import CRSError, InvalidInput

__all__ = [
    "CHINA_BBOX",
    "KRASOVSKY_A",
    "KRASOVSKY_EE",
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_geom",
    "out_of_china",
    "wgs84_to_gcj02",
    "wgs84_to_gcj02_geom",
]

#: Semi-major axis of the Krasovsky 1940 ellipsoid used by the GCJ-02 formula, in metres.
KRASOVSKY_A = 6378245.0
#: First eccentricity squared of the Krasovsky 1940 ellipsoid.
KRASOVSKY_EE = 0.00669342162296594323
#: The customary rough "inside China" box: (min lon, min lat, max lon, max lat) in degrees.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)

FloatArray = NDArray[np.float64]


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    try:
        x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    except ValueError as exc:
        raise InvalidInput("经度与纬度数组的形状不一致", detail=str(exc)) from exc
    return x, y


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether points lie outside the rough "inside China" box used by GCJ-02 converters.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees (broadcastable).

    Returns
    -------
    numpy.ndarray of bool
        True where the point is outside the box (or not finite) and is left unchanged by the
        conversions.

    Examples
    --------
    >>> out_of_china([114.51, 2.35], [38.04, 48.85]).tolist()
    [False, True]
    """
    x, y = _as_arrays(lon, lat)
    min_lon, min_lat, max_lon, max_lat = CHINA_BBOX
    with np.errstate(invalid="ignore"):
        inside = (x >= min_lon) & (x <= max_lon) & (y >= min_lat) & (y <= max_lat)
    return ~inside


def _offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 offset (dlon, dlat) in degrees, evaluated at a WGS 84 position."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    # The published distortion polynomials, in metres along the meridian / parallel.
    dlat_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y / 30.0 * pi)) * 2.0 / 3.0
    )
    dlon_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    # Metres per degree of latitude / longitude on the Krasovsky ellipsoid.
    m_per_deg_lat = (KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * pi / 180.0
    m_per_deg_lon = KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * pi / 180.0
    return dlon_m / m_per_deg_lon, dlat_m / m_per_deg_lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS 84 (= CGCS2000 at map scale) longitude/latitude to GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        WGS 84 / CGCS2000 (EPSG:4326 / EPSG:4490) longitude and latitude in degrees.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude (float arrays of the broadcast shape). Points outside
        :data:`CHINA_BBOX` and non-finite values are returned unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([114.51], [38.04])
    >>> [round(float(lon[0]), 6), round(float(lat[0]), 6)]
    [114.515993, 38.040634]
    """
    x, y = _as_arrays(lon, lat)
    shift = ~out_of_china(x, y)
    out_x, out_y = x.copy(), y.copy()
    if shift.any():
        dx, dy = _offset(x[shift], y[shift])
        out_x[shift] = x[shift] + dx
        out_y[shift] = y[shift] + dy
    return out_x, out_y


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, tol: float = 1e-9, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to WGS 84 (= CGCS2000 at map scale), iteratively.

    Starting from ``w = g``, iterates ``w ← w − (f(w) − g)`` where ``f`` is
    :func:`wgs84_to_gcj02`, until every correction is below ``tol`` degrees. The result
    reproduces the GCJ-02 input through the forward formula to well under a millimetre.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.
    tol : float, default 1e-9
        Convergence tolerance on the correction, in degrees (1e-9° ≈ 0.1 mm).
    max_iter : int, default 30
        Maximum number of iterations; the usual count is 3–5.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS 84 / CGCS2000 longitude and latitude. Points outside :data:`CHINA_BBOX` and
        non-finite values are returned unchanged.

    Raises
    ------
    landmatch.errors.CRSError
        If the iteration has not converged after ``max_iter`` steps.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84([114.515993], [38.040634])
    >>> [round(float(lon[0]), 5), round(float(lat[0]), 5)]
    [114.51, 38.04]
    """
    gx, gy = _as_arrays(lon, lat)
    wx, wy = gx.copy(), gy.copy()
    todo = ~out_of_china(gx, gy)
    if not todo.any():
        return wx, wy
    tx, ty = gx[todo], gy[todo]
    x, y = tx.copy(), ty.copy()
    for _ in range(max_iter):
        dx, dy = _offset(x, y)
        ex = x + dx - tx
        ey = y + dy - ty
        x -= ex
        y -= ey
        if max(np.max(np.abs(ex)), np.max(np.abs(ey))) < tol:
            break
    else:
        raise CRSError(
            "GCJ-02 坐标反算未收敛",
            detail={"max_iter": max_iter, "tol": tol},
        )
    wx[todo] = x
    wy[todo] = y
    return wx, wy


def _coords_fn(
    convert: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
) -> Callable[[FloatArray], FloatArray]:
    def fn(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=float, copy=True)
        out[:, 0], out[:, 1] = convert(coords[:, 0], coords[:, 1])
        return out  # a Z column, if any, is passed through untouched

    return fn


def _transform_geom(geom, convert):  # type: ignore[no-untyped-def]
    fn = _coords_fn(convert)
    has_z = shapely.has_z(geom)
    if np.ndim(has_z) == 0:
        return shapely.transform(geom, fn, include_z=bool(has_z))
    arr = np.asarray(geom, dtype=object)
    out = np.empty_like(arr)
    out[has_z] = shapely.transform(arr[has_z], fn, include_z=True)
    out[~has_z] = shapely.transform(arr[~has_z], fn, include_z=False)
    return out


def gcj02_to_wgs84_geom(geom):  # type: ignore[no-untyped-def]
    """Convert a shapely geometry (or array of geometries) from GCJ-02 to WGS 84 / CGCS2000.

    Every vertex is converted with :func:`gcj02_to_wgs84`; Z values are kept. Edges stay
    straight between converted vertices, which is exact enough because the offset changes by
    millimetres over a kilometre. Shared vertices map to identical coordinates, so a polygon
    coverage (e.g. adjacent counties) stays a coverage.

    Parameters
    ----------
    geom : shapely.Geometry or array_like of shapely.Geometry
        Geometry in GCJ-02 longitude/latitude.

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        The geometry in WGS 84 / CGCS2000 longitude/latitude.

    Examples
    --------
    >>> from shapely import Point
    >>> p = gcj02_to_wgs84_geom(Point(114.515993, 38.040634))
    >>> round(p.x, 5), round(p.y, 5)
    (114.51, 38.04)
    """
    return _transform_geom(geom, gcj02_to_wgs84)


def wgs84_to_gcj02_geom(geom):  # type: ignore[no-untyped-def]
    """Convert a shapely geometry (or array of geometries) from WGS 84 / CGCS2000 to GCJ-02.

    Parameters
    ----------
    geom : shapely.Geometry or array_like of shapely.Geometry
        Geometry in WGS 84 / CGCS2000 longitude/latitude.

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        The geometry in GCJ-02 longitude/latitude (Z values kept).

    Examples
    --------
    >>> from shapely import Point
    >>> p = wgs84_to_gcj02_geom(Point(114.51, 38.04))
    >>> round(p.x, 6), round(p.y, 6)
    (114.515993, 38.040634)
    """
    return _transform_geom(geom, wgs84_to_gcj02)
