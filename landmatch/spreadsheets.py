"""Spreadsheets the product writes: safety and office layout.

Safety: every cell of every xlsx and csv the product writes goes through
``safe_cell``, so stored text can never become a live formula (CSV/formula injection).

Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is what Excel,
LibreOffice and WPS evaluate as a formula (or DDE call). In xlsx such text is stored as a
string with the cell's quote-prefix flag (Excel shows the text as typed, and editing the cell
keeps it text); in csv it gets a leading single quote, as OWASP's CSV-injection guidance
advises. Numbers stay numbers, negative ones included, and so does text that is a plain
number such as ``"-12.5"``.

Layout: :func:`write_sheet` lays out every sheet the way offices expect (序号, a bold filled
header, fitted widths, frozen header, autofilter, thousands separators, rounded areas) in a
write-only workbook, and :func:`write_notes` adds the 说明 sheet.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

C = TypeVar("C", bound=Cell)


def _formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text)


def safe_cell(value: Any, cell: C | None = None) -> Any:
    """Make ``value`` safe for a spreadsheet cell.

    With an openpyxl ``cell`` (``ws.cell(row, col)``, or ``Cell(ws)`` for ``ws.append``), the
    value is written into it — any text as a string (never a formula or an error code), text
    that a spreadsheet would evaluate with the quote prefix set, characters xlsx cannot hold
    removed — and the cell is returned (style it further as you like). Without a cell, the
    value comes back ready for ``csv.writer``: formula-like text prefixed with ``'``.

    >>> safe_cell('=HYPERLINK("http://x/")')
    '\\'=HYPERLINK("http://x/")'
    >>> safe_cell(-3), safe_cell("-3.5"), safe_cell("河北")
    (-3, '-3.5', '河北')
    >>> from openpyxl import Workbook
    >>> c = safe_cell("=1+1", Workbook().active.cell(1, 1))
    >>> c.value, c.data_type, c.quotePrefix
    ('=1+1', 's', True)
    """
    if not isinstance(value, str):
        if cell is None:
            return value
        cell.value = value
        return cell
    if cell is None:
        return "'" + value if _formula_like(value) else value
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = text
    cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula, "#N/A" as an error
    if _formula_like(text):
        cell.quotePrefix = True
    return cell


# --------------------------------------------------------------------------- office styling
#
# Every xlsx the product writes is laid out by :func:`write_sheet`: a 序号 column, a bold filled
# header, widths fitted to the content (a CJK character counts two), the header frozen, an
# autofilter over the table, thousands separators, areas rounded (0.01 亩, 0.0001 公顷), dates
# as dates — and every cell through :func:`safe_cell`. Workbooks are write-only (rows stream
# to disk), so memory stays bounded however many rows a sheet has.

Kind = Literal["text", "int", "num", "mu", "ha", "pct", "date", "bool"]

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
TOTAL_FONT = Font(bold=True)
#: Rows measured to fit the widths (spread over the table): enough to see long values,
#: bounded for a sheet of a million rows.
WIDTH_SAMPLE = 5000
MAX_WIDTH = 60
_ROUND = {"mu": 2, "ha": 4}


@dataclass(frozen=True)
class Column:
    """A column: its header and what its values are (``digits`` for ``num``; ``pct`` holds
    fractions shown as percentages)."""

    header: str
    kind: Kind = "text"
    digits: int = 2

    @property
    def number_format(self) -> str:
        if self.kind == "int":
            return "#,##0"
        if self.kind == "date":
            return "yyyy-mm-dd"
        if self.kind == "pct":
            return "0.00%"
        if self.kind in ("num", "mu", "ha"):
            digits = _ROUND.get(self.kind, self.digits)
            return "#,##0" + ("." + "0" * digits if digits else "")
        return "General"

    def value(self, v: Any) -> Any:
        """``v`` as the cell holds it: numbers as numbers (areas rounded), dates as dates,
        booleans as 是/否, lists joined with 、."""
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        if isinstance(v, Decimal):
            v = float(v)
        if isinstance(v, bool) or self.kind == "bool":
            return "是" if v else "否"
        if isinstance(v, list | tuple):
            return "、".join(str(x) for x in v)
        if self.kind in _ROUND and isinstance(v, int | float):
            return round(float(v), _ROUND[self.kind])
        if self.kind == "date" and isinstance(v, str):
            try:
                return dt.date.fromisoformat(v[:10])
            except ValueError:
                return v
        if isinstance(v, dt.datetime) and v.tzinfo is not None:
            return v.replace(tzinfo=None)  # xlsx has no time zones
        return v

    def shown(self, v: Any) -> str:
        """How the value reads in the cell (for widths)."""
        if v is None:
            return ""
        if isinstance(v, int | float) and self.kind in ("int", "num", "mu", "ha"):
            digits = 0 if self.kind == "int" else _ROUND.get(self.kind, self.digits)
            return f"{v:,.{digits}f}"
        if isinstance(v, int | float) and self.kind == "pct":
            return f"{v:.2%}"
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M")
        if isinstance(v, dt.date):
            return v.isoformat()
        return str(v)


@dataclass
class Table:
    """A table of a sheet: columns, body rows (numbered 序号 1, 2, … unless ``numbered`` is
    false) and total rows under them (bold, without a number).

    ``rows`` may be a stream (any iterable, e.g. rows read from a server-side cursor): it is
    read once, as it is written, so memory stays bounded; its widths are measured on its first
    ``WIDTH_SAMPLE`` rows, and ``count`` (when known) sizes the 序号 column."""

    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]] | Iterable[Sequence[Any]]
    totals: Sequence[Sequence[Any]] = ()
    numbered: bool = True
    count: int | None = None

    @property
    def all_columns(self) -> list[Column]:
        return [Column("序号", "int"), *self.columns] if self.numbered else list(self.columns)


def text_width(text: str) -> int:
    """The width of ``text`` in a cell, in characters: CJK and full-width forms count two.

    >>> text_width("地块编号"), text_width("DKBH"), text_width("1,234.50")
    (8, 4, 8)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class _Stream:
    """A stream of rows read once; its first ``WIDTH_SAMPLE`` rows are kept for the widths."""

    def __init__(self, rows: Iterable[Sequence[Any]], count: int | None) -> None:
        self._rest = iter(rows)
        self.head = list(islice(self._rest, WIDTH_SAMPLE))
        self.count = count if count is not None else len(self.head)

    def __iter__(self) -> Iterator[Sequence[Any]]:
        yield from self.head
        self.head = []
        yield from self._rest


