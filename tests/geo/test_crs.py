from __future__ import annotations

import pyproj
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely import Point

from landmatch.errors import CRSError, GeometryError
from landmatch.geo import crs
from tests.geo import shapes

# Domain rules §6: city, lon, lat, zone, EPSG, easting (prefixed), northing.
CITY_VECTORS = [
    ("石家庄", 114.51, 38.04, 38, 4526, 38544770.357, 4212060.678),
    ("唐山", 118.18, 39.63, 39, 4527, 39601307.848, 4389112.971),
    ("秦皇岛", 119.60, 39.94, 40, 4528, 40465812.530, 4422943.600),
    ("邯郸", 114.54, 36.63, 38, 4526, 38548298.405, 4055586.328),
    ("邢台", 114.50, 37.07, 38, 4526, 38544465.160, 4104396.408),
    ("保定", 115.46, 38.87, 38, 4526, 38626708.602, 4305085.370),
    ("张家口", 114.88, 40.82, 38, 4526, 38574240.449, 4520956.599),
    ("承德", 117.96, 40.95, 39, 4527, 39580831.325, 4535464.460),
    ("沧州", 116.84, 38.30, 39, 4527, 39486004.244, 4240809.926),
    ("廊坊", 116.68, 39.54, 39, 4527, 39472491.462, 4378504.035),
    ("衡水", 115.67, 37.74, 39, 4527, 39382768.935, 4179472.476),
    ("定州", 114.99, 38.52, 38, 4526, 38586337.527, 4265683.314),
    ("辛集", 115.22, 37.94, 38, 4526, 38607244.846, 4201540.334),
    ("雄安", 115.86, 39.05, 39, 4527, 39401314.083, 4324673.338),
]


@pytest.mark.parametrize(("city", "lon", "lat", "zone", "epsg", "east", "north"), CITY_VECTORS)
def test_city_vectors(
    city: str, lon: float, lat: float, zone: int, epsg: int, east: float, north: float
) -> None:
    assert crs.gk_zone_for_lon(lon) == zone
    assert crs.gk_epsg(zone) == epsg
    p = crs.transform_geom(Point(lon, lat), crs.STORAGE_EPSG, epsg)
    assert p.x == pytest.approx(east, abs=1e-3)
    assert p.y == pytest.approx(north, abs=1e-3)
    # The unprefixed variant differs only by the zone's false easting.
    q = crs.transform_geom(Point(lon, lat), crs.STORAGE_EPSG, crs.gk_epsg(zone, prefixed=False))
    assert q.x == pytest.approx(east - zone * 1e6, abs=1e-3)
    assert q.y == pytest.approx(north, abs=1e-3)
    back = crs.to_storage(p, epsg)
    assert back.x == pytest.approx(lon, abs=1e-9) and back.y == pytest.approx(lat, abs=1e-9)


def test_constants() -> None:
    assert crs.STORAGE_EPSG == 4490 and crs.WGS84_EPSG == 4326 and crs.WEB_MERCATOR_EPSG == 3857
    minx, miny, maxx, maxy = crs.HEBEI_BBOX
    for _, lon, lat, *_ in CITY_VECTORS:
        assert minx <= lon <= maxx and miny <= lat <= maxy
    assert {crs.gk_zone_for_lon(minx), crs.gk_zone_for_lon(maxx)} <= set(crs.HEBEI_GK_ZONES)


@pytest.mark.parametrize(
    ("zone", "prefixed", "datum", "name"),
    [
        (25, True, "CGCS2000", "CGCS2000 / 3-degree Gauss-Kruger zone 25"),
        (45, True, "CGCS2000", "CGCS2000 / 3-degree Gauss-Kruger zone 45"),
        (25, False, "CGCS2000", "CGCS2000 / 3-degree Gauss-Kruger CM 75E"),
        (45, False, "CGCS2000", "CGCS2000 / 3-degree Gauss-Kruger CM 135E"),
        (38, True, "XIAN80", "Xian 1980 / 3-degree Gauss-Kruger zone 38"),
        (38, False, "XIAN80", "Xian 1980 / 3-degree Gauss-Kruger CM 114E"),
        (40, True, "BEIJING54", "Beijing 1954 / 3-degree Gauss-Kruger zone 40"),
        (40, False, "BEIJING54", "Beijing 1954 / 3-degree Gauss-Kruger CM 120E"),
    ],
)
def test_gk_epsg_matches_epsg_database(zone: int, prefixed: bool, datum: str, name: str) -> None:
    assert pyproj.CRS.from_epsg(crs.gk_epsg(zone, prefixed, datum=datum)).name == name


def test_gk_epsg_rejects_out_of_range_zone() -> None:
    with pytest.raises(CRSError, match="带号"):
        crs.gk_epsg(24)
    with pytest.raises(CRSError):
        crs.gk_epsg(46, prefixed=False)


def test_gk_zone_from_epsg_round_trip() -> None:
    for zone in range(25, 46):
        for prefixed in (True, False):
            assert crs.gk_zone_from_epsg(crs.gk_epsg(zone, prefixed)) == (zone, prefixed)
            assert crs.is_gk_epsg(crs.gk_epsg(zone, prefixed))
    for other in (4490, 4326, 3857, 4512, 4555, 2362):
        assert crs.gk_zone_from_epsg(other) is None
        assert not crs.is_gk_epsg(other)


def test_zone_boundaries() -> None:
    assert crs.gk_zone_for_lon(115.4999) == 38
    assert crs.gk_zone_for_lon(115.5) == 39
    assert crs.gk_zone_for_lon(118.5) == 40


