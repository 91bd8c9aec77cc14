from __future__ import annotations

import datetime as dt

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from landmatch.errors import CRSError, FormatError, GeometryError
from landmatch.geo import crs, measure
from landmatch.geo.txt import TxtParcel, parcel_zone, parse_txt, write_txt, write_txt_zones
from tests.geo import shapes

HEADER, BODY = shapes.TXT_EXAMPLE.split("[地块坐标]\n")
EXAMPLE_GEOM_4490 = parse_txt(shapes.TXT_EXAMPLE.encode()).parcels[0].geometry_4490


def make_txt(body: str, header: str = HEADER, **keys: str) -> bytes:
    for key, value in keys.items():
        lines = [f"{key}={value}" if ln.startswith(f"{key}=") else ln for ln in header.splitlines()]
        header = "\n".join(lines) + "\n"
    return (header + "[地块坐标]\n" + body).encode("utf-8")


def square(ring: int, east: float, north: float, side: float, start: int = 1) -> list[str]:
    """Point lines of a closed square ring, X = northing, Y = easting."""
    corners = [
        (north, east),
        (north, east + side),
        (north + side, east + side),
        (north + side, east),
    ]
    names = [f"J{start + i}" for i in range(4)]
    lines = [f"{n},{ring},{x:.3f},{y:.3f}" for n, (x, y) in zip(names, corners, strict=True)]
    return [*lines, lines[0]]


def parcel(points: list[str], area: str = "", code: str = "1", name: str = "地块1") -> str:
    return "\n".join([f"{len(points)},{area},{code},{name},面,,工业用地,,@", *points]) + "\n"


# --------------------------------------------------------------------------- §5.3 example


def test_example_parses() -> None:
    f = parse_txt(shapes.TXT_EXAMPLE.encode())
    assert f.epsg == 4526 and f.warnings == []
    assert f.header["带号"] == "38" and f.header["转换参数"] == ",,,,,,"
    [p] = f.parcels
    assert (p.code, p.name, p.use, p.land_class) == ("1", "地块1", "工业用地", "")
    assert p.declared_area_ha == 1.0 and p.point_count_declared == 5 and p.epsg == 4526
    assert p.line == 13
    assert p.geometry.equals(box(38544700, 4212000, 38544800, 4212100))


def test_example_location_and_area() -> None:
    p = parse_txt(shapes.TXT_EXAMPLE.encode()).parcels[0]
    j1 = p.geometry_4490.exterior.coords[0]
    assert j1 == pytest.approx(shapes.TXT_EXAMPLE_J1_LONLAT, abs=1e-5)
    g = p.geometry_4490
    assert measure.area_m2(g) == pytest.approx(10000.0, rel=1e-3)
    assert measure.m2_to_mu(measure.area_m2(g)) == pytest.approx(15.0, rel=1e-3)
    assert measure.m2_to_ha(measure.area_m2_gk(g)) == pytest.approx(1.0, rel=1e-3)
    assert measure.m2_to_mu(measure.area_m2_gk(g)) == pytest.approx(15.0, rel=1e-3)


# --------------------------------------------------------------------------- encodings, layout


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(shapes.TXT_EXAMPLE.encode("gbk"), id="gbk"),
        pytest.param(shapes.TXT_EXAMPLE.encode("gb18030"), id="gb18030"),
        pytest.param(b"\xef\xbb\xbf" + shapes.TXT_EXAMPLE.encode(), id="utf8-bom"),
        pytest.param(shapes.TXT_EXAMPLE.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(shapes.TXT_EXAMPLE.replace("\n", "\r\n").encode("gbk"), id="gbk-crlf"),
        pytest.param(
            shapes.TXT_EXAMPLE.replace("[属性描述]", " ［属性描述］")
            .replace("[地块坐标]", "【地块坐标】")
            .encode(),
            id="fullwidth-brackets-leading-space",
        ),
        pytest.param(
            ("[项目信息]\n项目名称=测试项目\n" + shapes.TXT_EXAMPLE).encode(), id="project-section"
        ),
        pytest.param(
            shapes.TXT_EXAMPLE.replace(",工业用地,,@", ",工业用地,,说明,@").encode(),
            id="ten-fields",
        ),
        pytest.param(
            shapes.TXT_EXAMPLE.replace(",工业用地,,@", ",工业用地,@").encode(), id="eight-fields"
        ),
        pytest.param(shapes.TXT_EXAMPLE.replace("\n", "\n\n  ").encode(), id="blank-lines-indent"),
    ],
)
def test_variants_give_the_example_parcel(data: bytes) -> None:
    f = parse_txt(data)
    assert f.epsg == 4526 and f.warnings == []
    [p] = f.parcels
    assert p.name == "地块1" and p.use == "工业用地"
    assert p.geometry_4490.equals_exact(EXAMPLE_GEOM_4490, 1e-12)