def _sample(table: Table) -> tuple[int, list[Sequence[Any]]]:
    """How many rows the table has and the rows its widths are measured on."""
    if isinstance(table.rows, _Stream):
        return table.rows.count, table.rows.head
    rows = table.rows
    assert isinstance(rows, Sequence)
    n = len(rows)
    step = max(1, n // WIDTH_SAMPLE)
    return n, [rows[i] for i in range(0, n, step)]


def _widths(tables: Sequence[Table]) -> list[float]:
    widths: list[int] = []
    for table in tables:
        cols = table.all_columns
        n, sample = _sample(table)
        lines = [[c.header for c in cols]]
        for row in [*sample, *table.totals]:
            values = [n, *row] if table.numbered else list(row)
            lines.append([c.shown(c.value(v)) for c, v in zip(cols, values, strict=False)])
        for line in lines:
            for k, text in enumerate(line):
                if k >= len(widths):
                    widths.append(0)
                widths[k] = max(widths[k], text_width(text))
    return [min(MAX_WIDTH, w + 2) for w in widths]


def new_workbook() -> Workbook:
    """A write-only workbook for :func:`write_sheet` (save it with :func:`save`)."""
    return Workbook(write_only=True)


def write_sheet(
    wb: Workbook, title: str, *tables: Table, freeze_cols: int = 0
) -> WriteOnlyWorksheet:
    """A sheet of ``tables`` one under another (a blank row between), laid out as offices
    expect; the header of the first is frozen (with ``freeze_cols`` columns after 序号) and
    carries the autofilter."""
    ws = wb.create_sheet(title[:31])
    tables = tuple(
        t if isinstance(t.rows, Sequence) else replace(t, rows=_Stream(t.rows, t.count))
        for t in tables
    )
    for k, width in enumerate(_widths(tables), start=1):
        ws.column_dimensions[get_column_letter(k)].width = width
    first = tables[0]
    lead = 1 if first.numbered else 0
    ws.freeze_panes = f"{get_column_letter(1 + lead + freeze_cols)}2" if first.columns else None
    ws.print_title_rows = "1:1"
    row_no = 0
    for t, table in enumerate(tables):
        if t:
            ws.append([])
            row_no += 1
        cols = table.all_columns
        header = []
        for c in cols:
            cell = WriteOnlyCell(ws)
            cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGN
            header.append(safe_cell(c.header, cell))
        ws.append(header)
        row_no += 1
        styles = [WriteOnlyCell(ws) for _ in cols]
        bold = [WriteOnlyCell(ws) for _ in cols]
        for c, plain, strong in zip(cols, styles, bold, strict=True):
            plain.number_format = strong.number_format = c.number_format
            strong.font = TOTAL_FONT
        start = row_no
        for i, row in enumerate(table.rows, start=1):
            values = [i, *row] if table.numbered else row
            ws.append(_cells(ws, cols, values, styles))
            row_no += 1
        if t == 0 and cols:
            ws.auto_filter.ref = f"A{start}:{get_column_letter(len(cols))}{max(row_no, start)}"
        for row in table.totals:
            values = [None, *row] if table.numbered else row
            ws.append(_cells(ws, cols, values, bold))
            row_no += 1
    return ws


def _cells(ws: Any, cols: Sequence[Column], values: Sequence[Any], styles: list[Cell]) -> list[Any]:
    out: list[Any] = []
    for c, v, style in zip(cols, values, styles, strict=False):
        v = c.value(v)
        if v is None:
            out.append(None)
            continue
        cell = WriteOnlyCell(ws)
        cell._style = copy(style._style)  # before safe_cell, which may set the quote prefix
        out.append(safe_cell(v, cell))
    return out


def write_notes(wb: Workbook, lines: Sequence[tuple[str, str]], title: str = "说明") -> None:
    """The 说明 sheet: what the workbook holds (source, scope, date, units), one item a line."""
    write_sheet(wb, title, Table([Column("项目"), Column("内容")], lines, numbered=False))


def save(wb: Workbook, target: str | Path | BinaryIO | None = None) -> bytes:
    """The workbook as bytes, or written to ``target`` (a path or a binary file; then b"")."""
    if target is not None:
        wb.save(target)
        return b""
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
