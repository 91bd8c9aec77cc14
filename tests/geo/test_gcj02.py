"""GCJ-02 conversion checked against the independent implementation in ``prcoords``."""

from __future__ import annotations

import numpy as np
import prcoords
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike
from pyproj import Geod
from shapely import LineString, Point, Polygon

from landmatch.errors import CRSError, InvalidInput
from landmatch.geo.gcj02 import (
    gcj02_to_wgs84,
    gcj02_to_wgs84_geom,
    out_of_china,
    wgs84_to_gcj02,
    wgs84_to_gcj02_geom,
)

GEOD = Geod(ellps="WGS84")

# Hebei's extent, slightly padded.
hebei_lon = st.floats(min_value=113.4, max_value=119.9, allow_nan=False)
hebei_lat = st.floats(min_value=36.0, max_value=42.7, allow_nan=False)


def metres(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> np.ndarray:
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist)


@settings(max_examples=500, deadline=None)
@given(hebei_lon, hebei_lat)
def test_forward_matches_prcoords(lon: float, lat: float) -> None:
    gx, gy = wgs84_to_gcj02(lon, lat)
    ref = prcoords.wgs_gcj((lat, lon))
    assert abs(float(gx) - ref.lon) < 1e-9
    assert abs(float(gy) - ref.lat) < 1e-9


@settings(max_examples=500, deadline=None)
@given(hebei_lon, hebei_lat)
def test_inverse_round_trip_and_matches_prcoords(lon: float, lat: float) -> None:
    # Treat the sample as a GCJ-02 position, invert it, and push it forward again.
    wx, wy = gcj02_to_wgs84(lon, lat)
    gx, gy = wgs84_to_gcj02(wx, wy)
    assert metres(lon, lat, float(gx), float(gy)) < 0.01
    ref = prcoords.gcj_wgs_bored((lat, lon))
    assert metres(ref.lon, ref.lat, float(wx), float(wy)) < 0.01


def test_vectorised_batch_matches_scalar_reference() -> None:
    rng = np.random.default_rng(2260)
    lon = rng.uniform(113.4, 119.9, 5000)
    lat = rng.uniform(36.0, 42.7, 5000)
    gx, gy = wgs84_to_gcj02(lon, lat)
    ref = np.array([prcoords.wgs_gcj((b, a)) for a, b in zip(lon, lat, strict=True)])
    assert np.max(np.abs(gx - ref[:, 1])) < 1e-9
    assert np.max(np.abs(gy - ref[:, 0])) < 1e-9
    wx, wy = gcj02_to_wgs84(gx, gy)
    assert np.max(metres(lon, lat, wx, wy)) < 0.01


def test_offset_magnitude_in_hebei_is_a_few_hundred_metres() -> None:
    lon, lat = np.meshgrid(np.linspace(113.4, 119.9, 40), np.linspace(36.0, 42.7, 40))
    gx, gy = wgs84_to_gcj02(lon.ravel(), lat.ravel())
    d = metres(lon.ravel(), lat.ravel(), gx, gy)
    assert d.min() > 100
    assert d.max() < 700
    # GCJ-02 shifts east in Hebei (dlon_m ≈ 300 m + terms), i.e. it is not a no-op.
    assert np.all(gx > lon.ravel())


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(2.3522, 48.8566), (-74.006, 40.7128), (139.6917, 35.6895), (151.2093, -33.8688)],
)
def test_points_outside_china_are_unchanged(lon: float, lat: float) -> None:
    assert out_of_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_mixed_and_non_finite_inputs() -> None:
    lon = np.array([114.51, 2.35, np.nan])
    lat = np.array([38.04, 48.85, 38.0])
    gx, gy = wgs84_to_gcj02(lon, lat)
    assert gx[0] != lon[0]
    assert (gx[1], gy[1]) == (lon[1], lat[1])
    assert np.isnan(gx[2]) and gy[2] == 38.0
    wx, wy = gcj02_to_wgs84(gx, gy)
    assert metres(lon[0], lat[0], wx[0], wy[0]) < 0.01
    assert np.isnan(wx[2])


def test_shape_mismatch_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        wgs84_to_gcj02([114.0, 115.0], [38.0, 39.0, 40.0])


def test_non_convergence_raises() -> None:
    with pytest.raises(CRSError):
        gcj02_to_wgs84(114.51, 38.04, max_iter=1)


def test_geometry_round_trip_keeps_shape_and_z() -> None:
    poly = Polygon([(114.5, 38.0), (114.6, 38.0), (114.6, 38.1), (114.5, 38.1)])
    gcj = wgs84_to_gcj02_geom(poly)
    assert not gcj.equals_exact(poly, 1e-4)
    back = gcj02_to_wgs84_geom(gcj)
    assert back.equals_exact(poly, 1e-9)

    line_z = LineString([(114.5, 38.0, 12.5), (114.6, 38.1, 20.0)])
    out = wgs84_to_gcj02_geom(line_z)
    assert out.has_z
    assert shapely.get_coordinates(out, include_z=True)[:, 2].tolist() == [12.5, 20.0]


def test_geometry_arrays_are_converted_elementwise() -> None:
    geoms = np.array([Point(114.51, 38.04), Point(115.0, 39.0, 5.0), None], dtype=object)
    out = wgs84_to_gcj02_geom(geoms)
    gx, gy = wgs84_to_gcj02([114.51, 115.0], [38.04, 39.0])
    assert out[0].x == gx[0] and out[0].y == gy[0]
    assert out[1].x == gx[1] and out[1].z == 5.0
    assert out[2] is None


def test_docstring_examples() -> None:
    import doctest

    import landmatch.geo.gcj02 as module

    result = doctest.testmod(module)
    assert result.attempted >= 5
    assert result.failed == 0