def test_project_section_keys_are_kept() -> None:
    f = parse_txt(("[项目信息]\n项目名称=测试项目\n[其他]\n怪键=1\n" + shapes.TXT_EXAMPLE).encode())
    assert f.header["项目名称"] == "测试项目" and "怪键" not in f.header


def test_undecodable_bytes() -> None:
    with pytest.raises(FormatError, match="编码"):
        parse_txt(b"\x81\x30\x81")  # truncated GB18030 four-byte sequence


@pytest.mark.parametrize(
    ("data", "bom"),
    [
        (b"\xff\xfe\x00\x01garbage", "UTF-16"),  # odd length after the BOM
        (b"\xfe\xff\xd8\x00\x00\x41", "UTF-16"),  # lone surrogate
        (b"\xff\xfe\x00\x00\xff\xff\xff\xff", "UTF-32"),  # beyond U+10FFFF
    ],
)
def test_garbage_after_a_utf_bom_is_a_format_error(data: bytes, bom: str) -> None:
    with pytest.raises(FormatError, match=f"以 {bom} 字节顺序标记（BOM）开头，但内容不是有效的"):
        parse_txt(data)


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_utf16_and_utf32_with_bom_parse(codec: str) -> None:
    [p] = parse_txt(shapes.TXT_EXAMPLE.encode(codec)).parcels
    assert p.name == "地块1" and p.geometry_4490.equals_exact(EXAMPLE_GEOM_4490, 1e-12)


def test_explicit_encoding_is_honoured() -> None:
    data = shapes.TXT_EXAMPLE.encode("utf-16-le")  # no BOM: detection cannot know
    with pytest.raises(FormatError, match="请指定字符编码"):
        parse_txt(data)
    [p] = parse_txt(data, encoding="UTF-16LE").parcels
    assert p.name == "地块1" and p.use == "工业用地"
    # It wins over detection: these UTF-8 bytes would be detected, but UTF-16 was asked for.
    with pytest.raises(FormatError, match="无法按 UTF-16LE 解码"):
        parse_txt(shapes.TXT_EXAMPLE.encode(), encoding="UTF-16LE")
    assert parse_txt(shapes.TXT_EXAMPLE.encode("gbk"), encoding="GBK").parcels[0].name == "地块1"
    bom = b"\xef\xbb\xbf" + shapes.TXT_EXAMPLE.encode()
    assert parse_txt(bom, encoding="utf8").header["带号"] == "38"


@pytest.mark.parametrize(
    ("data", "encoding", "message"),
    [
        (shapes.TXT_EXAMPLE.encode("gbk"), "UTF-8", "无法按 UTF-8 解码文件（第 "),
        (shapes.TXT_EXAMPLE.encode(), "no-such-codec", "未知的字符编码“no-such-codec”"),
        (shapes.TXT_EXAMPLE.encode(), "rot13", "未知的字符编码“rot13”"),  # not a text codec
        (shapes.TXT_EXAMPLE.encode(), "zlib", "未知的字符编码“zlib”"),
    ],
)
def test_explicit_encoding_failures_are_format_errors(
    data: bytes, encoding: str, message: str
) -> None:
    with pytest.raises(FormatError, match=message):
        parse_txt(data, encoding=encoding)


