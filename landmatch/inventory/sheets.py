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

from openpyxl.cell.read_only import ReadOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

from landmatch.errors import FormatError
from landmatch.inventory import fields as F
from landmatch.spreadsheets import xlsx_unescape

SCAN_ROWS = 30
# A sheet is read from its XML (openpyxl's read-only mode), never from its declared size: a
# tiny file may declare a merged range or a dimension of millions of cells. A table has at
# most this many columns, and no row lies beyond Excel's last.
MAX_COLUMNS = 500
EXCEL_MAX_ROW = 1_048_576
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
    # Cells holding a formula without a saved result, read as empty: (row, column, the
    # column's header where the cell is in a parcel's row, else None).
    uncached: list[tuple[int, int, str | None]] = field(default_factory=list)


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


class _Parser(WorkSheetParser):
    """openpyxl's sheet parser (values only, as ``data_only``) that also notes the cells
    holding a formula without a saved result (a file written by a program, never opened in
    Excel): openpyxl reads them as empty."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.uncached: list[tuple[int, int]] = []

    def parse_cell(self, element: Any) -> dict[str, Any]:
        cell: dict[str, Any] = super().parse_cell(element)
        if isinstance(cell["value"], str):  # the text Excel shows (_x005F_x0041_: _x0041_)
            cell["value"] = xlsx_unescape(cell["value"])
        if element.find(FORMULA_TAG) is not None:
            saved = element.find(VALUE_TAG)
            # An empty result is saved as an empty text (t="str"); openpyxl writes a formula
            # with an empty <v/> and no type.
            if saved is None or (not saved.text and element.get("t", "n") != "str"):
                self.uncached.append((cell["row"], cell["column"]))
        return cell


_NO_CELLS: list[Any] = []  # a row the sheet does not have (shared: never written to)


@dataclass
class _Grid:
    rows: list[list[Any]]  # by sheet row (index 0 = row 1); rows without cells are empty
    uncached: list[tuple[int, int]]  # (row, column) of formulas without a saved result


def _grid(ws: Any) -> _Grid:
    """The values of a read-only sheet ``ws``: each row the sheet has, as wide as the widest
    (rows it does not have are empty), each merged range filled with its top-left value
    (:func:`_fill_merged`); a number shown as a percentage (0.4 as 40%) as the text it
    shows."""
    wb = ws.parent
    cells: list[tuple[int, list[dict[str, Any]]]] = []
    width = 0
    with ws._get_source() as src:
        parser = _Parser(
            src,
            ws._shared_strings,
            data_only=True,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        for idx, row in parser.parse():
            if idx > EXCEL_MAX_ROW:
                raise FormatError(f"工作表“{ws.title}”的行号 {idx} 超出 Excel 的范围，文件已损坏")
            if not row:
                continue
            last = max(c["column"] for c in row)
            if last > MAX_COLUMNS:
                far = next(c for c in row if c["column"] == last)
                raise FormatError(
                    f"工作表“{ws.title}”的单元格 {get_column_letter(last)}{far['row']} 超出"
                    f"第 {MAX_COLUMNS} 列；清单最多 {MAX_COLUMNS} 列，请删除表格右侧的内容"
                )
            width = max(width, last)
            cells.append((idx, row))
        merged = parser.merged_cells
    rows: list[list[Any]] = []
    for idx, row in cells:
        if idx <= len(rows):
            raise FormatError(f"工作表“{ws.title}”的第 {idx} 行重复或顺序错乱，文件已损坏")
        rows.extend([_NO_CELLS] * (idx - 1 - len(rows)))
        values: list[Any] = [None] * width
        for c in row:
            v = c["value"]
            if isinstance(v, int | float) and not isinstance(v, bool) and c["style_id"]:
                number_format = ReadOnlyCell(ws, c["row"], c["column"], v, "n", c["style_id"])
                if "%" in str(number_format.number_format or ""):
                    v = f"{v * 100:g}%"
            values[c["column"] - 1] = v
        rows.append(values)
    if merged is not None:
        _fill_merged(rows, width, [m.ref for m in merged.mergeCell], ws.title)
    return _Grid(rows, parser.uncached)


# The rows where a header may be (a header merged down over a row the file leaves out).
_HEADER_ROWS = SCAN_ROWS + 2


def _fill_merged(rows: list[list[Any]], width: int, refs: list[str], title: str) -> None:
    """Each merged range's top-left value copied over the range, within the sheet's extent
    (up to its last row with cells, as wide as its widest row) and, below the rows a header
    may take, only into rows the sheet has. Ranges do not overlap in a workbook Excel wrote;
    a file where they do may not make this fill more cells than the sheet has."""
    budget = sum(len(r) for r in rows) + _HEADER_ROWS * width
    for ref in refs:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
        except (TypeError, ValueError):
            continue  # not a range: nothing to fill
        if min_row is None or min_col is None or min_row > len(rows):
            continue
        value = (rows[min_row - 1] + [None] * min_col)[min_col - 1]
        for r in range(min_row - 1, min(max_row or min_row, len(rows))):
            row = rows[r]
            if row is _NO_CELLS:
                if r >= _HEADER_ROWS:
                    continue
                row = rows[r] = [None] * width
            span = range(min_col - 1, min(max_col or min_col, len(row)))
            budget -= len(span)
            if budget < 0:
                raise FormatError(f"工作表“{title}”的合并单元格区域互相重叠，文件已损坏")
            for c in span:
                row[c] = value


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
    best: tuple[int, Any, _Grid, tuple[int, int, list[str]]] | None = None
    for ws in sheets:
        sheet = _grid(ws)
        found = _header(sheet.rows) if sheet.rows else (0, 1, [])
        score = sum(_known(n) for n in found[2])
        if best is None or score > best[0]:
            best = (score, ws, sheet, found)
    if best is None or not best[2].rows:
        raise FormatError("工作表为空")
    _score, ws, sheet, (start, depth, names) = best
    grid = sheet.rows
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
    body = set(table.labels)
    table.uncached = [
        (r, c, names[c - 1] if r in body and c <= width else None) for r, c in sheet.uncached
    ]
    return table


def _cell(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.time() == dt.time(0):
        return v.date()
    return v
