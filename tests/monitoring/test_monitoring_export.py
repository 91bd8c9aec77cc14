"""The monitoring export (``/api/monitoring/export.xlsx``, issue #16 item 12) opened as an office
opens it: Chinese headers, 亩 not m², labels instead of codes, the shared layout."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.geo.measure import M2_PER_MU
from landmatch.monitoring import export, scan, terms, transfer
from landmatch.monitoring.idle import IdleRule
from landmatch.spreadsheets import Table
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
    """Write-only: no sheet keeps its cells in memory (openpyxl's streaming worksheets)."""
    made: list[WriteOnlyWorksheet] = []
    real = export.write_sheet

    def spy(wb: Workbook, title: str, *tables: Table, **kw: Any) -> WriteOnlyWorksheet:
        ws = real(wb, title, *tables, **kw)
        made.append(ws)
        return ws

    monkeypatch.setattr(export, "write_sheet", spy)
    data = export.workbook(session, ADMIN, AS_OF, IdleRule(), city="130100")
    assert data[:2] == b"PK" and len(made) == 13
    assert all(isinstance(ws, WriteOnlyWorksheet) for ws in made)