# --------------------------------------------------------------------------- zones


def _unprefixed_body() -> str:
    return BODY.replace(",385447", ",5447").replace(",385448", ",5448")


def test_no_prefix_uses_header_zone_and_cm_variant() -> None:
    f = parse_txt(make_txt(_unprefixed_body()))
    assert f.epsg == 4547 and f.warnings == []
    assert f.parcels[0].geometry_4490.equals_exact(EXAMPLE_GEOM_4490, 1e-9)


def test_no_prefix_with_central_meridian_in_header() -> None:
    assert parse_txt(make_txt(_unprefixed_body(), 带号="114")).epsg == 4547


def test_zone_from_y_prefix_when_header_zone_empty() -> None:
    f = parse_txt(make_txt(BODY, 带号=""))
    assert f.epsg == 4526 and f.warnings == []


def test_header_zone_conflicting_with_prefix_warns() -> None:
    f = parse_txt(make_txt(BODY, 带号="39"))
    assert f.epsg == 4526
    assert any("不一致" in w for w in f.warnings)


def test_no_zone_determinable_suggests_crs_option() -> None:
    with pytest.raises(CRSError, match="请指定坐标系.*EPSG:4547、4548、4549") as refused:
        parse_txt(make_txt(_unprefixed_body(), 带号=""))
    assert "--" not in refused.value.message
    f = parse_txt(make_txt(_unprefixed_body(), 带号=""), crs="EPSG:4547")
    assert f.epsg == 4547
    assert f.parcels[0].geometry_4490.equals_exact(EXAMPLE_GEOM_4490, 1e-9)


def test_mixed_zones_rejected() -> None:
    body = parcel(square(1, 38544700, 4212000, 100)) + parcel(
        square(1, 39401300, 4324600, 100), code="2"
    )
    with pytest.raises(CRSError, match="38, 39"):
        parse_txt(make_txt(body))


def test_prefixed_and_unprefixed_mixed_rejected() -> None:
    body = parcel(square(1, 38544700, 4212000, 100)) + parcel(
        square(1, 544700, 4212200, 100), code="2"
    )
    with pytest.raises(CRSError):
        parse_txt(make_txt(body))


def test_other_datums_and_six_degree_zones() -> None:
    f = parse_txt(make_txt(BODY, 坐标系="1980西安坐标系"))
    assert f.epsg == 2362 and any("七参数" in w for w in f.warnings)
    assert parse_txt(make_txt(BODY, 坐标系="1954北京坐标系")).epsg == 2414
    with pytest.raises(CRSError, match="6 度"):
        parse_txt(make_txt(BODY, 几度分带="6"))


@pytest.mark.parametrize("swap", [False, True])
def test_geographic_coordinates_with_explicit_crs(swap: bool) -> None:
    ring = [(38.039, 114.509), (38.039, 114.510), (38.040, 114.510), (38.040, 114.509)]
    ring.append(ring[0])
    pts = [f"J{i},1,{(b if swap else a)},{(a if swap else b)}" for i, (a, b) in enumerate(ring, 1)]
    f = parse_txt(make_txt(parcel(pts), 带号=""), crs=4490)
    assert f.epsg == 4490 and any("互换" in w for w in f.warnings) == swap
    assert f.parcels[0].geometry_4490.equals(shapes.SQUARE_SJZ)


def test_explicit_crs_overrides_header() -> None:
    assert parse_txt(shapes.TXT_EXAMPLE.encode(), crs=4526).epsg == 4526
    with pytest.raises(CRSError):
        parse_txt(shapes.TXT_EXAMPLE.encode(), crs="GCJ02")


# --------------------------------------------------------------------------- swapped columns


