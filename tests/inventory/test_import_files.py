"""Import files as users send them: TXT parcel numbers and --code-prefix, encodings (TXT and
DBF), files whose extension lies, GDAL messages without server paths, one file per upload.

Against the real database and real files; rejections are checked for their Chinese message and
for leaving the database as it was.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from landmatch.auth import Principal
from landmatch.errors import InvalidInput, UnprocessableInput
from landmatch.inventory.imports import ImportOptions, run_import
from landmatch.settings import Settings
from tests.conftest import auth
from tests.data import office_files as office
from tests.geo import shapes
from tests.inventory.conftest import feature, geojson_bytes, post_import, square

ADMIN = Principal(name="tester", role="admin")
EXAMPLE = shapes.TXT_EXAMPLE.replace("\n", "\r\n").encode("gbk")  # as a Windows tool writes it
EXAMPLE_HEADER_LINE = 13


def _problem(r: httpx.Response) -> str:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    body = r.json()
    return body["detail"] + json.dumps(body.get("errors"), ensure_ascii=False)


# --------------------------------------------------------------------------- TXT codes


def test_txt_file_numbers_are_refused_with_a_hint(
    client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    before = fingerprint()
    r = post_import(client, tokens["admin"], "zdx.txt", EXAMPLE)
    assert r.status_code == 422, r.text
    report = r.json()["errors"]
    [row] = report["rows"]
    assert row["row"] == EXAMPLE_HEADER_LINE and row["code"] == "1"
    [problem] = row["problems"]
    assert problem["field"] == "code"
    assert problem["reason"].startswith(
        "地块编号“1”格式不正确（3–64 个字符，不含空格、控制字符和 /、\\）；"
    )
    assert "界址点文件的地块编号只是文件内序号，请指定地块编号前缀" in problem["reason"]
    assert "（如 130100-2024-XY）" in problem["reason"] and "--" not in problem["reason"]
    assert "请指定地块编号前缀" in r.json()["detail"]  # the summary names the first problem
    assert fingerprint() == before


def test_txt_hint_is_given_once_per_row(session: Session) -> None:
    head, body = shapes.TXT_EXAMPLE.split("[地块坐标]\n")
    second = body.replace(",385447", ",385457").replace(",385448", ",385458")
    txt = (head + "[地块坐标]\n" + body + second).encode()  # two parcels, both numbered 1
    rep = run_import(session.connection(), txt, "a.txt", ADMIN, ImportOptions(dry_run=True))
    assert [r["row"] for r in rep["rows"]] == [13, 19]
    for row in rep["rows"]:
        reasons = [p["reason"] for p in row["problems"]]
        assert len(reasons) == 2 and "在文件中重复" in reasons[1]
        assert [r.count("请指定地块编号前缀") for r in reasons] == [1, 0]
    rep = run_import(
        session.connection(), txt, "a.txt", ADMIN, ImportOptions(dry_run=True, code_prefix="S")
    )
    assert rep["totals"]["rejected"] == 2  # S-1 twice: still duplicates, without the hint
    assert all("地块编号前缀" not in p["reason"] for p in rep["rejected"])


def test_txt_with_code_prefix_creates_prefix_dash_number(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    r = post_import(client, tokens["bureau"], "zdx.txt", EXAMPLE, code_prefix="SJZ-2024")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["code_prefix"] == "SJZ-2024" and report["crs"] == "EPSG:4526"
    assert report["rows"] == [
        {"row": EXAMPLE_HEADER_LINE, "code": "SJZ-2024-1", "action": "created"}
    ]
    # What the import decided for the file's 工业用地, the blank status and visibility, and the
    # county the parcel lies in (the file names none).
    assert [(d["field"], d["rows"]) for d in report["decisions"]] == [
        ("land_use", [EXAMPLE_HEADER_LINE]),
        ("status", [EXAMPLE_HEADER_LINE]),
        ("visibility", [EXAMPLE_HEADER_LINE]),
        ("county_code", [EXAMPLE_HEADER_LINE]),
    ]
    area, city, county = session.execute(
        text(
            "SELECT area_m2, city_code, county_code FROM landmatch.parcel WHERE code = 'SJZ-2024-1'"
        )
    ).one()
    assert (
        county
        == session.execute(
            text(
                "SELECT c.code FROM landmatch.parcel p JOIN landmatch.admin_division c "
                "ON c.level = 'county' AND ST_Contains(c.geom, ST_PointOnSurface(p.geom)) "
                "WHERE p.code = 'SJZ-2024-1'"
            )
        ).scalar_one()
    )
    assert float(area) == pytest.approx(10_000, rel=1e-3)  # 1 公顷 within 0.1 %
    assert city == "130100"


def test_cli_import_with_code_prefix(
    tmp_path: Path, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from landmatch.cli import app
    from landmatch.settings import get_settings

    monkeypatch.setenv("LANDMATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    f = tmp_path / "zdx.txt"
    f.write_bytes(EXAMPLE)
    out = tmp_path / "report.json"
    args = ["import", str(f), "--dry-run", "--code-prefix", "SJZ-2024", "--report", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    assert report["rows"] == [
        {"row": EXAMPLE_HEADER_LINE, "code": "SJZ-2024-1", "action": "created"}
    ]
    r = CliRunner().invoke(app, ["import", str(f), "--dry-run", "--report", str(out)])
    assert r.exit_code == 2 and "拒绝" in r.output  # a dry run reports rejections, exits 2
    [rejected] = json.loads(out.read_text())["rejected"]
    assert rejected["row"] == EXAMPLE_HEADER_LINE
    assert "请指定地块编号前缀" in rejected["reason"]
    r = CliRunner().invoke(app, ["import", str(f), "--dry-run", "--code-prefix", "石家庄 2024"])
    assert isinstance(r.exception, InvalidInput)
    assert "地块编号前缀“石家庄 2024”无效" in r.exception.message
    with engine.connect() as c:
        assert not c.execute(
            text("SELECT count(*) FROM landmatch.parcel WHERE code LIKE 'SJZ-2024-%'")
        ).scalar()


def test_code_prefix_sanitises_and_applies_to_every_format(session: Session) -> None:
    conn = session.connection()
    txt = shapes.TXT_EXAMPLE.replace(",1,地块1,", ",B/R-14,地块1,").encode()
    rep = run_import(conn, txt, "a.txt", ADMIN, ImportOptions(code_prefix="QHD_2024"))
    assert [r["code"] for r in rep["rows"]] == ["QHD_2024-B-R-14"]
    geo = geojson_bytes(feature("7"), feature("A 8 /", square(114.52, 38.05)))
    rep = run_import(conn, geo, "b.geojson", ADMIN, ImportOptions(code_prefix="-HB-"))
    assert [r["code"] for r in rep["rows"]] == ["HB-7", "HB-A-8"]
    stored = conn.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE code IN ('QHD_2024-B-R-14', 'HB-7', 'HB-A-8')"
        )
    ).scalars()
    assert sorted(stored) == ["HB-7", "HB-A-8", "QHD_2024-B-R-14"]


@pytest.mark.parametrize("prefix", ["石家庄 2024", "SJZ 2024", "a" * 41, "---", "SJZ/2024"])
def test_malformed_prefix_is_refused(
    session: Session, fingerprint: Callable[[], tuple], prefix: str
) -> None:
    before = fingerprint()
    with pytest.raises(InvalidInput, match="地块编号前缀“.*”无效：1–40 个字符，不含空格"):
        run_import(session.connection(), EXAMPLE, "a.txt", ADMIN, ImportOptions(code_prefix=prefix))
    assert fingerprint() == before


def test_blank_prefix_means_none(session: Session) -> None:
    rep = run_import(
        session.connection(),
        geojson_bytes(feature("PFX-001")),
        "a.geojson",
        ADMIN,
        ImportOptions(code_prefix="  ", dry_run=True),
    )
    assert rep["code_prefix"] is None and rep["rows"][0]["code"] == "PFX-001"


def test_code_without_letters_or_digits_cannot_take_a_prefix(
    session: Session, fingerprint: Callable[[], tuple]
) -> None:
    before = fingerprint()
    txt = shapes.TXT_EXAMPLE.replace(",1,地块1,", ",、—,地块1,").encode()
    with pytest.raises(UnprocessableInput) as info:
        run_import(session.connection(), txt, "a.txt", ADMIN, ImportOptions(code_prefix="SJZ"))
    [row] = info.value.detail["rows"]
    assert row["row"] == EXAMPLE_HEADER_LINE
    assert [p["reason"] for p in row["problems"]] == [
        "地块编号“、—”中没有字母或数字，加前缀 SJZ 后无法构成编号；请在文件中填写编号"
    ]
    assert fingerprint() == before


# --------------------------------------------------------------------------- TXT content


def test_txt_area_mismatch_is_warned_once_in_mu_and_hectares(session: Session) -> None:
    txt = shapes.TXT_EXAMPLE.replace("5,1.0000,", "5,1.2000,").encode()
    rep = run_import(
        session.connection(), txt, "a.txt", ADMIN, ImportOptions(code_prefix="SJZ", dry_run=True)
    )
    message = (
        "申报面积 1.2 公顷（18.00 亩）与坐标计算面积 1.0000 公顷（15.00 亩）相差 +20.00%（超过 1%）"
    )
    # Once, on the parcel's row (a warning row), and once in the list of messages.
    assert rep["rows"][0]["warnings"] == [{"field": "geometry", "message": message}]
    assert [w for w in rep["warnings"] if "申报面积" in w] == [
        f"第 13 行（SJZ-1）几何图形：{message}"
    ]


def test_utf16_garbage_txt_is_a_clear_format_error(
    client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    before = fingerprint()
    r = post_import(client, tokens["admin"], "x.txt", b"\xff\xfe\x00\x01garbage")
    assert r.status_code == 422
    assert r.json()["title"] == "文件格式错误"
    assert "文件以 UTF-16 字节顺序标记（BOM）开头，但内容不是有效的 UTF-16 文本" in _problem(r)
    assert fingerprint() == before


def test_txt_encoding_option_is_honoured(
    client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    utf16 = shapes.TXT_EXAMPLE.encode("utf-16-le")  # no BOM: only --encoding can tell
    before = fingerprint()
    r = post_import(client, tokens["admin"], "a.txt", utf16, code_prefix="SJZ", dry_run=True)
    assert r.status_code == 422 and "请指定字符编码" in _problem(r)
    r = post_import(
        client,
        tokens["admin"],
        "a.txt",
        utf16,
        code_prefix="SJZ",
        encoding="UTF-16LE",
        dry_run=True,
    )
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0]["code"] == "SJZ-1" and r.json()["totals"]["created"] == 1
    r = post_import(client, tokens["admin"], "a.txt", EXAMPLE, code_prefix="SJZ", encoding="UTF-8")
    assert r.status_code == 422 and "无法按 UTF-8 解码文件" in _problem(r)
    assert fingerprint() == before


# --------------------------------------------------------------------------- shapefile DBF


def _gbk_shapefile(tmp: Path, values: dict[str, list[str]], *, ldid: int, cpg: str | None) -> bytes:
    """A real shapefile zip, DBF in GBK with Chinese field names, LDID byte set, no/with .cpg."""
    gdf = gpd.GeoDataFrame(values, geometry=[shapes.SQUARE_SJZ], crs="EPSG:4490")
    gdf.to_file(tmp / "p.shp", engine="pyogrio", encoding="GBK")
    dbf = bytearray((tmp / "p.dbf").read_bytes())
    dbf[29] = ldid
    (tmp / "p.dbf").write_bytes(bytes(dbf))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(tmp.iterdir()):
            if p.suffix not in (".cpg", ".zip"):
                zf.write(p, p.name)
        if cpg is not None:
            zf.writestr("p.cpg", cpg)
    return buf.getvalue()


ASCII_VALUES = {"地块编号": ["SHP-GBK-1"], "地块名称": ["Plot A"], "用途": ["100101"]}


@pytest.mark.parametrize("ldid", [0x00, 0x4D, 0x7A, 0x57])
def test_gbk_field_names_without_cpg(tmp_path: Path, session: Session, ldid: int) -> None:
    data = _gbk_shapefile(tmp_path, ASCII_VALUES, ldid=ldid, cpg=None)
    rep = run_import(session.connection(), data, "gbk.zip", ADMIN, ImportOptions())
    assert rep["rows"] == [{"row": 1, "code": "SHP-GBK-1", "action": "created"}]
    name = session.execute(
        text("SELECT name FROM landmatch.parcel WHERE code = 'SHP-GBK-1'")
    ).scalar()
    assert name == "Plot A"


def test_dbf_ldid_gives_chinese_values(tmp_path: Path, session: Session) -> None:
    values = {**ASCII_VALUES, "地块名称": ["昌黎东区地块"]}
    data = _gbk_shapefile(tmp_path, values, ldid=0x4D, cpg=None)
    run_import(session.connection(), data, "gbk.zip", ADMIN, ImportOptions())
    name = session.execute(
        text("SELECT name FROM landmatch.parcel WHERE code = 'SHP-GBK-1'")
    ).scalar()
    assert name == "昌黎东区地块"


def test_encoding_precedence_option_then_cpg_then_ldid(
    tmp_path: Path, session: Session, fingerprint: Callable[[], tuple]
) -> None:
    conn = session.connection()
    before = fingerprint()
    # A .cpg that lies (UTF-8) beats the LDID (GBK): the names do not decode.
    lying = _gbk_shapefile(tmp_path, ASCII_VALUES, ldid=0x4D, cpg="UTF-8")
    with pytest.raises(UnprocessableInput, match="无法按 UTF-8 解码.*请指定正确的字符编码"):
        run_import(conn, lying, "gbk.zip", ADMIN, ImportOptions())
    assert fingerprint() == before
    # --encoding beats the .cpg.
    rep = run_import(conn, lying, "gbk.zip", ADMIN, ImportOptions(encoding="GBK", dry_run=True))
    assert rep["rows"][0]["code"] == "SHP-GBK-1"
    # The .cpg beats the LDID (which says CP1252 here).
    right = _gbk_shapefile(tmp_path, ASCII_VALUES, ldid=0x03, cpg="936")
    rep = run_import(conn, right, "gbk.zip", ADMIN, ImportOptions(dry_run=True))
    assert rep["rows"][0]["code"] == "SHP-GBK-1"


# --------------------------------------------------------------------------- content vs name


def _xlsx(*rows: list[object]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _gpkg(code: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "p.gpkg"
        gpd.GeoDataFrame(
            {"code": [code], "name": ["测试"], "land_use": ["100101"]},
            geometry=[shapes.SQUARE_SJZ],
            crs="EPSG:4490",
        ).to_file(path, driver="GPKG", engine="pyogrio")
        return path.read_bytes()


def _shp_zip(code: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        gpd.GeoDataFrame(
            {"code": [code], "name": ["测试"], "land_use": ["100101"]},
            geometry=[shapes.SQUARE_SJZ],
            crs="EPSG:4490",
        ).to_file(Path(d) / "p.shp", engine="pyogrio", encoding="UTF-8")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for p in sorted(Path(d).iterdir()):
                zf.write(p, p.name)
        return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "fmt", "warning"),
    [
        (
            "清单.csv",
            lambda: _xlsx(
                ["地块编号", "地块名称", "用途", "WKT"],
                ["CT-1", "测试", "100101", shapes.SQUARE_SJZ.wkt],
            ),
            "xlsx",
            "文件“清单.csv”的扩展名为 .csv（CSV），但内容是 Excel 工作簿（xlsx）；"
            "已按内容读取为 Excel 工作簿（xlsx）",
        ),
        (
            "p.geojson",
            lambda: _gpkg("CT-1"),
            "gpkg",
            "文件“p.geojson”的扩展名为 .geojson（GeoJSON），但内容是 GeoPackage；"
            "已按内容读取为 GeoPackage",
        ),
        (
            "p.txt",
            lambda: geojson_bytes(feature("CT-1")),
            "geojson",
            "文件“p.txt”的扩展名为 .txt（界址点坐标 TXT），但内容是 GeoJSON；已按内容读取为 GeoJSON",
        ),
        (
            "p.xlsx",
            lambda: _shp_zip("CT-1"),
            "shp",
            "文件“p.xlsx”的扩展名为 .xlsx（Excel 工作簿（xlsx）），但内容是 Shapefile（zip 压缩包）；"
            "已按内容读取为 Shapefile（zip 压缩包）",
        ),
        (
            "p.dat",
            lambda: _gpkg("CT-1"),
            "gpkg",
            "文件“p.dat”的扩展名为 .dat，但内容是 GeoPackage；已按内容读取为 GeoPackage",
        ),
    ],
)
def test_content_decides_with_a_warning(
    client: TestClient,
    tokens: dict[str, str],
    fingerprint: Callable[[], tuple],
    name: str,
    make: Callable[[], bytes],
    fmt: str,
    warning: str,
) -> None:
    before = fingerprint()
    r = post_import(client, tokens["admin"], name, make(), dry_run=True, city="130100")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["format"] == fmt and report["totals"]["created"] == 1
    assert report["warnings"][0] == warning
    assert fingerprint() == before


def test_matching_extension_gives_no_warning(client: TestClient, tokens: dict[str, str]) -> None:
    r = post_import(client, tokens["admin"], "p.gpkg", _gpkg("CT-2"), dry_run=True)
    assert r.status_code == 200, r.text
    assert not [w for w in r.json()["warnings"] if "扩展名" in w]


def test_office_documents_that_are_no_workbook_are_refused(
    client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    from tests.data.make_bad import word_document

    before = fingerprint()
    r = post_import(client, tokens["admin"], "清单.xlsx", word_document())
    assert r.status_code == 422
    assert "无法识别的文件类型“清单.xlsx”：内容是 Word、PowerPoint 等 Office 文档" in _problem(r)
    assert fingerprint() == before


# --------------------------------------------------------------------------- GDAL messages


@pytest.mark.parametrize(
    ("name", "data", "shown"),
    [
        ("地块.gpkg", b"this is no database at all", "“地块.gpkg”不是可识别的 GeoPackage 文件"),
        ("p.geojson", b'{"type": "Unknown"}', "“p.geojson”不是可识别的 GeoJSON 文件"),
        (
            "parcels.zip",
            None,
            "“parcels.zip/p.shp”不是可识别的 Shapefile 文件",
        ),
    ],
)
def test_gdal_messages_name_the_users_file(
    client: TestClient,
    tokens: dict[str, str],
    fingerprint: Callable[[], tuple],
    name: str,
    data: bytes | None,
    shown: str,
) -> None:
    if data is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for ext in ("shp", "shx", "dbf"):
                zf.writestr(f"p.{ext}", b"x" * 200)
        data = buf.getvalue()
    before = fingerprint()
    r = post_import(client, tokens["admin"], name, data)
    assert r.status_code == 422
    message = _problem(r)
    assert shown in message
    assert "/tmp" not in message and "lm-import-" not in message and "upload." not in message
    assert fingerprint() == before


def test_gdal_message_paths_are_replaced() -> None:
    """GDAL's text names the server's temp files; the user reads Chinese naming their file."""
    from landmatch.inventory.readers import _gdal_message

    tmp = Path(tempfile.gettempdir()) / "lm-import-abc123"
    exc = RuntimeError(f"sqlite3_open({tmp}/upload.gpkg) failed: {tmp}/upload.gpkg-wal locked")
    assert (
        _gdal_message(exc, "地块.gpkg", "GeoPackage")
        == "“地块.gpkg”已损坏或不完整（数据库文件损坏）"
    )
    exc = RuntimeError(f"Unable to open {tmp}/p.shx or {tmp}/p.SHX. Set SHAPE_RESTORE_SHX")
    assert (
        _gdal_message(exc, "x.zip/p.shp", "Shapefile")
        == "“x.zip/p.shp”缺少索引文件 .shx 或它已损坏"
    )
    exc = RuntimeError(f"Something new at {tmp}/p.dbf")
    assert (
        _gdal_message(exc, "x.zip/p.shp", "Shapefile")
        == "“x.zip/p.shp”已损坏或不是有效的 Shapefile 文件"
    )


# --------------------------------------------------------------------------- the upload


def test_two_file_parts_are_refused(
    client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    before = fingerprint()
    r = client.post(
        "/api/imports",
        files=[
            ("file", ("a.geojson", geojson_bytes(feature("TWO-001")))),
            ("file", ("b.geojson", geojson_bytes(feature("TWO-002", square(114.52, 38.05))))),
        ],
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 422
    assert "一次只能导入一个文件：表单中有 2 个 file 字段" in _problem(r)
    assert fingerprint() == before


def test_repeated_form_fields_are_refused(
    client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    before = fingerprint()
    r = client.post(
        "/api/imports",
        files=[("file", ("a.geojson", geojson_bytes(feature("TWO-001"))))],
        data={"crs": ["EPSG:4490", "EPSG:4526"]},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 422
    assert "表单字段 crs 重复出现" in _problem(r)
    assert fingerprint() == before


def test_a_single_file_part_is_accepted(client: TestClient, tokens: dict[str, str]) -> None:
    r = post_import(
        client, tokens["admin"], "a.geojson", geojson_bytes(feature("ONE-001")), dry_run=True
    )
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["created"] == 1


# --------------------------------------------------------------------------- Excel sheets


def _with_sheet_xml(data: bytes, edit: Callable[[str], str]) -> bytes:
    """``data`` (an xlsx) with its first sheet's XML rewritten by ``edit``."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            part = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                part = edit(part.decode()).encode()
            zout.writestr(info.filename, part)
    return out.getvalue()


