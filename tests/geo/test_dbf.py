"""The DBF encoding: language driver id, then detection over field names and records."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from landmatch.errors import FormatError
from landmatch.geo.dbf import LDID_CODEPAGES, cpg_encoding, dbf_encoding
from tests.geo import shapes


def _dbf(tmp_path: Path, columns: dict[str, list[str]], encoding: str, ldid: int | None) -> bytes:
    """A real DBF written by GDAL, its language driver id byte set to ``ldid``."""
    gdf = gpd.GeoDataFrame(columns, geometry=[shapes.SQUARE_SJZ], crs="EPSG:4490")
    gdf.to_file(tmp_path / "p.shp", engine="pyogrio", encoding=encoding)
    data = bytearray((tmp_path / "p.dbf").read_bytes())
    if ldid is not None:
        data[29] = ldid
    return bytes(data)


CHINESE_NAMES = {"地块编号": ["SHP-1"], "地块名称": ["abc"], "用途": ["100101"]}


def test_chinese_field_names_with_ascii_values_are_detected(tmp_path: Path) -> None:
    # The reported case: GBK headers, ASCII-only records, no .cpg, LDID 0.
    dbf = _dbf(tmp_path, CHINESE_NAMES, "GBK", ldid=0)
    assert dbf[29] == 0 and dbf[32:40] == "地块编号".encode("gbk")
    assert dbf_encoding(dbf) == "GB18030"


def test_utf8_field_names_cut_inside_a_character_are_utf8(tmp_path: Path) -> None:
    # "地块名称面积" is 18 bytes in UTF-8; the DBF keeps 10 or 11, mid-character.
    dbf = _dbf(tmp_path, {"地块名称面积": ["a"]}, "UTF-8", ldid=0)
    assert dbf_encoding(dbf) == "UTF-8"


@pytest.mark.parametrize("ldid", [0x4D, 0x7A])
def test_gbk_language_driver_ids(tmp_path: Path, ldid: int) -> None:
    assert dbf_encoding(_dbf(tmp_path, CHINESE_NAMES, "GBK", ldid)) == "GBK"


def test_language_driver_id_comes_before_detection(tmp_path: Path) -> None:
    # CP1252 bytes that are neither UTF-8 nor GB18030: only the LDID makes them readable.
    dbf = _dbf(tmp_path, {"name": ["Café"]}, "CP1252", ldid=0x03)
    assert dbf_encoding(dbf) == "CP1252"
    with pytest.raises(FormatError):
        dbf_encoding(dbf[:29] + b"\0" + dbf[30:])


def test_ansi_language_driver_id_says_nothing(tmp_path: Path) -> None:
    assert 0x57 not in LDID_CODEPAGES
    assert dbf_encoding(_dbf(tmp_path, CHINESE_NAMES, "GBK", ldid=0x57)) == "GB18030"
    assert dbf_encoding(_dbf(tmp_path, CHINESE_NAMES, "UTF-8", ldid=0x57)) == "UTF-8"


def test_a_language_driver_id_that_does_not_fit_falls_back_to_detection(tmp_path: Path) -> None:
    # LDID says GBK, but the table is UTF-8 whose bytes are no GBK ("地1": B0 31 is no pair).
    dbf = _dbf(tmp_path, {"name": ["地1"]}, "UTF-8", ldid=0x4D)
    assert dbf_encoding(dbf) == "UTF-8"


def test_undecodable_table_asks_for_encoding(tmp_path: Path) -> None:
    dbf = _dbf(tmp_path, {"name": ["abcdef"]}, "UTF-8", ldid=0)
    broken = dbf.replace(b"abcdef", b"\xff\xfe\xfa\x80\xff\x80")
    with pytest.raises(FormatError, match="DBF 属性表编码无法识别.*请指定字符编码"):
        dbf_encoding(broken)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("936", "GBK"),
        ("CP936\r\n", "GBK"),
        ("gb2312", "GBK"),
        ("GB18030", "GB18030"),
        ("UTF-8", "UTF-8"),
        ("utf8", "UTF-8"),
        ("65001", "UTF-8"),
        ("ANSI 1252", "CP1252"),
        ("", None),
        ("  ", None),
        ("KLINGON", "KLINGON"),
    ],
)
def test_cpg_names(text: str, expected: str | None) -> None:
    assert cpg_encoding(text) == expected