@pytest.mark.parametrize("body", [BODY, _unprefixed_body()], ids=["prefixed", "unprefixed"])
def test_swapped_columns_detected(body: str) -> None:
    swapped_lines = []
    for line in body.splitlines():
        fields = line.split(",")
        if fields[-1] != "@":
            fields[2], fields[3] = fields[3], fields[2]
        swapped_lines.append(",".join(fields))
    f = parse_txt(make_txt("\n".join(swapped_lines) + "\n"))
    assert any("互换" in w for w in f.warnings)
    assert f.parcels[0].geometry_4490.equals_exact(EXAMPLE_GEOM_4490, 1e-9)


# --------------------------------------------------------------------------- rings and parts


def test_hole() -> None:
    points = square(1, 38544700, 4212000, 200) + square(2, 38544750, 4212050, 100, start=5)
    f = parse_txt(make_txt(parcel(points, area="3.0000")))
    g = f.parcels[0].geometry
    assert g.geom_type == "Polygon" and len(g.interiors) == 1
    assert g.area == pytest.approx(30000.0)
    assert f.warnings == []


def test_separate_parts_numbered_1_2_3() -> None:
    points = (
        square(1, 38544700, 4212000, 100)
        + square(2, 38545000, 4212000, 100, start=5)
        + square(3, 38545300, 4212000, 100, start=9)
    )
    f = parse_txt(make_txt(parcel(points, area="3.0000")))
    g = f.parcels[0].geometry
    assert isinstance(g, MultiPolygon) and len(g.geoms) == 3
    assert all(len(p.interiors) == 0 for p in g.geoms)
    assert f.warnings == []


def test_recurring_ring_number_starts_new_part() -> None:
    # 1, 2 (hole), 1: a holed part followed by a second part.
    points = (
        square(1, 38544700, 4212000, 200)
        + square(2, 38544750, 4212050, 100, start=5)
        + square(1, 38545000, 4212000, 100, start=9)
    )
    g = parse_txt(make_txt(parcel(points, area="4.0000"))).parcels[0].geometry
    assert isinstance(g, MultiPolygon) and [len(p.interiors) for p in g.geoms] == [1, 0]
    # 1, 1: all parts numbered 1 and each closed.
    points = square(1, 38544700, 4212000, 100) + square(1, 38545000, 4212000, 100, start=5)
    g = parse_txt(make_txt(parcel(points, area="2.0000"))).parcels[0].geometry
    assert isinstance(g, MultiPolygon) and len(g.geoms) == 2


def test_island_inside_hole_is_a_separate_part() -> None:
    points = (
        square(1, 38544700, 4212000, 300)
        + square(2, 38544750, 4212050, 200, start=5)
        + square(3, 38544800, 4212100, 100, start=9)
    )
    g = parse_txt(make_txt(parcel(points))).parcels[0].geometry
    assert isinstance(g, MultiPolygon) and g.is_valid
    assert g.area == pytest.approx(90000 - 40000 + 10000)


def test_two_parcels_in_one_file() -> None:
    body = parcel(square(1, 38544700, 4212000, 100), area="1.0000") + parcel(
        square(1, 38545000, 4212000, 50), area="0.2500", code="2", name="地块2"
    )
    f = parse_txt(make_txt(body))
    assert [p.code for p in f.parcels] == ["1", "2"]
    assert [p.declared_area_ha for p in f.parcels] == [1.0, 0.25]
    assert f.parcels[1].geometry.area == pytest.approx(2500.0)
    assert f.warnings == []


def test_open_ring_closed_with_warning() -> None:
    points = square(1, 38544700, 4212000, 100)[:-1]
    f = parse_txt(make_txt(parcel(points, area="1.0000")))
    assert any("未闭合" in w and "第 13 行" in w for w in f.warnings)
    assert f.parcels[0].geometry_4490.equals_exact(EXAMPLE_GEOM_4490, 1e-9)


def test_self_intersecting_parcel_is_read_with_a_warning() -> None:
    pts = ["J1,1,4212000,38544700", "J2,1,4212100,38544800", "J3,1,4212000,38544800"]
    pts += ["J4,1,4212100,38544700", "J1,1,4212000,38544700"]
    f = parse_txt(make_txt(parcel(pts)))
    assert any("自相交" in w for w in f.warnings)


