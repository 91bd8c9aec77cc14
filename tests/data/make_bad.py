"""Write the corpus of broken import files to ``tests/data/bad/``.

Run: ``python tests/data/make_bad.py``. Each file must end in a clear 4xx rejection with nothing
written (tests/inventory/test_bad_corpus.py). ``CASES`` maps file name → (import options, a
fragment of the expected message).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import shapely

BAD = Path(__file__).parent / "bad"
SQ = [[114.50, 38.04], [114.502, 38.04], [114.502, 38.042], [114.50, 38.042], [114.50, 38.04]]
SQ_WKT = "POLYGON((114.5 38.04, 114.502 38.04, 114.502 38.042, 114.5 38.042, 114.5 38.04))"
TXT_HEAD = "[属性描述]\r\n坐标系=2000国家大地坐标系\r\n几度分带=3\r\n带号={zone}\r\n[地块坐标]\r\n"


def feature(props: dict, geometry: dict | None) -> dict:  # type: ignore[type-arg]
    return {"type": "Feature", "properties": props, "geometry": geometry}


def fc(*features: dict) -> bytes:  # type: ignore[type-arg]
    return json.dumps(
        {"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False
    ).encode()


def props(code: str = "BAD-001", **kw: object) -> dict:  # type: ignore[type-arg]
    return {"地块编号": code, "地块名称": "坏数据", "用途": "100101", "状态": "ready", **kw}


def poly(coords: list) -> dict:  # type: ignore[type-arg]
    return {"type": "Polygon", "coordinates": [coords]}


def shapefile_zip(
    drop: tuple[str, ...] = (),
    extra: dict[str, bytes] | None = None,
    dbf: tuple[bytes, bytes] | None = None,
) -> bytes:
    """A one-parcel shapefile zip; ``dbf`` = (old, new) replaces bytes in the .dbf."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        gdf = gpd.GeoDataFrame(
            {"code": ["BAD-SHP"], "name": ["坏"], "land_use": ["100101"]},
            geometry=[shapely.Polygon(SQ)],
            crs="EPSG:4490",
        )
        gdf.to_file(Path(d) / "p.shp", engine="pyogrio", encoding="UTF-8")
        if dbf:
            path = Path(d) / "p.dbf"
            path.write_bytes(path.read_bytes().replace(*dbf))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(d).iterdir()):
                if p.suffix not in drop:
                    zf.write(p, p.name)
            for name, data in (extra or {}).items():
                zf.writestr(name, data)
        return buf.getvalue()


