"""The table of an Excel 清单 as a bureau keeps it: which sheet, where the header is, what each
column is called, where the rows end.

Bureaus put a title (merged across the sheet) and a 填报单位/日期 line above the header, group
columns under merged cells (面积 over 亩 and 公顷, 规划条件 over 容积率 …), merge single headers
down over both header rows, and end with a 合计 row and a 注 line. The header is the row — or
pair of rows — in the first :data:`SCAN_ROWS` whose cells are most often known headers; a
grouped column is named by its group and sub-header together when that is a known header
(面积 + 亩 → 面积(亩)), else by its sub-header.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from landmatch.errors import FormatError
from landmatch.inventory import fields as F

SCAN_ROWS = 30
PREFERRED_SHEET = "熟地清单"
# A row that is no parcel: a total, or a note under the table.
TOTAL_WORDS = ("合计", "小计", "总计", "累计")
NOTE_WORDS = (
    "注：",
    "注:",
    "注 ",
    "说明",
    "备注：",
    "填表人",
    "填报人",
    "审核人",
    "制表",
    "负责人",
)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]  # body rows, cut to the header's width
    labels: list[int]  # their row numbers in the sheet (1-based)
    header_row: str  # where the header is, as messages name it
    sheet: str
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, why) not parcels


def _known(header: Any) -> bool:
    if header is None or not str(header).strip():
        return False
    h = F.read_header(header)
    return h != F.Header() or any(
        f(str(header)) for f in (F.is_geometry_header, F.is_lon_header, F.is_lat_header)
    )


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _combine(top: Any, sub: Any) -> str:
    """One column's name from a two-row header."""
    t, s = _text(top), _text(sub)
    if not s or s == t:
        return t
    if not t:
        return s
    for candidate in (f"{t}({s})", s, f"{t}{s}"):
        if _known(candidate):
            return candidate
    return t if _known(t) else f"{t}/{s}"


def _grid(ws: Any) -> list[list[Any]]:
    """The sheet's values, each merged range filled with its top-left value; a number shown
    as a percentage (0.4 as 40%) as the text it shows."""
    rows: list[list[Any]] = []
    for row in ws.iter_rows():
        values = []
        for cell in row:
            v = cell.value
            if (
                isinstance(v, int | float)
                and not isinstance(v, bool)
                and "%" in str(cell.number_format or "")
            ):
                v = f"{v * 100:g}%"
            values.append(v)
        rows.append(values)
    for rng in ws.merged_cells.ranges:
        value = rows[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(rows) else None
        for r in range(rng.min_row - 1, min(rng.max_row, len(rows))):
            for c in range(rng.min_col - 1, min(rng.max_col, len(rows[r]))):
                rows[r][c] = value
    return rows


def _header(grid: list[list[Any]]) -> tuple[int, int, list[str]]:
    """(first header row index, header rows (1 or 2), column names)."""
    # The most known names; then one header row rather than two (a second row must name
    # more columns, or it is the first data row), then the earliest.
    best: tuple[tuple[int, int, int], list[str]] | None = None
    choice = (0, 1)
    for i in range(min(SCAN_ROWS, len(grid))):
        single = [_text(v) for v in grid[i]]
        options = [(1, single)]
        if i + 1 < len(grid):
            below = grid[i + 1] + [None] * (len(grid[i]) - len(grid[i + 1]))
            options.append((2, [_combine(t, s) for t, s in zip(grid[i], below, strict=False)]))
        for depth, names in options:
            key = (sum(_known(n) for n in names), -depth, -i)
            if best is None or key > best[0]:
                best = (key, names)
                choice = (i, depth)
    if best is None or best[0][0] == 0:
        # Nothing known: the first non-empty row is the header (its columns get reported).
        first = next((i for i, r in enumerate(grid) if any(_text(v) for v in r)), 0)
        return first, 1, [_text(v) for v in grid[first]] if grid else []
    return choice[0], choice[1], best[1]


def _repeats(row: list[Any], names: list[str]) -> bool:
    cells = [(_text(v), n) for v, n in zip(row, names, strict=False) if _text(v)]
    return bool(cells) and all(v == n or n.startswith(v) or n.endswith(v) for v, n in cells)


def _not_a_parcel(values: list[Any], code_col: int | None) -> str | None:
    texts = [_text(v) for v in values if _text(v)]
    if not texts:
        return "空行"
    code = _text(values[code_col]) if code_col is not None and code_col < len(values) else ""
    has_code = bool(code) and not code.startswith(TOTAL_WORDS)
    if not has_code and any(t.startswith(TOTAL_WORDS) for t in texts[:3]):
        return "合计行"
    if not has_code and texts[0].startswith(NOTE_WORDS):
        return "表下说明"
    return None


def read_table(wb: Any) -> Table:
    """The 清单 of workbook ``wb`` (openpyxl, values only)."""
    named = PREFERRED_SHEET in wb.sheetnames
    sheets = [wb[PREFERRED_SHEET]] if named else list(wb.worksheets)
    best: tuple[int, Any, list[list[Any]], tuple[int, int, list[str]]] | None = None
    for ws in sheets:
        grid = _grid(ws)
        found = _header(grid) if grid else (0, 1, [])
        score = sum(_known(n) for n in found[2])
        if best is None or score > best[0]:
            best = (score, ws, grid, found)
    if best is None or not best[2]:
        raise FormatError("工作表为空")
    _score, ws, grid, (start, depth, names) = best
    # A header merged down over a second row leaves that row a copy of the header.
    while start + depth < len(grid) and _repeats(grid[start + depth], names):
        depth += 1
    while names and not names[-1]:
        names.pop()
    if not names:
        raise FormatError(f"工作表“{ws.title}”中找不到表头")
    width = len(names)
    for k, name in enumerate(names):
        if not name:
            raise FormatError(
                f"表头（第 {start + 1} 行）第 {k + 1} 列没有列名；请为每一列填写表头，或删除空列"
            )
    seen: dict[str, list[int]] = {}
    for k, name in enumerate(names):
        seen.setdefault(name, []).append(k + 1)
    twice = {n: cols for n, cols in seen.items() if len(cols) > 1}
    if twice:
        listed = "；".join(
            f"“{n}”（第 {'、'.join(map(str, cols))} 列）" for n, cols in twice.items()
        )
        raise FormatError(
            f"表头（第 {start + 1} 行）中有重复的列名：{listed}。合并单元格下方需要分列的表头"
            "（如“面积”下的“亩”“公顷”），或删除重复的列"
        )
    code_col = next((k for k, n in enumerate(names) if F.field_for_header(n) == "code"), None)
    where = f"第 {start + 1} 行" if depth == 1 else f"第 {start + 1}–{start + depth} 行"
    table = Table(headers=names, rows=[], labels=[], header_row=f"表头（{where}）", sheet=ws.title)
    for r in range(start + depth, len(grid)):
        values = (grid[r] + [None] * width)[:width]
        why = _not_a_parcel(values, code_col)
        if why == "空行":
            continue
        if why is not None:
            table.skipped.append((r + 1, why))
            continue
        table.rows.append([_cell(v) for v in values])
        table.labels.append(r + 1)
    return table


def _cell(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.time() == dt.time(0):
        return v.date()
    return v