# --------------------------------------------------------------------------- declared values


def test_declared_area_in_square_metres_detected() -> None:
    f = parse_txt(make_txt(BODY.replace("5,1.0000,", "5,10000.00,")))
    assert f.parcels[0].declared_area_ha == pytest.approx(1.0)
    assert any("平方米" in w for w in f.warnings)


def test_declared_area_in_mu_detected() -> None:
    f = parse_txt(make_txt(BODY.replace("5,1.0000,", "5,15.0000,")))
    assert f.parcels[0].declared_area_ha == pytest.approx(1.0)
    assert any("亩" in w for w in f.warnings)


def test_declared_area_mismatch_warns() -> None:
    f = parse_txt(make_txt(BODY.replace("5,1.0000,", "5,1.0200,")))
    assert f.parcels[0].declared_area_ha == 1.02
    # One warning, in 公顷 and 亩 together.
    assert f.warnings == [
        "地块“1”（第 13 行）：申报面积 1.02 公顷（15.30 亩）与坐标计算面积 1.0000 公顷"
        "（15.00 亩）相差 +2.00%（超过 1%）"
    ]
    # Within 1 %: no warning.
    assert parse_txt(make_txt(BODY.replace("5,1.0000,", "5,1.0050,"))).warnings == []


def test_point_count_is_only_a_check() -> None:
    assert parse_txt(make_txt(BODY.replace("5,1.0000,", "4,1.0000,"))).warnings == []
    f = parse_txt(make_txt(BODY.replace("5,1.0000,", "7,1.0000,")))
    assert any("界址点数 7" in w for w in f.warnings)
    assert f.parcels[0].point_count_declared == 7


# --------------------------------------------------------------------------- errors


def test_missing_at_header_names_line() -> None:
    with pytest.raises(FormatError, match="第 13 行") as info:
        parse_txt(make_txt(BODY.replace(",,@", ",,")))
    assert "@" in info.value.message and info.value.detail == {"line": 13}


def test_non_numeric_coordinate_names_line() -> None:
    with pytest.raises(FormatError, match="第 15 行"):
        parse_txt(make_txt(BODY.replace("J2,1,4212000.000", "J2,1,42l2000.000")))
    with pytest.raises(FormatError, match="第 16 行"):
        parse_txt(make_txt(BODY.replace("J3,1,4212100.000", "J3,1,nan")))


def test_short_point_line_and_bad_ring_number() -> None:
    with pytest.raises(FormatError, match="第 14 行"):
        parse_txt(
            make_txt(BODY.replace("J1,1,4212000.000,38544700.000\nJ2", "J1,1,4212000.000\nJ2"))
        )
    with pytest.raises(FormatError, match="圈号"):
        parse_txt(make_txt(BODY.replace("J2,1,", "J2,a,")))


@pytest.mark.parametrize("ring", ["1e400", "-1e400", "1.7"])
def test_a_ring_number_out_of_range_or_fractional_names_its_line(ring: str) -> None:
    """1e400 is infinite as a float and had no integer (OverflowError: a 500 in the import);
    1.7 was read as ring 1 (review D6)."""
    with pytest.raises(FormatError, match=f"第 15 行：圈号不是整数：'{ring}'"):
        parse_txt(make_txt(BODY.replace("J2,1,", f"J2,{ring},")))


def test_no_coordinate_section() -> None:
    with pytest.raises(FormatError, match="地块坐标"):
        parse_txt(HEADER.encode())


def test_no_points() -> None:
    with pytest.raises(FormatError):
        parse_txt(make_txt(""))
    with pytest.raises(FormatError, match="第 13 行"):
        parse_txt(make_txt("5,1.0000,1,地块1,面,,工业用地,,@\n"))


