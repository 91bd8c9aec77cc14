"""Exports staff use as they are (issue #16 items 11 and 13): the xlsx 清单 opened as an office
opens it (styles, number formats, codes with names, the 说明 sheet, formulas kept as text), the
Shapefile and GeoPackage read by GDAL and geopandas (typed fields, pinyin DBF names, the GBK
language driver id, a lost .cpg), and ``landmatch export x.shp``."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import httpx
import pyogrio
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.inventory.fields import BY_NAME
from landmatch.inventory.gisfiles import shp_field_table
from landmatch.inventory.imports import ImportOptions, run_import
from landmatch.settings import Settings
from landmatch.spreadsheets import text_width
from tests.conftest import auth
from tests.inventory.conftest import feature, geojson_bytes, post_import, square

ADMIN = Principal(name="tester", role="admin")
CODE = "石经开2025-31号"
FORMULA = '=HYPERLINK("http://evil.example/","点击")'
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def planted(session: Session) -> Session:
    """Two withdrawn parcels in 石家庄 (a status the seed leaves rare): one with a Chinese
    code, a formula as its name, dates, booleans and capacities; one nearly empty."""
    feats = [
        feature(
            CODE,
            square(114.61, 38.11),
            name=FORMULA,
            status="withdrawn",
            county_code="130123",
            is_standard_land=True,
            telecom_5g=False,
            power_kva=8000,
            water_m3d=1200.5,
            power_as_of="2025-03-04",
            lease_years=50,
            supply_modes=["auction", "flexible_term"],
            notes="内部说明，含逗号，" + "长" * 100,
        ),
        feature("EXP-EMPTY", square(114.62, 38.11), status="withdrawn"),
    ]
    rep = run_import(
        session.connection(),
        geojson_bytes(*feats),
        "e.geojson",
        ADMIN,
        ImportOptions(city="130100"),
    )
    assert rep["totals"]["created"] == 2, rep
    return session


def _get(client: TestClient, tokens: dict[str, str], fmt: str, **params: str) -> httpx.Response:
    r = client.get(
        "/api/exports/parcels",
        params={"format": fmt, "city": "130100", "status": "withdrawn", **params},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    return r


# --------------------------------------------------------------------------- xlsx (item 11)


def test_xlsx_list_as_an_office_opens_it(
    client: TestClient, tokens: dict[str, str], planted: Session
) -> None:
    wb = load_workbook(io.BytesIO(_get(client, tokens, "xlsx").content))
    ws = wb["熟地清单"]
    header = [c.value for c in ws[1]]
    col = {h: k for k, h in enumerate(header)}
    # 序号 first; each code with its name beside it.
    assert header[0] == "序号" and header[1] == "地块编号"
    assert header[col["城市代码"] + 1] == "城市名称"
    assert header[col["县区代码"] + 1] == "县区名称"
    rows = [list(r) for r in ws.iter_rows(min_row=2)]
    assert [r[0].value for r in rows] == list(range(1, len(rows) + 1))
    assert all(r[0].number_format == "#,##0" for r in rows)
    mine = next(r for r in rows if r[1].value == CODE)
    assert all(re.fullmatch(r"13\d{4}", r[col["城市代码"]].value) for r in rows)
    assert mine[col["城市代码"]].value == "130100" and mine[col["城市名称"]].value == "石家庄市"
    assert mine[col["县区代码"]].value == "130123" and mine[col["县区名称"]].value == "正定县"
    # The header: bold, filled, frozen (with 序号 and 地块编号), with an autofilter.
    assert all(c.font.b and c.fill.fill_type == "solid" for c in ws[1])
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}{len(rows) + 1}"
    assert ws.print_title_rows == "$1:$1"
    # Widths fitted to content, a CJK character counting two.
    width = ws.column_dimensions[ws.cell(1, 2).column_letter].width
    longest = max(text_width(str(r[1].value)) for r in rows)
    assert longest + 2 <= width <= 60 and text_width(CODE) == 15
    # Numbers: thousands separators, areas rounded to 0.01 亩 / 0.0001 公顷.
    mu, ha = mine[col["计算面积(亩)"]], mine[col["计算面积(公顷)"]]
    assert mu.number_format == "#,##0.00" and ha.number_format == "#,##0.0000"
    assert mu.value == round(mu.value, 2) and ha.value == round(ha.value, 4)
    assert abs(mu.value / 15 - ha.value) < 0.0002
    power = mine[col["供电容量(kVA)"]]
    assert power.value == 8000 and power.number_format == "#,##0.00"
    assert mine[col["出让年限"]].number_format == "#,##0"
    # Dates as dates, booleans as 是/否, lists as labels.
    day = mine[col["供电数据日期"]]
    assert day.is_date and day.value.date() == dt.date(2025, 3, 4)
    assert day.number_format == "yyyy-mm-dd"
    assert mine[col["标准地"]].value == "是" and mine[col["5G覆盖"]].value == "否"
    assert mine[col["供地方式"]].value == "招拍挂出让、弹性年期出让"
    # A formula stored as a name stays text.
    name = mine[col["地块名称"]]
    assert name.value == FORMULA and name.data_type == "s" and name.quotePrefix
    assert not [c for r in rows for c in r if c.data_type == "f"]
    # The 说明 sheet: source, scope, date, units.
    notes = dict(wb["说明"].iter_rows(min_row=2, values_only=True))
    assert "landmatch" in notes["数据来源"]
    assert "石家庄市" in notes["导出范围"] and "已撤回" in notes["导出范围"]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）", notes["导出时间"])
    assert "亩" in notes["面积单位"] and "公顷" in notes["面积单位"]
    assert notes["地块数"] == f"{len(rows)} 宗"
    # Summary sheets are laid out the same way.
    summary = wb["按城市汇总"]
    assert summary["A1"].value == "序号" and summary["A1"].font.b
    assert summary.freeze_panes == "B2" and summary.auto_filter.ref
    total = [c for c in summary[summary.max_row]]
    assert total[1].value == "合计" and total[1].font.b


def test_xlsx_list_imports_back_unchanged(
    client: TestClient, tokens: dict[str, str], planted: Session
) -> None:
    data = _get(client, tokens, "xlsx").content
    rep = post_import(client, tokens["admin"], "清单.xlsx", data, dry_run=True)
    assert rep.status_code == 200, rep.text
    body = rep.json()
    assert body["totals"]["unchanged"] == body["totals"]["rows"] >= 2, body["totals"]


# --------------------------------------------------------------------------- shp, gpkg (item 13)


def _unzip(data: bytes, dest: Path, drop: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if not name.endswith(drop):
                (dest / name).write_bytes(zf.read(name))
    return dest


def test_shapefile_fields_typed_and_named_in_pinyin(
    client: TestClient, tokens: dict[str, str], planted: Session, tmp_path: Path
) -> None:
    data = _get(client, tokens, "shp", encoding="GBK").content
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert {"parcels.shp", "parcels.shx", "parcels.dbf", "parcels.prj", "parcels.cpg"} <= set(
        zf.namelist()
    )
    path = tmp_path / "a.zip"
    path.write_bytes(data)
    info = pyogrio.read_info(f"/vsizip/{path}/parcels.shp")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["DKBH"] == "object" and types["DKMC"] == "object"
    assert types["GDSJRQ"] == "datetime64[D]"  # 供电数据日期: Date
    assert types["SFBZD"] == "bool" and types["WGFG"] == "bool"  # DBF logical
    assert types["GDRL"] == "float64" and types["GSNL"] == "float64"  # capacities
    assert types["CRNX"] == "int32" and types["MJ_MU"] == "float64" and types["MJ_GQ"] == "float64"
    assert {"XZQDM", "XZQMC", "CSDM", "CSMC", "TDYT"} <= set(types)
    assert all(len(n) <= 10 and n.isascii() for n in types)
    df = gpd.read_file(f"zip://{path}!parcels.shp")  # geopandas opens the zip as it is
    assert df.crs.to_epsg() == 4490
    mine = df[df["DKBH"] == CODE].iloc[0]
    assert mine["DKMC"] == FORMULA and mine["XZQMC"] == "正定县" and mine["CSMC"] == "石家庄市"
    assert mine["GDSJRQ"] == dt.datetime(2025, 3, 4) and bool(mine["SFBZD"]) is True
    assert bool(mine["WGFG"]) is False and mine["GDRL"] == 8000 and mine["CRNX"] == 50
    assert mine["GDFS"] == "auction,flexible_term" and mine["BZ"].endswith("长" * 100)
    area = planted.execute(
        text("SELECT area_m2 FROM landmatch.parcel WHERE code = :c"), {"c": CODE}
    ).scalar_one()
    assert mine["MJ_MU"] == round(area * 15 / 10000, 2)
    assert mine["MJ_GQ"] == round(area / 10000, 4)


def test_gbk_dbf_carries_its_language_driver_and_survives_a_lost_cpg(
    client: TestClient, tokens: dict[str, str], planted: Session, tmp_path: Path
) -> None:
    data = _get(client, tokens, "shp", encoding="GBK").content
    dbf = zipfile.ZipFile(io.BytesIO(data)).read("parcels.dbf")
    assert dbf[29] == 0x4D  # LDID 77: code page 936 (GBK), as ArcGIS writes it
    assert CODE.encode("gbk") in dbf
    bare = _unzip(data, tmp_path, drop=(".cpg",))
    assert not (bare / "parcels.cpg").exists()
    # GDAL (pyogrio's) reads the text right from the language driver alone …
    df = pyogrio.read_dataframe(bare / "parcels.shp")
    assert CODE in set(df["DKBH"]) and "石家庄市" in set(df["CSMC"])
    # … so does the project's import, the zip re-made without the .cpg.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in bare.iterdir():
            zf.write(p, p.name)
    rep = post_import(client, tokens["admin"], "无cpg.zip", buf.getvalue(), dry_run=True)
    assert rep.status_code == 200, rep.text
    rows = {x["code"]: x["action"] for x in rep.json()["rows"]}
    assert rows[CODE] == "unchanged"
    # A UTF-8 export claims no code page it does not use.
    utf8 = zipfile.ZipFile(io.BytesIO(_get(client, tokens, "shp").content))
    assert utf8.read("parcels.dbf")[29] != 0x4D and utf8.read("parcels.cpg") == b"UTF-8"


def test_text_gbk_cannot_hold_is_refused_by_parcel_and_written_in_gb18030(
    client: TestClient, tokens: dict[str, str], planted: Session, tmp_path: Path
) -> None:
    """Review finding: a name GBK cannot hold (an emoji, 𠀀 U+20000) was dropped from a GBK
    Shapefile without a word (GDAL's replacement, a warning on the server's stderr) and
    refused whole by the TXT writer, naming only the character. Both now refuse it naming
    the parcel, the field and the characters, and offer GB18030 (GBK's superset), which
    writes it and which GDAL and the project's import read back."""
    name = "EMOJI😀𠀀地块"
    planted.execute(
        text("UPDATE landmatch.parcel SET name = :n WHERE code = 'EXP-EMPTY'"), {"n": name}
    )
    for fmt in ("shp", "txt"):
        r = client.get(
            "/api/exports/parcels",
            params={"format": fmt, "city": "130100", "status": "withdrawn", "encoding": "GBK"},
            headers=auth(tokens["admin"]),
        )
        assert r.status_code == 400, (fmt, r.text)
        detail = r.json()["detail"]
        assert "地块 EXP-EMPTY 的“地块名称”含 GBK 无法表示的字符" in detail, detail
        assert "\\U0001f600" in detail and "GB18030" in detail, detail
    data = _get(client, tokens, "shp", encoding="GB18030").content
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.read("parcels.cpg") == b"GB18030"
    assert name.encode("gb18030") in zf.read("parcels.dbf")
    assert "GB18030 没有语言驱动标识" in zf.read("字段说明.txt").decode("utf-8")
    df = pyogrio.read_dataframe(_unzip(data, tmp_path) / "parcels.shp")
    assert name in set(df["DKMC"]), set(df["DKMC"])
    txt = _get(client, tokens, "txt", encoding="GB18030")
    assert name in txt.content.decode("gb18030")
    assert txt.headers["content-type"] == "text/plain; charset=gb18030"  # review 3, F7


def test_ogrinfo_opens_the_zip_and_reads_gbk_without_cpg(
    client: TestClient, tokens: dict[str, str], planted: Session, tmp_path: Path
) -> None:
    data = _get(client, tokens, "shp", encoding="GBK").content
    path = tmp_path / "parcels.zip"
    path.write_bytes(data)
    out = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", f"/vsizip/{path}"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "GDSJRQ: Date" in out.stdout and "GDRL: Real" in out.stdout
    assert "DKBH: String" in out.stdout and "CRNX: Integer" in out.stdout
    _unzip(data, tmp_path, drop=(".cpg",))
    where = subprocess.run(
        [
            "ogrinfo",
            "-ro",
            "-al",
            "-q",
            str(tmp_path / "parcels.shp"),
            "-where",
            "DKBH LIKE '%2025-31%'",
        ],
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr
    assert CODE in where.stdout and "正定县" in where.stdout


def test_field_notes_in_the_zip_and_the_readme(
    client: TestClient, tokens: dict[str, str], planted: Session, tmp_path: Path
) -> None:
    data = _get(client, tokens, "shp").content
    (tmp_path / "a.zip").write_bytes(data)
    zf = zipfile.ZipFile(io.BytesIO(data))
    notes = zf.read("字段说明.txt").decode("utf-8-sig")
    dbf_names = pyogrio.read_info(f"/vsizip/{tmp_path}/a.zip/parcels.shp")["fields"]
    for name in dbf_names:
        assert re.search(rf"^{name}\t\S+", notes, re.M), name
    assert "DKBH\t地块编号\t文本" in notes and "GDRL\t供电容量\t数值\tkVA" in notes
    assert "GDSJRQ\t供电数据日期\t日期" in notes and "MJ_MU\t面积\t数值\t亩" in notes
    # The README documents every DBF name the export can write, with its Chinese name.
    readme = README.read_text(encoding="utf-8")
    for dbf, label in shp_field_table():
        assert f"| `{dbf}` | {label} |" in readme, dbf
    names = [dbf for dbf, _ in shp_field_table()]
    assert len(names) == len(set(names)) and all(len(n) <= 10 for n in names)
    assert BY_NAME["code"].shp == "DKBH" and BY_NAME["name"].shp == "DKMC"


def test_geopackage_fields_typed_with_chinese_aliases(
    client: TestClient, tokens: dict[str, str], planted: Session, tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "p.gpkg"
    path.write_bytes(_get(client, tokens, "gpkg").content)
    info = pyogrio.read_info(path)
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["power_as_of"] == "datetime64[D]" and types["is_standard_land"] == "bool"
    assert types["power_kva"] == "float64" and types["lease_years"] == "int32"
    assert types["calc_area_mu"] == "float64" and types["calc_area_ha"] == "float64"
    df = pyogrio.read_dataframe(path)
    mine = df[df["code"] == CODE].iloc[0]
    assert mine["power_kva"] == 8000 and bool(mine["telecom_5g"]) is False
    assert mine["county_name"] == "正定县" and mine["city_code"] == "130100"
    with sqlite3.connect(path) as db:
        aliases = dict(db.execute("SELECT column_name, name FROM gpkg_data_columns"))
    assert aliases["code"] == "地块编号" and aliases["calc_area_mu"] == "面积(亩)"


def test_cli_export_shp_writes_a_zip_gdal_opens(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from landmatch.cli import app
    from landmatch.settings import get_settings

    monkeypatch.setenv("LANDMATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    out = tmp_path / "熟地.shp"
    r = CliRunner().invoke(app, ["export", str(out), "--city", "130100", "--encoding", "GBK"])
    assert r.exit_code == 0, r.output
    target = tmp_path / "熟地.zip"
    assert not out.exists() and target.exists()
    names = zipfile.ZipFile(target).namelist()
    assert {"熟地.shp", "熟地.dbf", "熟地.shx", "熟地.prj", "熟地.cpg", "字段说明.txt"} <= set(
        names
    )
    df = gpd.read_file(f"zip://{target}!熟地.shp")
    assert len(df) > 0 and set(df["CSDM"]) == {"130100"}
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", f"/vsizip/{target}"], capture_output=True, text=True
    )
    assert info.returncode == 0 and f"Feature Count: {len(df)}" in info.stdout, info.stderr


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\x1e"])
def test_txt_export_of_a_name_with_a_line_break_reads_back(
    client: TestClient, tokens: dict[str, str], session: Session, brk: str
) -> None:
    """Review finding (exports 1): a name or use holding a character that ends a line for
    Python and many text tools (U+2028/U+2029, VT, FF, NEL, the C0 separators) was written
    into the 界址点 TXT as it was, so the file broke at it and the project's own import
    refused it (第 13 行：界址点之前缺少地块头行). CR and LF were already made spaces; every line
    break now is, and the file reads back with the name as one line."""
    from landmatch.geo.txt import parse_txt

    name = f'甲{brk}=HYPERLINK("http://x","y"){brk}</script><script>alert(1)</script>'
    rep = run_import(
        session.connection(),
        geojson_bytes(feature("TXT-BRK-1", square(114.63, 38.11), name=name, status="withdrawn")),
        "t.geojson",
        ADMIN,
        ImportOptions(city="130100"),
    )
    assert rep["totals"]["created"] == 1, rep
    got = session.execute(
        text("SELECT name FROM landmatch.parcel WHERE code = 'TXT-BRK-1'")
    ).scalar_one()
    assert got == name  # stored as given
    txt = _get(client, tokens, "txt").content
    parsed = parse_txt(txt)
    [p] = [p for p in parsed.parcels if p.code == "TXT-BRK-1"]
    assert p.name == name.replace(brk, " ").replace(",", "，")


def _as_excel_shows(stored: str) -> str:
    """A cell's stored text as Excel shows it (ECMA-376 ST_Xstring: _xHHHH_ is a character)."""
    return re.sub("_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), stored)


def test_xlsx_list_shows_an_escape_like_name_as_typed_and_imports_it_back(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """Review finding (exports 2): openpyxl writes text as it is, and Excel reads _xHHHH_ in
    a cell's text as one character. A parcel named '_x003D_HYPERLINK("http://evil…","点击")'
    showed in the exported 清单 as =HYPERLINK(…) — without the quote prefix every other
    formula-like text gets (safe_cell judged the stored text), so one edit of the cell made it
    a live formula — and '_x0041_' showed as 'A'. The openpyxl path now escapes the
    underscore (_x005F_), as the streaming path and Excel do; the importer reads the escapes
    as Excel does, so the file imports back unchanged (and so does one saved by Excel)."""
    names = {
        "XESC-1": '_x003D_HYPERLINK("http://evil.example/","点击")',
        "XESC-2": "A_x0041_B_x005F_x0041_",
    }
    rep = run_import(
        session.connection(),
        geojson_bytes(
            *(
                feature(code, square(114.64 + i / 100, 38.11), name=name, status="withdrawn")
                for i, (code, name) in enumerate(names.items())
            )
        ),
        "x.geojson",
        ADMIN,
        ImportOptions(city="130100"),
    )
    assert rep["totals"]["created"] == 2, rep
    data = _get(client, tokens, "xlsx").content
    ws = load_workbook(io.BytesIO(data))["熟地清单"]
    header = [c.value for c in ws[1]]
    code_col, name_col = header.index("地块编号"), header.index("地块名称")
    cells = {r[code_col].value: r[name_col] for r in ws.iter_rows(min_row=2) if r[code_col].value}
    for code, name in names.items():
        cell = cells[code]
        assert _as_excel_shows(cell.value) == name, (code, cell.value)
        assert cell.data_type == "s" and not cell.quotePrefix  # it shows no formula
    back = post_import(client, tokens["admin"], "清单.xlsx", data, dry_run=True)
    assert back.status_code == 200, back.text
    totals = back.json()["totals"]
    assert totals["unchanged"] == totals["rows"] >= 2, back.json()