def test_transformer_is_cached_and_lon_lat_ordered() -> None:
    t = crs.transformer(4490, 4326)
    assert t is crs.transformer(4490, 4326)
    lon, lat = t.transform(114.5, 38.0)
    assert lon == pytest.approx(114.5, abs=1e-6) and lat == pytest.approx(38.0, abs=1e-6)


def test_transform_geom_keeps_structure() -> None:
    out = crs.from_storage(shapes.POLYGON_WITH_HOLE, 4526)
    assert out.geom_type == "Polygon" and len(out.interiors) == 1
    assert shapely.get_num_coordinates(out) == shapely.get_num_coordinates(shapes.POLYGON_WITH_HOLE)
    multi = crs.from_storage(shapes.MULTIPART, 4527)
    assert multi.geom_type == "MultiPolygon" and len(multi.geoms) == 2


def test_transform_geom_same_crs_is_identity() -> None:
    assert crs.transform_geom(shapes.SQUARE_SJZ, 4490, 4490) is shapes.SQUARE_SJZ


def test_transform_geom_rejects_nan_and_gcj02() -> None:
    with pytest.raises(GeometryError):
        crs.from_storage(shapes.NAN_POLYGON, 4526)
    with pytest.raises(CRSError, match="GCJ-02"):
        crs.transform_geom(shapes.SQUARE_SJZ, crs.GCJ02, 4490)  # type: ignore[arg-type]


def test_transform_out_of_domain_raises() -> None:
    # Projected coordinates misread as EPSG:4490 cannot be transformed.
    with pytest.raises(CRSError):
        crs.transform_geom(Point(4212000.0, 38544700.0), 4526, 4490)


def test_gk_epsg_for_geometry() -> None:
    assert crs.gk_epsg_for_geometry(shapes.SQUARE_SJZ) == 4526
    assert crs.gk_epsg_for_geometry(shapes.MULTIPART) == 4527
    with pytest.raises(GeometryError):
        crs.gk_epsg_for_geometry(shapes.EMPTY)
    with pytest.raises(CRSError):
        crs.gk_epsg_for_geometry(Point(38544700.0, 4212000.0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EPSG:4527", 4527),
        ("epsg:4527", 4527),
        ("4527", 4527),
        (4527, 4527),
        (" EPSG:4490 ", 4490),
        ("CGCS2000", 4490),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", 4490),
        ("https://www.opengis.net/def/crs/EPSG/0/4526", 4526),
        ("urn:ogc:def:crs:EPSG::4490", 4490),
        ("urn:ogc:def:crs:EPSG:6.6:4326", 4326),
        ("CRS84", 4326),
        ("OGC:CRS84", 4326),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", 4326),
        ("GCJ02", "GCJ02"),
        ("GCJ-02", "GCJ02"),
        ("gcj-02", "GCJ02"),
    ],
)
def test_parse_crs(text: int | str, expected: int | str) -> None:
    assert crs.parse_crs(text) == expected


@pytest.mark.parametrize("text", ["", "EPSG:99999", 99999, "BD09", "火星坐标", "EPSG:abc", True])
def test_parse_crs_rejects_unknown(text: bool | int | str) -> None:
    with pytest.raises(CRSError) as info:
        crs.parse_crs(text)
    assert "坐标系" in info.value.message or "EPSG" in info.value.message


def test_an_unknown_crs_names_gcj02_for_web_map_coordinates() -> None:
    """Staff holding coordinates from 高德 or 腾讯 maps learn what to type; their own text is
    quoted as they typed it, not as a Python literal."""
    with pytest.raises(CRSError) as info:
        crs.parse_crs(" 高德地图坐标 ")
    assert "“高德地图坐标”" in info.value.message and "GCJ02" in info.value.message
    assert "'" not in info.value.message


def test_is_crs84() -> None:
    assert crs.is_crs84("CRS84")
    assert crs.is_crs84("http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    assert not crs.is_crs84("EPSG:4326")
    assert not crs.is_crs84("http://www.opengis.net/def/crs/EPSG/0/4490")


@pytest.mark.parametrize("epsg", [4490, 4326, 4526, 4527, 4528, 4547, 4548, 4549])
@pytest.mark.parametrize("flavour", ["WKT1_ESRI", "WKT1_GDAL", "WKT2_2019"])
def test_crs_from_wkt(epsg: int, flavour: str) -> None:
    wkt = pyproj.CRS.from_epsg(epsg).to_wkt(flavour)
    assert crs.crs_from_wkt(wkt) == epsg


def test_crs_from_wkt_unknown_and_garbage() -> None:
    custom = pyproj.CRS.from_proj4(
        "+proj=tmerc +lat_0=0 +lon_0=114.3 +k=1 +x_0=500000 +ellps=GRS80"
    )
    assert crs.crs_from_wkt(custom.to_wkt()) is None
    with pytest.raises(CRSError):
        crs.crs_from_wkt("this is not wkt")


@given(
    lon=st.floats(crs.HEBEI_BBOX[0], crs.HEBEI_BBOX[2]),
    lat=st.floats(crs.HEBEI_BBOX[1], crs.HEBEI_BBOX[3]),
    prefixed=st.booleans(),
)
def test_gk_round_trip_property(lon: float, lat: float, prefixed: bool) -> None:
    epsg = crs.gk_epsg(crs.gk_zone_for_lon(lon), prefixed)
    back = crs.to_storage(crs.from_storage(Point(lon, lat), epsg), epsg)
    assert abs(back.x - lon) < 1e-9 and abs(back.y - lat) < 1e-9
