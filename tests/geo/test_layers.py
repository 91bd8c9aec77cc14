"""Checks on the committed reference layers in ``layers/`` (files only, no database)."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import Point
from shapely.geometry.base import BaseGeometry

LAYERS = Path(__file__).resolve().parents[2] / "layers"
ADMIN = LAYERS / "admin_divisions.geojson"
METRIC = "EPSG:4548"  # CGCS2000 3-degree GK, CM 117E: metres for areas

HEBEI_BBOX = (113.4, 36.0, 119.9, 42.7)

CITIES = {
    "130100": "石家庄市",
    "130200": "唐山市",
    "130300": "秦皇岛市",
    "130400": "邯郸市",
    "130500": "邢台市",
    "130600": "保定市",
    "130700": "张家口市",
    "130800": "承德市",
    "130900": "沧州市",
    "131000": "廊坊市",
    "131100": "衡水市",
}
PROVINCE_MANAGED = {"130181": ("辛集市", "130100"), "130682": ("定州市", "130600")}

# City seats from docs/domain.md §1: (lon, lat) -> (city code, county-level code or None).
SEATS = {
    "石家庄": ((114.51, 38.04), "130100", None),
    "唐山": ((118.18, 39.63), "130200", None),
    "秦皇岛": ((119.60, 39.94), "130300", None),
    "邯郸": ((114.54, 36.63), "130400", None),
    "邢台": ((114.50, 37.07), "130500", None),
    "保定": ((115.46, 38.87), "130600", None),
    "张家口": ((114.88, 40.82), "130700", None),
    "承德": ((117.96, 40.95), "130800", None),
    "沧州": ((116.84, 38.30), "130900", None),
    "廊坊": ((116.68, 39.54), "131000", None),
    "衡水": ((115.67, 37.74), "131100", None),
    "定州": ((114.99, 38.52), "130600", "130682"),
    "辛集": ((115.22, 37.94), "130100", "130181"),
    # 雄安新区 (133100) is not in the source; its seat lies in 容城县 under 保定.
    "雄安 (容城)": ((115.86, 39.05), "130600", "130629"),
}

# These straddle the Beijing–Hebei boundary; their approximate points may fall on either side.
STRADDLING = {"airport-pkx", "bonded-daxing-airport", "ftz-daxing-airport"}


@pytest.fixture(scope="module")
def admin() -> gpd.GeoDataFrame:
    return gpd.read_file(ADMIN)


@pytest.fixture(scope="module")
def province(admin: gpd.GeoDataFrame) -> BaseGeometry:
    rows = admin[admin.level == "province"]
    assert rows.code.tolist() == ["130000"]
    return rows.geometry.iloc[0]


@pytest.fixture(scope="module", params=["facilities.geojson", "zone_centres.geojson"])
def points(request: pytest.FixtureRequest) -> gpd.GeoDataFrame:
    return gpd.read_file(LAYERS / request.param)


def test_file_sizes() -> None:
    assert ADMIN.stat().st_size < 5_000_000
    for name in ("facilities.geojson", "zone_centres.geojson"):
        assert (LAYERS / name).stat().st_size < 100_000


def test_cities_and_province_managed_present(admin: gpd.GeoDataFrame) -> None:
    cities = admin[admin.level == "city"]
    assert dict(zip(cities.code, cities.name, strict=True)) == CITIES
    assert set(cities.parent_code) == {"130000"}
    for code, (name, parent) in PROVINCE_MANAGED.items():
        row = admin[admin.code == code].iloc[0]
        assert (row["name"], row.parent_code, row.level) == (name, parent, "county")
        assert row.province_managed
    assert set(admin[admin.province_managed].code) == set(PROVINCE_MANAGED)


def test_codes_and_hierarchy(admin: gpd.GeoDataFrame) -> None:
    assert admin.code.is_unique
    assert admin.code.str.fullmatch(r"13\d{4}").all()
    counties = admin[admin.level == "county"]
    assert len(counties) == 167
    assert (counties.parent_code == counties.code.str[:4] + "00").all()
    assert set(counties.parent_code) == set(CITIES)
    assert "133100" not in set(admin.code)  # 雄安新区: absent from the source, see README


def test_geometries_valid_and_in_hebei(admin: gpd.GeoDataFrame) -> None:
    assert admin.crs.to_epsg() == 4326
    assert shapely.is_valid(admin.geometry.values).all()
    assert not admin.geometry.is_empty.any()
    minx, miny, maxx, maxy = admin.total_bounds
    assert minx >= HEBEI_BBOX[0] and miny >= HEBEI_BBOX[1]
    assert maxx <= HEBEI_BBOX[2] and maxy <= HEBEI_BBOX[3]


@pytest.mark.parametrize("seat", list(SEATS))
def test_city_seats_fall_in_their_city(admin: gpd.GeoDataFrame, seat: str) -> None:
    (lon, lat), city, county = SEATS[seat]
    hits = admin[admin.contains(Point(lon, lat))]
    by_level = hits.groupby("level").code.apply(list).to_dict()
    assert by_level["province"] == ["130000"]
    assert by_level["city"] == [city]
    assert len(by_level["county"]) == 1
    if county is not None:
        assert by_level["county"] == [county]


def test_cities_do_not_overlap_and_tile_the_province(
    admin: gpd.GeoDataFrame, province: BaseGeometry
) -> None:
    cities = admin[admin.level == "city"].to_crs(METRIC)
    overlaps = {
        (a.code, b.code): a.geometry.intersection(b.geometry).area
        for a, b in itertools.combinations(cities.itertuples(), 2)
        if a.geometry.intersects(b.geometry)
    }
    total = sum(overlaps.values())
    print(f"city pairwise overlap: {total:.3f} m² over {len(overlaps)} touching pairs")
    assert total < 100.0, overlaps  # dissolved from one coverage: edges are shared exactly

    prov_area = gpd.GeoSeries([province], crs=4326).to_crs(METRIC).area.iloc[0]
    union_area = shapely.union_all(cities.geometry.values).area
    print(
        f"province {prov_area / 1e6:.1f} km², cities' union differs by {abs(prov_area - union_area):.1f} m²"
    )
    assert abs(prov_area - union_area) < 1e4
    assert 180_000e6 < prov_area < 195_000e6  # Hebei is about 188 800 km²


def test_counties_form_a_coverage_matching_their_cities(admin: gpd.GeoDataFrame) -> None:
    counties = admin[admin.level == "county"]
    assert shapely.coverage_is_valid(counties.geometry.values)
    cities = admin[admin.level == "city"].set_index("code").geometry
    for code, geoms in counties.groupby("parent_code").geometry:
        diff = shapely.symmetric_difference(shapely.union_all(geoms.values), cities[code])
        assert diff.area < 1e-9, code


def test_point_layers_schema(points: gpd.GeoDataFrame) -> None:
    assert points.code.is_unique
    assert points.confidence.isin({"V", "GK", "GK?"}).all()
    assert points.approximate.all()
    assert points.source.str.len().gt(0).all()
    # Staff read the source on the card: a URL, or words in Chinese (it was English prose
    # citing a document outside the repository, "domain-rules.md §8.6 (general knowledge)").
    said = points.source[~points.source.str.startswith("http")]
    assert (
        said.str.contains(r"[\u4e00-\u9fff]").all() and not said.str.contains("domain-rules").any()
    )
    assert points.city_code.isin(CITIES).all()
    assert (points.geometry.geom_type == "Point").all()
    if "kind" in points and "level" not in points:  # facilities
        kinds = {
            "port",
            "airport",
            "rail_freight",
            "highway_interchange",
            "logistics_hub",
            "cold_chain",
            "bonded_zone",
            "substation",
        }
        assert points.kind.isin(kinds).all()
        assert {"port", "airport", "bonded_zone", "logistics_hub"} <= set(points.kind)
    else:  # zone centres
        assert points.level.isin({"national", "provincial"}).all()
        assert points.kind.isin({"经开区", "高新区", "综保区", "自贸片区"}).all()
        counts = points.kind.value_counts().to_dict()
        assert counts["经开区"] == 7  # §8.1: 7 national ETDZs in Hebei
        assert counts["自贸片区"] == 4


def test_points_lie_in_hebei_and_their_city(
    points: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, province: BaseGeometry
) -> None:
    cities = admin[admin.level == "city"].set_index("code").geometry
    metric_province = gpd.GeoSeries([province], crs=4326).to_crs(METRIC).iloc[0]
    for row in points.itertuples():
        if row.code in STRADDLING:
            # Straddles Beijing: may lie on either side, but must be at the boundary.
            p = gpd.GeoSeries([row.geometry], crs=4326).to_crs(METRIC).iloc[0]
            assert p.distance(metric_province) < 5_000, row.code
            if not province.contains(row.geometry):
                continue
        assert province.contains(row.geometry), row.code
        assert cities[row.city_code].contains(row.geometry), (row.code, row.city_code)


def test_bonded_zones_agree_between_layers() -> None:
    fac = gpd.read_file(LAYERS / "facilities.geojson")
    zones = gpd.read_file(LAYERS / "zone_centres.geojson")
    a = fac[fac.kind == "bonded_zone"].set_index("code").sort_index()
    b = zones[zones.kind == "综保区"].set_index("code").sort_index()
    assert a.index.tolist() == b.index.tolist()
    assert len(a) == 6
    assert np.allclose(shapely.get_coordinates(a.geometry), shapely.get_coordinates(b.geometry))
    assert (a.name == b.name).all() and (a.city_code == b.city_code).all()
