"""Excel export of every monitoring table (one sheet each), Chinese sheet names."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from landmatch.monitoring import cases, scan, targets, transfer, unsupplied, zones
from landmatch.monitoring.idle import IdleRule
from landmatch.spreadsheets import safe_cell

MAX_ROWS = 1_000_000


def _append(ws: Worksheet, values: list[Any]) -> None:
    ws.append([safe_cell(v, Cell(ws)) for v in values])


def _sheet(wb: Workbook, title: str, rows: list[dict[str, Any]]) -> None:
    ws = wb.create_sheet(title)
    if not rows:
        _append(ws, ["（无数据）"])
        return
    cols = list(rows[0])
    _append(ws, cols)
    for r in rows[:MAX_ROWS]:
        _append(ws, [_cell(r.get(c)) for c in cols])
    ws.freeze_panes = "A2"


def _cell(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return "；".join(str(x) for x in v)
    if isinstance(v, dict):
        return str(v)
    if type(v).__name__ == "Decimal":
        return float(v)
    return v


def workbook(
    session: Session, as_of: dt.date, defaults: IdleRule, city: str | None = None
) -> bytes:
    idle = scan.idle_report(session, as_of, defaults, city=city, limit=MAX_ROWS)
    ages = unsupplied.age_bands(session, as_of, city)
    sheets: list[tuple[str, list[dict[str, Any]]]] = [
        ("闲置土地", idle["items"]),
        ("闲置阶段汇总", idle["stages"]),
        ("闲置按城市", idle["by_city"]),
        ("批而未供账龄", ages["rows"]),
        ("批而未供按城市", ages["by_city"]),
        ("供地率", unsupplied.supply_rates(session, as_of, city)["rows"]),
        ("批次空间核算", unsupplied.batches(session, as_of, city)["rows"]),
        ("转让路径", transfer.transfer_routes(session, city)["rows"]),
        ("处置案件", cases.list_cases(session, city=city, limit=MAX_ROWS)),
        ("处置步骤", cases.list_steps(session, city=city)),
        ("逾期提醒", cases.overdue(session, as_of, city)),
        ("年度处置目标", targets.progress(session, as_of, city=city)["targets"]),
        ("开发区指标排名", zones.zone_kpis(session, as_of, city)["zones"]),
    ]
    wb = Workbook()
    wb.remove(wb.active)
    info = wb.create_sheet("说明")
    _append(info, ["统计日期", as_of.isoformat()])
    _append(info, ["城市", city or "全省"])
    _append(info, ["面积单位", "平方米（m²）；亩 = 10000/15 m²"])
    _append(info, ["金额单位", "万元"])
    for title, rows in sheets:
        _sheet(wb, title, rows)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