def test_ring_with_too_few_points() -> None:
    with pytest.raises(FormatError, match="少于 3"):
        parse_txt(make_txt(parcel(["J1,1,4212000,38544700", "J2,1,4212000,38544800"])))


# --------------------------------------------------------------------------- writing


def _gk(geom: BaseGeometry, epsg: int) -> BaseGeometry:
    return crs.transform_geom(geom, crs.STORAGE_EPSG, epsg)


HOLED_MULTIPART = MultiPolygon([shapes.POLYGON_WITH_HOLE, box(115.465, 38.870, 115.466, 38.871)])


@pytest.mark.parametrize(
    "geom",
    [shapes.SQUARE_SJZ, shapes.POLYGON_WITH_HOLE, shapes.MULTIPART, HOLED_MULTIPART],
    ids=["square", "hole", "multipart", "holed-multipart"],
)
@pytest.mark.parametrize("prefixed", [True, False])
def test_write_parse_round_trip_to_1mm(geom: BaseGeometry, prefixed: bool) -> None:
    data = write_txt(
        [{"code": "A-1", "name": "测试", "use": "工业用地", "geometry_4490": geom}],
        prefixed=prefixed,
    )
    f = parse_txt(data)
    assert f.warnings == []
    epsg = crs.gk_epsg(crs.gk_zone_for_lon(geom.centroid.x), prefixed)
    assert f.epsg == epsg
    [p] = f.parcels
    expected = _gk(geom, epsg)
    if isinstance(geom, MultiPolygon):
        assert isinstance(p.geometry, MultiPolygon) and len(p.geometry.geoms) == len(geom.geoms)
    else:
        assert isinstance(p.geometry, Polygon)
    assert shapely.hausdorff_distance(p.geometry, expected) < 1e-3
    assert shapely.hausdorff_distance(p.geometry_4490, geom) < 1e-8
    assert p.declared_area_ha == pytest.approx(expected.area / 1e4, abs=5e-5)
    assert (p.code, p.name, p.use) == ("A-1", "测试", "工业用地")


def test_write_layout() -> None:
    data = write_txt(
        [
            {"code": "1", "name": "地块1", "use": "工业用地", "geometry_4490": EXAMPLE_GEOM_4490},
            {"code": "2", "name": "a,b", "use": "", "geometry_4490": shapes.POLYGON_WITH_HOLE},
        ],
        zone=38,
        producer="测绘院",
        produced_on=dt.date(2024, 5, 1),
    )
    text = data.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[:13] == [
        "[属性描述]",
        "格式版本号=1.01版本",
        "数据产生单位=测绘院",
        "数据产生日期=2024-05-01",
        "坐标系=2000国家大地坐标系",
        "几度分带=3",
        "投影类型=高斯克吕格",
        "计量单位=米",
        "带号=38",
        "精度=0.001",
        "转换参数=,,,,,,",
        "[地块坐标]",
        "5,1.0000,1,地块1,面,,工业用地,,@",
    ]
    assert lines[13] == "J1,1,4212000.000,38544700.000"
    assert lines[17] == lines[13]
    holed = lines[18:29]
    assert holed[0].startswith("10,") and holed[0].split(",")[3] == "a，b"
    names = [ln.split(",")[0] for ln in holed[1:]]
    assert names == ["J1", "J2", "J3", "J4", "J1", "J5", "J6", "J7", "J8", "J5"]
    assert [ln.split(",")[1] for ln in holed[1:]] == ["1"] * 5 + ["2"] * 5