def _sheet(*rows: list[object]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("declared", ["A3:Z20000", "A3:XFD1048576"])
def test_a_huge_merged_range_in_a_small_workbook_is_not_built_cell_by_cell(
    declared: str,
) -> None:
    """A 5 KB workbook declaring a merged range of millions of cells (and a sheet dimension
    to match): read from its XML, as the cells it has; openpyxl's full mode built a cell
    object per merged cell (review D3: 20 s and 500 MB in the server for A3:Z60000)."""
    import tracemalloc

    from landmatch.inventory.readers import ReadOptions, read_source

    data = _with_sheet_xml(
        _sheet(["地块编号", "地块名称", "用途"], ["XL-M1", "合并", "100101"]),
        lambda xml: xml.replace(
            "</sheetData>",
            f'</sheetData><mergeCells count="1"><mergeCell ref="{declared}"/></mergeCells>',
        ).replace('<dimension ref="A1:C2"/>', f'<dimension ref="A1:{declared.split(":")[1]}"/>'),
    )
    assert len(data) < 6000
    tracemalloc.start()
    try:
        src = read_source(data, "merged.xlsx", ReadOptions())
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert src.frame.to_dict("records") == [
        {"地块编号": "XL-M1", "地块名称": "合并", "用途": "100101"}
    ]
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB"


def test_merged_headers_and_values_are_still_filled() -> None:
    """What the import reads from merged cells in read-only mode: a title merged across, a
    header merged down over a row the file leaves out, a value merged down over parcels."""
    from openpyxl import Workbook

    from landmatch.inventory.readers import ReadOptions, read_source

    wb = Workbook()
    ws = wb.active
    ws.append(["石家庄市熟地清单"])
    ws.append(["地块编号", "地块名称", "用途"])
    ws.append([])  # not written: the header's second row exists only as merged cells
    ws.append(["XL-F1", "一号", "100101"])
    ws.append(["XL-F2", None, "100101"])
    for merged in ("A1:C1", "A2:A3", "B2:B3", "C2:C3", "B4:B5"):
        ws.merge_cells(merged)
    buf = io.BytesIO()
    wb.save(buf)
    assert b'r="A3"' not in zipfile.ZipFile(buf).read("xl/worksheets/sheet1.xml")
    src = read_source(buf.getvalue(), "merged.xlsx", ReadOptions())
    assert list(src.frame.columns) == ["地块编号", "地块名称", "用途"]
    assert src.header_row == "表头（第 2–3 行）"
    assert src.frame["地块名称"].tolist() == ["一号", "一号"]
    assert src.frame.index.tolist() == [4, 5]


def test_formula_cells_without_a_saved_result_are_warned_by_row_and_column(
    session: Session,
) -> None:
    """A workbook written by a program (formulas, never opened in Excel) has no results for
    its formulas: the cells read as empty, and the report says which (review item 14: they
    became blank silently)."""
    data = _sheet(
        ["地块编号", "地块名称", "用途", "面积(亩)", "几何(WKT)"],
        ["XL-FM1", "公式地块", "100101", "=10*2", office.square_wkt(114.50, 38.04)],
        ["XL-FM2", "无公式", "100101", 58.47, office.square_wkt(114.51, 38.04)],
    )
    report = run_import(session.connection(), data, "f.xlsx", ADMIN, ImportOptions(dry_run=True))
    assert report["totals"]["created"] == 2
    first = report["rows"][0]
    assert first["row"] == 2
    [warning] = first["warnings"]
    assert warning["field"] == "面积(亩)" and "D2" in warning["message"]
    assert (
        "没有保存计算结果" in warning["message"] and "在 Excel 中打开并保存" in warning["message"]
    )
    assert "warnings" not in report["rows"][1]
    assert any("工作表“Sheet”中有 1 个单元格（D2）是公式" in n for n in report["warnings"])


# --------------------------------------------------------------------------- GeoJSON CRS


@pytest.mark.parametrize(
    "crs", [None, "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84h"]
)
@pytest.mark.parametrize("height", [None, 12.5])
def test_geojson_with_heights_is_read_like_one_without(
    crs: str | None, height: float | None, session: Session
) -> None:
    """Gauss–Krüger coordinates with the zone prefix in a GeoJSON that declares nothing (or
    the GeoJSON default, CRS84): the zone is read from the prefix, with or without heights
    (review D7: with heights GDAL says EPSG:4979 and the file was refused)."""
    x, y, d = 39472400.0, 4378400.0, 100.0
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    if height is not None:
        ring = [[*p, height] for p in ring]
    fc: dict[str, object] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"地块编号": "GJZ-1", "地块名称": "带高程"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    if crs is not None:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    data = json.dumps(fc, ensure_ascii=False).encode()
    report = run_import(session.connection(), data, "z.geojson", ADMIN, ImportOptions(dry_run=True))
    assert report["crs"] == "EPSG:4527" and report["totals"]["created"] == 1, report["rejected"]


# --------------------------------------------------------------------------- .prj


def _gk_shapefile(tmp: Path, prj: str | None) -> bytes:
    """A shapefile zip of one parcel in CGCS2000 3° GK zone 39 with the zone prefix (near
    廊坊), its .prj replaced by ``prj`` (None: the real one)."""
    from shapely import box

    gpd.GeoDataFrame(
        {"code": ["PRJ-1"], "name": ["投影"], "land_use": ["100101"]},
        geometry=[box(39472400, 4378400, 39472500, 4378500)],
        crs="EPSG:4527",
    ).to_file(tmp / "p.shp", engine="pyogrio", encoding="UTF-8")
    if prj is not None:
        (tmp / "p.prj").write_text(prj)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(tmp.iterdir()):
            zf.write(p, p.name)
    return buf.getvalue()


@pytest.mark.parametrize("prj", ["", "这不是WKT 坐标系: 2000国家大地坐标系 3度带 39带"])
def test_a_chosen_crs_wins_over_the_prj(tmp_path: Path, session: Session, prj: str) -> None:
    """A .prj that is empty counts as none (the coordinates' zone prefix decides); one that
    is no WKT is refused only when no CRS is chosen; a chosen CRS wins over either (review
    D9: both blocked the import even with crs=EPSG:4527)."""
    from landmatch.errors import CRSError

    data = _gk_shapefile(tmp_path, prj)
    conn = session.connection()
    chosen = run_import(conn, data, "p.zip", ADMIN, ImportOptions(dry_run=True, crs="EPSG:4527"))
    assert chosen["crs"] == "EPSG:4527" and chosen["totals"]["created"] == 1, chosen["rejected"]
    if not prj:
        found = run_import(conn, data, "p.zip", ADMIN, ImportOptions(dry_run=True))
        assert found["crs"] == "EPSG:4527" and found["totals"]["created"] == 1
    else:
        with pytest.raises(CRSError, match=r"\.prj 中的坐标系定义无法解析.*请指定坐标系"):
            run_import(conn, data, "p.zip", ADMIN, ImportOptions(dry_run=True))


# --------------------------------------------------------------------------- as tools save them


def test_a_zip_made_by_macos_finder(tmp_path: Path, session: Session) -> None:
    """Finder's zip of a folder: the shapefile in the folder, a ``__MACOSX/`` resource fork
    (``._name``) beside each part and a ``.DS_Store`` — read as the one shapefile (review
    D11: "多个 .shp 图层（地块.shp、._地块.shp）")."""
    parts = zipfile.ZipFile(io.BytesIO(_gk_shapefile(tmp_path, None)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in parts.infolist():
            zf.writestr(f"数据/{info.filename}", parts.read(info))
            zf.writestr(f"__MACOSX/数据/._{info.filename}", b"\x00\x05\x16\x07\x00\x02junk")
        zf.writestr("数据/.DS_Store", b"\x00\x00\x00\x01Bud1")
    report = run_import(
        session.connection(), buf.getvalue(), "数据.zip", ADMIN, ImportOptions(dry_run=True)
    )
    assert report["format"] == "shp" and report["totals"]["created"] == 1, report["rejected"]


@pytest.mark.parametrize("sep", [",", "\t"])
@pytest.mark.parametrize("bom_encoding", ["utf-16", "utf-16-be"])
def test_utf16_text_as_excel_saves_it(session: Session, sep: str, bom_encoding: str) -> None:
    """Excel's "Unicode 文本" is UTF-16 with a byte-order mark (and tabs): read by its BOM,
    as a table of its separator (review D12: "文件编码无法识别")."""
    rows = [
        ["地块编号", "地块名称", "用途", "几何(WKT)"],
        ["U16-1", "统一码", "100101", office.square_wkt(114.50, 38.04)],
    ]
    text = "\r\n".join(sep.join(f'"{v}"' if "," in v else v for v in r) for r in rows) + "\r\n"
    data = text.encode(bom_encoding)
    if bom_encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    report = run_import(session.connection(), data, "u.csv", ADMIN, ImportOptions(dry_run=True))
    assert report["totals"]["created"] == 1, report["rejected"]
    assert report["rows"][0]["code"] == "U16-1"


def test_the_crs_hint_names_each_zones_codes() -> None:
    """The hint for coordinates whose CRS cannot be told names, for each of Hebei's zones,
    the prefixed and the unprefixed code as PROJ names them (review D15: it called EPSG:4527
    "39 带无带号", which is EPSG:4548)."""
    import re

    import pyproj

    from landmatch.errors import CRSError
    from landmatch.inventory.readers import CRS_HINT, ReadOptions, read_source

    data = f'地块编号,几何(WKT)\nH-1,"{_unprefixed_square_wkt()}"\n'.encode()
    with pytest.raises(CRSError) as refused:
        read_source(data, "h.csv", ReadOptions())
    assert CRS_HINT in refused.value.message and "--" not in refused.value.message
    prefixed = re.search(r"带带号（8 位）为 EPSG:(\d+)、(\d+)、(\d+)", CRS_HINT)
    plain = re.search(r"不带带号（6 位）为 EPSG:(\d+)、(\d+)、(\d+)", CRS_HINT)
    assert prefixed and plain
    for zone, with_prefix, without in zip(
        (38, 39, 40), prefixed.groups(), plain.groups(), strict=True
    ):
        assert pyproj.CRS.from_epsg(int(with_prefix)).name.endswith(f"zone {zone}")
        assert pyproj.CRS.from_epsg(int(without)).name.endswith(f"CM {zone * 3}E")


def _unprefixed_square_wkt() -> str:
    x, y, d = 544700, 4212000, 100
    return f"POLYGON(({x} {y},{x + d} {y},{x + d} {y + d},{x} {y + d},{x} {y}))"
