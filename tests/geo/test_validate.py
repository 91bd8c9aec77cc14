from __future__ import annotations

import pytest
import shapely
from shapely import GeometryCollection, MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from landmatch.errors import GeometryError
from landmatch.geo import crs, validate
from tests.geo import shapes


@pytest.mark.parametrize(
    "geom", [shapes.SQUARE_SJZ, shapes.POLYGON_WITH_HOLE, shapes.MULTIPART, shapes.SQUARE_PARIS]
)
def test_valid_shapes_have_no_problems(geom: BaseGeometry) -> None:
    assert validate.check_polygonal(geom) == []


def test_bowtie_reported_with_location() -> None:
    [problem] = validate.check_polygonal(shapes.BOWTIE)
    assert problem.code == "invalid"
    assert problem.location == pytest.approx(shapes.BOWTIE_CROSSING)
    assert "自相交" in problem.message_zh and "Self-intersection" in problem.message_zh
    assert "114.5, 38.0" in problem.message_zh


@pytest.mark.parametrize("geom", [shapes.EMPTY, None, MultiPolygon()])
def test_empty(geom: BaseGeometry | None) -> None:
    assert [p.code for p in validate.check_polygonal(geom)] == ["empty"]


@pytest.mark.parametrize("geom", [shapes.POINT, shapes.LINE])
def test_point_or_line_where_polygon_belongs(geom: BaseGeometry) -> None:
    [problem] = validate.check_polygonal(geom)
    assert problem.code == "not_polygonal"
    assert geom.geom_type in problem.message_zh
    assert problem.location == (114.51, 38.04)


def test_nan_coordinates() -> None:
    assert [p.code for p in validate.check_polygonal(shapes.NAN_POLYGON)] == ["non_finite"]


def test_degenerate_ring_has_too_few_points() -> None:
    flat = Polygon([(114.5, 38.0), (114.6, 38.0), (114.5, 38.0), (114.6, 38.0)])
    [problem] = validate.check_polygonal(flat)
    assert problem.code == "too_few_points"
    assert problem.location == (114.5, 38.0)


def test_hole_outside_shell_is_invalid() -> None:
    bad = Polygon(box(0, 0, 1, 1).exterior.coords, [box(2, 2, 3, 3).exterior.coords])
    [problem] = validate.check_polygonal(bad)
    assert problem.code == "invalid" and "内环" in problem.message_zh


def test_parse_reason_with_z_and_garbage() -> None:
    assert validate.parse_reason("Ring Self-intersection[1 2 3]") == (
        "Ring Self-intersection",
        (1.0, 2.0),
    )
    assert validate.parse_reason("Something odd") == ("Something odd", None)


def test_repair_bowtie() -> None:
    fixed, warnings = validate.repair(shapes.BOWTIE)
    assert isinstance(fixed, MultiPolygon) and fixed.is_valid
    assert len(fixed.geoms) == 2
    assert fixed.area == pytest.approx(2 * 0.5 * 0.02 * 0.01)
    assert any("自相交" in w for w in warnings)
    assert validate.check_polygonal(fixed) == []


def test_repair_reports_area_change() -> None:
    # A spike that folds back over the square adds a self-intersection; repair changes area.
    loop = Polygon([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0), (5, 5), (15, 5), (15, 6), (5, 6)])
    assert not loop.is_valid
    fixed, warnings = validate.repair(loop)
    assert fixed.is_valid
    assert any("面积变化" in w and "%" in w for w in warnings)


def test_repair_drops_lines_and_keeps_valid_input() -> None:
    gc = GeometryCollection([shapes.SQUARE_SJZ, shapes.LINE])
    fixed, warnings = validate.repair(gc)
    assert fixed.equals(MultiPolygon([shapes.SQUARE_SJZ]))
    assert any("非面" in w for w in warnings)
    same, none = validate.repair(shapes.POLYGON_WITH_HOLE)
    assert none == [] and same.equals(shapes.POLYGON_WITH_HOLE)


@pytest.mark.parametrize("geom", [shapes.EMPTY, shapes.NAN_POLYGON, shapes.POINT])
def test_repair_refuses_unusable(geom: BaseGeometry) -> None:
    with pytest.raises(GeometryError):
        validate.repair(geom)


def test_to_multipolygon() -> None:
    assert validate.to_multipolygon(shapes.SQUARE_SJZ).geom_type == "MultiPolygon"
    assert validate.to_multipolygon(shapes.MULTIPART) is shapes.MULTIPART
    assert validate.to_multipolygon(shapes.EMPTY).is_empty
    gc = GeometryCollection([shapes.SQUARE_SJZ, shapes.POINT])
    assert validate.to_multipolygon(gc).equals(MultiPolygon([shapes.SQUARE_SJZ]))
    with pytest.raises(GeometryError):
        validate.to_multipolygon(shapes.LINE)


def test_check_in_bbox() -> None:
    assert validate.check_in_bbox(shapes.SQUARE_SJZ, crs.HEBEI_BBOX) is None
    assert validate.check_in_bbox(shapes.SQUARE_SJZ, crs.CHINA_BBOX) is None
    problem = validate.check_in_bbox(shapes.SQUARE_PARIS, crs.CHINA_BBOX, region_zh="中国")
    assert problem is not None and problem.code == "outside_bbox"
    assert "中国" in problem.message_zh
    assert problem.location == pytest.approx(shapes.SQUARE_PARIS.centroid.coords[0])
    # Shanghai is in China but not in Hebei.
    assert validate.check_in_bbox(box(121.4, 31.2, 121.5, 31.3), crs.HEBEI_BBOX) is not None


def test_looks_swapped_latlon() -> None:
    assert validate.looks_swapped_latlon(shapes.SQUARE_SJZ_SWAPPED)
    assert not validate.looks_swapped_latlon(shapes.SQUARE_SJZ)
    assert not validate.looks_swapped_latlon(shapes.SQUARE_PARIS)
    assert not validate.looks_swapped_latlon(shapes.EMPTY)
    # Projected coordinates are neither.
    assert not validate.looks_swapped_latlon(crs.from_storage(shapes.SQUARE_SJZ, 4526))


def test_shapes_catalogue_is_what_it_claims() -> None:
    assert shapes.SQUARE_SJZ.is_valid and crs.gk_epsg_for_geometry(shapes.SQUARE_SJZ) == 4526
    assert not shapes.BOWTIE.is_valid
    assert shapes.EMPTY.is_empty
    assert len(shapes.POLYGON_WITH_HOLE.interiors) == 1 and shapes.POLYGON_WITH_HOLE.is_valid
    assert len(shapes.MULTIPART.geoms) == 2 and shapes.MULTIPART.is_valid
    assert shapes.OPEN_RING_COORDS[0] != shapes.OPEN_RING_COORDS[-1]
    assert not shapely.has_z(shapes.SQUARE_SJZ) and shapes.SQUARE_SJZ.exterior.is_ccw