def test_write_gbk_and_txtparcel_objects() -> None:
    source = parse_txt(shapes.TXT_EXAMPLE.encode())
    data = write_txt(source.parcels, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    again = parse_txt(data)
    assert isinstance(again.parcels[0], TxtParcel)
    assert again.parcels[0].geometry.equals_exact(source.parcels[0].geometry, 1e-6)


def test_write_explicit_zone() -> None:
    data = write_txt(
        [{"code": "1", "name": "", "use": "", "geometry_4490": shapes.SQUARE_SJZ}], zone=39
    )
    f = parse_txt(data)
    assert f.epsg == 4527
    assert shapely.hausdorff_distance(f.parcels[0].geometry_4490, shapes.SQUARE_SJZ) < 1e-8


CHANGLI = box(119.160, 39.700, 119.164, 39.704)  # 昌黎, zone 40


def test_parcel_zone_is_that_of_the_centroid() -> None:
    assert parcel_zone(shapes.SQUARE_SJZ) == 38
    assert parcel_zone(CHANGLI) == 40
    assert parcel_zone(box(115.49, 38.0, 115.52, 38.01)) == 39  # centroid 115.505 °E


def test_write_refuses_mixed_zones_without_an_explicit_zone() -> None:
    items = [
        {"code": "Z38", "name": "", "use": "", "geometry_4490": shapes.SQUARE_SJZ},
        {"code": "Z40", "name": "", "use": "", "geometry_4490": CHANGLI},
    ]
    with pytest.raises(FormatError, match="多个 3° 投影带（38、40 带）"):
        write_txt(items)
    assert parse_txt(write_txt(items, zone=39)).epsg == 4527  # the caller's explicit choice


def test_write_txt_zones_puts_each_parcel_in_its_own_zone() -> None:
    items = [
        {"code": "Z40-A", "name": "昌黎", "use": "工业用地", "geometry_4490": CHANGLI},
        {"code": "Z38", "name": "石家庄", "use": "工业用地", "geometry_4490": shapes.SQUARE_SJZ},
        {"code": "Z40-B", "name": "", "use": "", "geometry_4490": shapes.MULTIPART_CHANGLI},
    ]
    files = write_txt_zones(items, produced_on=dt.date(2024, 5, 1))
    assert list(files) == [38, 40]
    f38, f40 = parse_txt(files[38]), parse_txt(files[40])
    assert (f38.epsg, f40.epsg) == (4526, 4528) and f38.warnings == f40.warnings == []
    assert (f38.header["带号"], f40.header["带号"]) == ("38", "40")
    assert [p.code for p in f38.parcels] == ["Z38"]
    assert [p.code for p in f40.parcels] == ["Z40-A", "Z40-B"]  # the input order
    by_code = {item["code"]: item["geometry_4490"] for item in items}
    for p in [*f38.parcels, *f40.parcels]:
        assert shapely.hausdorff_distance(p.geometry_4490, by_code[p.code]) < 1e-8
    # 地块面积 is the area in the parcel's own zone; zone 38 would be 0.47 % too large.
    [changli] = [p for p in f40.parcels if p.code == "Z40-A"]
    in_40, in_38 = _gk(CHANGLI, 4528).area, _gk(CHANGLI, 4526).area
    assert changli.declared_area_ha == pytest.approx(in_40 / 1e4, abs=5e-5)
    assert in_38 / in_40 - 1 == pytest.approx(0.0047, abs=0.0005)


def test_write_refuses_nothing_and_empty() -> None:
    with pytest.raises(FormatError):
        write_txt([])
    with pytest.raises(GeometryError):
        write_txt([{"code": "1", "name": "", "use": "", "geometry_4490": shapes.EMPTY}])
    with pytest.raises(GeometryError):
        write_txt([{"code": "1", "name": "", "use": "", "geometry_4490": shapes.LINE}])


@settings(max_examples=40, deadline=None)
@given(
    lon=st.floats(113.5, 119.8),
    lat=st.floats(36.1, 42.6),
    w=st.floats(1e-4, 1e-2),
    h=st.floats(1e-4, 1e-2),
)
def test_round_trip_property(lon: float, lat: float, w: float, h: float) -> None:
    geom = box(lon, lat, lon + w, lat + h)
    p = parse_txt(write_txt([{"code": "x", "name": "", "use": "", "geometry_4490": geom}])).parcels[
        0
    ]
    assert shapely.hausdorff_distance(p.geometry, _gk(geom, p.epsg)) < 1e-3
