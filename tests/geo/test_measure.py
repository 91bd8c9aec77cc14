from __future__ import annotations

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely import GeometryCollection, Point, affinity, box
from shapely.geometry.base import BaseGeometry

from landmatch.errors import GeometryError
from landmatch.geo import crs, measure
from tests.geo import shapes


def test_unit_factors_are_exact() -> None:
    assert measure.M2_PER_MU == 10000 / 15
    assert measure.m2_to_mu(10000.0) == pytest.approx(15.0, rel=1e-15)
    assert measure.m2_to_ha(10000.0) == 1.0
    assert measure.mu_to_m2(15.0) == pytest.approx(10000.0, rel=1e-15)
    assert measure.ha_to_m2(1.5) == 15000.0
    assert measure.mu_to_m2(measure.m2_to_mu(123.456)) == pytest.approx(123.456, rel=1e-15)
    # 1 km² = 100 ha = 1500 亩
    assert measure.m2_to_mu(1e6) == pytest.approx(1500.0, rel=1e-15)


def _gk_square(east: float, north: float, side: float, epsg: int = 4526) -> BaseGeometry:
    return crs.to_storage(box(east, north, east + side, north + side), epsg)


def test_one_hectare_square_geodesic_and_gk() -> None:
    # 100 m × 100 m drawn in GK zone 38 (docs/domain.md §2).
    sq = _gk_square(38544700.0, 4212000.0, 100.0)
    assert measure.area_m2(sq) == pytest.approx(10000.0, rel=1e-3)
    assert measure.area_m2_gk(sq) == pytest.approx(10000.0, rel=1e-6)
    assert measure.area_mu(sq) == pytest.approx(15.0, rel=1e-3)


def test_area_subtracts_holes_regardless_of_orientation() -> None:
    outer = measure.area_m2(shapely.Polygon(shapes.POLYGON_WITH_HOLE.exterior))
    hole = measure.area_m2(shapely.Polygon(shapes.POLYGON_WITH_HOLE.interiors[0]))
    expected = outer - hole
    assert hole > 0 and outer > hole
    assert measure.area_m2(shapes.POLYGON_WITH_HOLE) == pytest.approx(expected, rel=1e-9)
    for sign in (1.0, -1.0):
        oriented = shapely.geometry.polygon.orient(shapes.POLYGON_WITH_HOLE, sign)
        assert measure.area_m2(oriented) == pytest.approx(expected, rel=1e-9)
    # Both rings clockwise (an invalid orientation some writers produce) still subtracts.
    cw_both = shapely.Polygon(
        list(shapes.POLYGON_WITH_HOLE.exterior.coords)[::-1],
        [list(shapes.POLYGON_WITH_HOLE.interiors[0].coords)[::-1]],
    )
    assert measure.area_m2(cw_both) == pytest.approx(expected, rel=1e-9)


def test_area_sums_parts_and_ignores_non_polygonal() -> None:
    a, b = shapes.MULTIPART.geoms
    total = measure.area_m2(a) + measure.area_m2(b)
    assert measure.area_m2(shapes.MULTIPART) == pytest.approx(total, rel=1e-12)
    gc = GeometryCollection([shapes.MULTIPART, shapes.POINT, shapes.LINE])
    assert measure.area_m2(gc) == pytest.approx(total, rel=1e-12)
    assert measure.area_m2(shapes.POINT) == 0.0
    assert measure.area_m2(shapes.EMPTY) == 0.0


def test_area_rejects_projected_coordinates_and_nan() -> None:
    with pytest.raises(GeometryError, match="经纬度"):
        measure.area_m2(box(38544700.0, 4212000.0, 38544800.0, 4212100.0))
    with pytest.raises(GeometryError, match="NaN"):
        measure.area_m2(shapes.NAN_POLYGON)


def test_area_is_not_planar_degrees_or_web_mercator() -> None:
    sq = shapes.SQUARE_SJZ
    geodesic = measure.area_m2(sq)
    mercator = crs.from_storage(sq, crs.WEB_MERCATOR_EPSG).area
    # Web Mercator inflates areas by 1/cos²(lat) ≈ 1.6 at 38 °N.
    assert mercator / geodesic == pytest.approx(1.62, abs=0.02)
    assert measure.area_m2_gk(sq) == pytest.approx(geodesic, rel=3e-4)


def test_area_gk_with_explicit_zone() -> None:
    sq = shapes.SQUARE_SJZ
    assert measure.area_m2_gk(sq, epsg=4547) == pytest.approx(measure.area_m2_gk(sq), rel=1e-9)
    # Zone 39 for a zone-38 parcel: still close, slightly more scale distortion.
    assert measure.area_m2_gk(sq, epsg=4527) == pytest.approx(measure.area_m2(sq), rel=2e-3)


def test_distance() -> None:
    assert measure.distance_m(Point(114.51, 38.04), (114.51, 38.04)) == 0.0
    # Diagonal of the 100 m GK square: GK scale distortion in Hebei is < 0.03 %.
    a = crs.to_storage(Point(38544700.0, 4212000.0), 4526)
    b = crs.to_storage(Point(38544800.0, 4212100.0), 4526)
    d = measure.distance_m(a, b)
    assert d == pytest.approx(100 * 2**0.5, rel=3e-4)
    assert measure.distance_m(b, a) == pytest.approx(d, rel=1e-12)
    # One degree of latitude is about 111 km.
    assert measure.distance_m((114.51, 38.0), (114.51, 39.0)) == pytest.approx(111_000, rel=1e-3)
    with pytest.raises(GeometryError):
        measure.distance_m((38544700.0, 4212000.0), (114.5, 38.0))
    with pytest.raises(GeometryError):
        measure.distance_m(Point(), (114.5, 38.0))


def test_bbox_of_radius_contains_circle_and_is_tight() -> None:
    lon, lat, km = 116.68, 39.54, 25.0
    minx, miny, maxx, maxy = measure.bbox_of_radius(lon, lat, km)
    assert minx < lon < maxx and miny < lat < maxy
    # Each edge lies about one radius away from the centre.
    for edge_point in ((lon, maxy), (lon, miny)):
        assert measure.distance_m((lon, lat), edge_point) == pytest.approx(km * 1000, rel=1e-3)
    for az in range(0, 360, 7):
        x, y, _ = measure.GEOD.fwd(lon, lat, az, km * 1000)
        assert minx <= x <= maxx and miny <= y <= maxy
    assert measure.bbox_of_radius(lon, lat, 0) == (lon, lat, lon, lat)
    with pytest.raises(GeometryError):
        measure.bbox_of_radius(lon, lat, -1)


@given(
    k=st.floats(0.1, 20.0),
    lon=st.floats(113.5, 119.5),
    lat=st.floats(36.2, 42.4),
)
def test_area_scales_with_square_of_factor(k: float, lon: float, lat: float) -> None:
    sq = box(lon, lat, lon + 0.001, lat + 0.001)
    scaled = affinity.scale(sq, xfact=k, yfact=k, origin=(lon, lat))
    ratio = measure.area_m2(scaled) / measure.area_m2(sq)
    # Meridian convergence over ≤ 0.02° makes the scaling only approximately exact.
    assert ratio == pytest.approx(k * k, rel=1e-3)