def csv(header: str, *rows: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def merged_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["地块信息", None, "用途", "WKT"])
    ws.merge_cells("A1:B1")
    ws.append(["BAD-X", "坏", "100101", SQ_WKT])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def word_document() -> bytes:
    """The parts that make a .docx (an OOXML zip, but no workbook)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", '<?xml version="1.0"?><document/>')
    return buf.getvalue()


def bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("p.shp", b"\0" * (40 * 1024 * 1024))
    return buf.getvalue()


def slip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.shp", b"x")
    return buf.getvalue()


HEADER = "地块编号,地块名称,用途,状态,WKT"


# Domain rules §5.3, as a Windows tool writes it (GBK, CRLF).
EXAMPLE_TXT = (
    TXT_HEAD.format(zone=38) + "5,1.0000,1,地块1,面,,工业用地,,@\r\n"
    "J1,1,4212000.000,38544700.000\r\nJ2,1,4212000.000,38544800.000\r\n"
    "J3,1,4212100.000,38544800.000\r\nJ4,1,4212100.000,38544700.000\r\n"
    "J1,1,4212000.000,38544700.000\r\n"
).encode("gbk")


def build() -> dict[str, tuple[bytes, dict, str]]:  # type: ignore[type-arg]
    good_zip = shapefile_zip()
    return {
        "truncated.zip": (good_zip[: len(good_zip) // 2], {}, "压缩包已损坏"),
        "no_shx.zip": (shapefile_zip(drop=(".shx",)), {}, ".shx"),
        "no_dbf.zip": (shapefile_zip(drop=(".dbf",)), {}, ".dbf"),
        "two_layers.zip": (
            shapefile_zip(extra={"q.shp": b"x", "q.shx": b"x", "q.dbf": b"x"}),
            {},
            "多个 .shp",
        ),
        "zip_slip.zip": (slip(), {}, "不安全的路径"),
        "zip_bomb.zip": (bomb(), {}, "压缩炸弹"),
        "undecodable.csv": (
            b"\xef\xbb\xbf"
            + HEADER.encode()
            + b"\nBAD-1,\xff\xfe\xfa,100101,ready,"
            + SQ_WKT.encode()
            + b"\n",
            {},
            "编码",
        ),
        "wrong_encoding.csv": (
            csv(HEADER, f'BAD-1,坏地块,100101,ready,"{SQ_WKT}"', encoding="gbk"),
            {"encoding": "UTF-8"},
            "无法按 UTF-8 解码",
        ),
        "no_at_line.txt": (
            (
                TXT_HEAD.format(zone=38) + "J1,1,4212000.000,38544700.000\r\n"
                "J2,1,4212000.000,38544800.000\r\n"
            ).encode("gbk"),
            {},
            "@",
        ),
        "mixed_zones.txt": (
            (
                TXT_HEAD.format(zone="") + "4,1.0,A1,地块1,面,,工业用地,,@\r\n"
                "J1,1,4212000.000,38544700.000\r\nJ2,1,4212000.000,38544800.000\r\n"
                "J3,1,4212100.000,38544800.000\r\nJ1,1,4212000.000,38544700.000\r\n"
                "4,1.0,A2,地块2,面,,工业用地,,@\r\n"
                "J1,1,4212000.000,39544700.000\r\nJ2,1,4212000.000,39544800.000\r\n"
                "J3,1,4212100.000,39544800.000\r\nJ1,1,4212000.000,39544700.000\r\n"
            ).encode("gbk"),
            {},
            "带",
        ),
        "utf16_garbage.txt": (b"\xff\xfe\x00\x01garbage", {}, "UTF-16 字节顺序标记"),
        "txt_file_codes.txt": (EXAMPLE_TXT, {}, "请指定地块编号前缀"),
        "bad_code_prefix.txt": (EXAMPLE_TXT, {"code_prefix": "石家庄/2024"}, "地块编号前缀"),
        "dbf_undecodable.zip": (
            shapefile_zip(drop=(".cpg",), dbf=(b"BAD-SHP", b"\xff\xfe\xfa\x80\xff\x80\xfe")),
            {},
            "DBF 属性表编码无法识别",
        ),
        "dbf_unknown_cpg.zip": (
            shapefile_zip(drop=(".cpg",), extra={"p.cpg": b"KLINGON"}),
            {},
            "未知的字符编码“KLINGON”",
        ),
        "word_as_xlsx.xlsx": (word_document(), {}, "Office 文档，不是 Excel 工作簿"),
        "old_excel.xls": (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504,
            {},
            "另存为“Excel 工作簿（*.xlsx）”",
        ),
        "open_ring.csv": (
            csv(
                HEADER,
                'BAD-1,坏,100101,ready,"POLYGON((114.5 38.04, 114.502 38.04, 114.502 38.042))"',
            ),
            {},
            "WKT",
        ),
        "bowtie.geojson": (
            fc(
                feature(
                    props(),
                    poly(
                        [
                            [114.5, 38.04],
                            [114.502, 38.042],
                            [114.502, 38.04],
                            [114.5, 38.042],
                            [114.5, 38.04],
                        ]
                    ),
                )
            ),
            {},
            "自相交",
        ),
        "empty_geometry.geojson": (fc(feature(props(), None)), {}, "几何"),
        "points.geojson": (
            fc(feature(props(), {"type": "Point", "coordinates": [114.5, 38.04]})),
            {},
            "Point",
        ),
        "swapped_latlon.geojson": (
            fc(feature(props(), poly([[y, x] for x, y in SQ]))),
            {},
            "经纬度颠倒",
        ),
        "nan_coords.csv": (
            csv(
                HEADER,
                'BAD-1,坏,100101,ready,"POLYGON((114.5 38.04, NaN 38.04, '
                '114.502 38.042, 114.5 38.04))"',
            ),
            {},
            "NaN",
        ),
        "outside_china.geojson": (
            fc(feature(props(), poly([[2.35 + x - 114.5, 48.85 + y - 38.04] for x, y in SQ]))),
            {},
            "超出中国",
        ),
        "beijing.geojson": (
            fc(feature(props(), poly([[116.40 + x - 114.5, 39.90 + y - 38.04] for x, y in SQ]))),
            {},
            "河北",
        ),
        "wrong_city.geojson": (fc(feature(props(**{"城市代码": "130200"}), poly(SQ))), {}, "不符"),
        "duplicate_codes.geojson": (
            fc(feature(props(), poly(SQ)), feature(props(), poly(SQ))),
            {},
            "重复",
        ),
        "unknown_columns.csv": (
            csv(HEADER + ",颜色", f'BAD-1,坏,100101,ready,"{SQ_WKT}",红'),
            {},
            "无法识别的列",
        ),
        "merged_header.xlsx": (merged_xlsx(), {}, "合并单元格"),
        "ambiguous_crs.csv": (
            csv(
                HEADER,
                'BAD-1,坏,100101,ready,"POLYGON((544700 4212000, 544800 '
                '4212000, 544800 4212100, 544700 4212000))"',
            ),
            {},
            "请指定坐标系",
        ),
        "unknown_status.csv": (csv(HEADER, f'BAD-1,坏,100101,待定,"{SQ_WKT}"'), {}, "状态"),
        "out_of_range.csv": (
            csv(HEADER + ",容积率上限", f'BAD-1,坏,100101,ready,"{SQ_WKT}",99'),
            {},
            "最大值",
        ),
        "start_before_contract.csv": (
            csv(
                HEADER + ",合同签订日期,约定开工日期",
                f'BAD-1,坏,100101,supplied,"{SQ_WKT}",2024-05-01,2024-01-01',
            ),
            {},
            "早于合同签订日期",
        ),
        "bad_date.csv": (
            csv(HEADER + ",批准日期", f'BAD-1,坏,100101,ready,"{SQ_WKT}",2024-13-45'),
            {},
            "日期",
        ),
        "bad_code.csv": (csv(HEADER, f'地块 1,坏,100101,ready,"{SQ_WKT}"'), {}, "编号"),
        "missing_name.geojson": (
            fc(feature({"地块编号": "BAD-002", "用途": "100101"}, poly(SQ))),
            {},
            "名称",
        ),
        "not_json.geojson": (b"{ this is not json", {}, "JSON"),
        "no_features.geojson": (fc(), {}, "没有"),
        "corrupt.gpkg": (b"SQLite format 3\x00" + b"\x13" * 2000, {}, "GeoPackage"),
        "report.docx": (b"PK\x03\x04 not really", {}, "无法识别的文件类型"),
    }


CASES = build()

if __name__ == "__main__":
    BAD.mkdir(exist_ok=True)
    for name, (data, _opts, _msg) in CASES.items():
        (BAD / name).write_bytes(data)
    (BAD / "cases.json").write_text(
        json.dumps(
            {k: {"options": v[1], "expect": v[2]} for k, v in CASES.items()},
            ensure_ascii=False,
            indent=1,
        )
    )
    print(f"wrote {len(CASES)} files to {BAD}")
