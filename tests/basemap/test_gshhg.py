"""The offline basemap's extraction, on the real GSHHG files of Debian's gmt-gshhg-high."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Point, box

from landmatch.basemap import gshhg
from landmatch.basemap.gshhg import REGION_BBOX
from landmatch.geo.crs import HEBEI_BBOX

HEBEI = box(*HEBEI_BBOX)  # the extraction's region has a margin around it
# Points on Hebei's coast, and their distance to the coastline that counts as "on" it (degrees:
# GSHHG "high" is a 1:1 million line, and the coast has moved with land reclamation since).
COAST = {
    "秦皇岛": (119.60, 39.91),
    "唐山 曹妃甸": (118.45, 39.05),
    "沧州 黄骅港": (117.87, 38.31),
}


@pytest.fixture(scope="module")
def features() -> list[gshhg.Feature]:
    return gshhg.extract()


def test_every_kind_the_map_draws_is_there_inside_hebei(features: list[gshhg.Feature]) -> None:
    inside = Counter(f.kind for f in features if f.geom.intersects(HEBEI))
    for kind in ("sea", "coast", "lake", "river_major", "river"):
        assert inside[kind] > 0, (kind, inside)
    # Rivers keep their WDBII class; the major ones are classes 0-2.
    assert {f.level for f in features if f.kind == "river_major"} <= {0, 1, 2}
    assert {f.level for f in features if f.kind == "river"} <= {3, 4}


def test_coordinates_are_lon_lat_inside_the_bbox(features: list[gshhg.Feature]) -> None:
    region = box(*REGION_BBOX)
    for f in features:
        assert f.geom.is_valid and not f.geom.is_empty, f.kind
        xy = shapely.get_coordinates(f.geom)
        assert region.buffer(1e-9).covers(f.geom), (f.kind, f.geom.bounds)
        # EPSG:4326 degrees, longitude first (a lon/lat swap would put 108–124.5 in y).
        assert (xy[:, 0] >= 108).all() and (xy[:, 1] <= 45).all()


@pytest.mark.parametrize("place", list(COAST))
def test_the_bohai_coast_runs_along_hebeis_ports(features: list[gshhg.Feature], place: str) -> None:
    coast = shapely.union_all([f.geom for f in features if f.kind == "coast"])
    assert coast.distance(Point(COAST[place])) < 0.1, place


def test_the_sea_is_the_bohai_and_not_the_land(features: list[gshhg.Feature]) -> None:
    sea = shapely.union_all([f.geom for f in features if f.kind == "sea"])
    assert sea.contains(Point(119.0, 39.0))  # the Bohai off 唐山
    assert sea.contains(Point(118.5, 38.5))  # 渤海湾
    for land in ((114.51, 38.04), (116.40, 39.90), (118.18, 39.63), (117.20, 39.08)):
        assert not sea.contains(Point(land)), land  # 石家庄, 北京, 唐山, 天津 are dry


def test_known_reservoirs_are_lakes(features: list[gshhg.Feature]) -> None:
    lakes = shapely.union_all([f.geom for f in features if f.kind == "lake"])
    # 官厅水库 (张家口 / 北京), 岗南水库 and 黄壁庄水库 (石家庄): polygons, not lines.
    for reservoir in ((115.65, 40.33), (113.95, 38.33), (114.27, 38.25)):
        assert lakes.distance(Point(reservoir)) < 0.03, reservoir
    assert all(f.geom.geom_type == "Polygon" for f in features if f.kind in ("lake", "sea"))


def test_a_missing_package_is_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(gshhg.SourceMissing, match="gmt-gshhg-high"):
        gshhg.extract(tmp_path)
    (tmp_path / gshhg.SHORE_FILE).write_bytes(b"not a netCDF file")
    with pytest.raises(gshhg.SourceMissing, match="not readable"):
        gshhg.extract(tmp_path)
