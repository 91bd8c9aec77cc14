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
write-only workbook, and :func:`write_notes` adds the 说明 sheet. Both also take an XlsxWriter
workbook from :func:`new_streaming_workbook` (constant_memory: the same layout in a quarter
of the CPU time, for the sheets that grow with the province): there every text cell is a
string, inline or shared (never a formula, whatever it starts with), and formula-like text
carries the quote prefix, as :func:`safe_cell` sets it.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
import weakref
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import islice, zip_longest
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar
from zipfile import ZipFile

import xlsxwriter
import xlsxwriter.workbook
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

C = TypeVar("C", bound=Cell)


def _formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text)


def _xlsx_text(value: str) -> str:
    """``value`` without the characters an xlsx cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


# Text in an xlsx names a character as _xHHHH_ (ECMA-376 ST_Xstring: Excel shows _x0041_ as
# "A", _x003D_ as "="), so a text holding such a sequence is written with its underscore
# escaped as _x005F_, as XlsxWriter and Excel write it; openpyxl neither writes nor reads the
# escapes, so the project does both (:func:`safe_cell`, :func:`xlsx_unescape`).
# An underscore that starts _xHHHH_ (each one: in "_x005F_x0041_" both do).
_LITERAL_ESCAPE = re.compile("_(?=x[0-9a-fA-F]{4}_)")
_ESCAPED = re.compile("_x([0-9a-fA-F]{4})_")


def _xlsx_literal(text: str) -> str:
    """``text`` stored so that Excel shows it as it is (each _xHHHH_ with its underscore
    escaped).

    >>> _xlsx_literal("_x0041_"), xlsx_unescape(_xlsx_literal("_x005F_x0041_"))
    ('_x005F_x0041_', '_x005F_x0041_')
    """
    return _LITERAL_ESCAPE.sub("_x005F_", text) if "_x" in text else text


def xlsx_unescape(value: str) -> str:
    r"""Text as Excel shows a cell's stored text (openpyxl reads the _xHHHH_ escapes as they
    are): what the importers read from an xlsx.

    >>> xlsx_unescape("_x005F_x0041_ and _x0041_"), xlsx_unescape("a_x000D_b")
    ('_x0041_ and A', 'a\rb')
    """
    if "_x" not in value:
        return value
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), value)


def safe_cell(value: Any, cell: C | None = None) -> Any:
    """Make ``value`` safe for a spreadsheet cell.

    With an openpyxl ``cell`` (``ws.cell(row, col)``, or ``Cell(ws)`` for ``ws.append``), the
    value is written into it — any text as a string (never a formula or an error code), text
    that a spreadsheet would evaluate with the quote prefix set, characters xlsx cannot hold
    removed, a literal _xHHHH_ escaped (Excel would show it as one character) — and the cell
    is returned (style it further as you like). Without a cell, the
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
    text = _xlsx_text(value)
    # Stored so that Excel shows ``text`` itself (not "=" for a literal "_x003D_"); whether
    # it reads as a formula is judged on what it shows.
    cell.value = _xlsx_literal(text)
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
#: Rows an XlsxWriter sheet converts and writes at a time, column by column.
BATCH_ROWS = 2000
MAX_WIDTH = 60
_ROUND = {"mu": 2, "ha": 4}
_NUMBERS = {int, float}
_EXACT_INT = 2**53  # the integers a float (and so Excel, and .16G) holds exactly
_PLAIN = {str, int, float, dt.date}  # values Column.values converts column-wise


def _exact_ints(values: Sequence[int | None]) -> bool:
    """Whether the integers of ``values`` (at least one; None besides) are ones a float holds
    exactly, and so are written as .16G writes them."""
    given = [v for v in values if v is not None]
    return min(given) >= -_EXACT_INT and max(given) <= _EXACT_INT


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
        if type(v) is str and self.kind == "text":  # the commonest cell, as it is
            return v
        if isinstance(v, Decimal):
            v = float(v)
        if v is None or (isinstance(v, float) and math.isnan(v)):  # NaN: blank
            return None
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

    def values(self, vs: Sequence[Any]) -> Sequence[Any]:
        """:meth:`value` of each of ``vs`` (a column's values): the common columns — text of
        strings, numbers, dates, booleans — without a call per value."""
        kinds = set(map(type, vs))
        kinds.discard(type(None))
        if self.kind == "bool" and kinds <= {bool}:
            return [None if v is None else "是" if v else "否" for v in vs]
        if Decimal in kinds and self.kind != "bool":
            vs = [float(v) if type(v) is Decimal else v for v in vs]
            kinds = (kinds - {Decimal}) | {float}
        if self.kind == "bool" or not kinds <= _PLAIN:
            return [self.value(v) for v in vs]
        if kinds == {str}:
            return vs if self.kind == "text" else [self.value(v) for v in vs]
        if kinds <= _NUMBERS:
            if self.kind in _ROUND:
                digits = _ROUND[self.kind]
                return [None if v is None or v != v else round(float(v), digits) for v in vs]
            return [None if v != v else v for v in vs]  # NaN: blank
        return vs if kinds == {dt.date} else [self.value(v) for v in vs]

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
    if text.isascii():
        return len(text)
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
        for k, texts in enumerate(zip_longest(*lines, fillvalue="")):
            if k >= len(widths):
                widths.append(0)
            widths[k] = max(widths[k], *map(text_width, set(texts)))  # a text measured once
    return [min(MAX_WIDTH, w + 2) for w in widths]


def new_workbook() -> Workbook:
    """A write-only workbook for :func:`write_sheet` (save it with :func:`save`)."""
    return Workbook(write_only=True)


def _streamed(tables: Sequence[Table]) -> tuple[Table, ...]:
    """The tables, a stream of rows wrapped to keep its first rows for the widths."""
    return tuple(
        t if isinstance(t.rows, Sequence) else replace(t, rows=_Stream(t.rows, t.count))
        for t in tables
    )


def write_sheet(
    wb: Workbook | xlsxwriter.Workbook, title: str, *tables: Table, freeze_cols: int = 0
) -> WriteOnlyWorksheet | StreamingWorksheet:
    """A sheet of ``tables`` one under another (a blank row between), laid out as offices
    expect; the header of the first is frozen (with ``freeze_cols`` columns after 序号) and
    carries the autofilter. ``wb`` is openpyxl's write-only workbook (:func:`new_workbook`)
    or XlsxWriter's (:func:`new_streaming_workbook`)."""
    if isinstance(wb, xlsxwriter.Workbook):
        return _Streaming(wb).sheet(title, _streamed(tables), freeze_cols)
    ws = wb.create_sheet(title[:31])
    tables = _streamed(tables)
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


def write_notes(
    wb: Workbook | xlsxwriter.Workbook, lines: Sequence[tuple[str, str]], title: str = "说明"
) -> None:
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


# --------------------------------------------------------------------------- XlsxWriter
#
# The same layout through XlsxWriter in constant_memory mode: each row goes to the sheet's
# row file as it is written, so memory stays bounded as with openpyxl's write-only sheets.
# XlsxWriter's own write_*() keep each cell as an object and write its XML when the next row
# begins (about 10 µs a cell; a province's two parcel sheets have 14 million), so rows are
# handed over as XML made here in one pass (:meth:`StreamingWorksheet.write_rows_xml`);
# XlsxWriter writes everything else (styles, widths, panes, filter, the package).


class StreamingWorksheet(Worksheet):
    """XlsxWriter's worksheet with :meth:`write_rows_xml`. It leans on internals of XlsxWriter 3
    (``_check_dimensions``, ``_write_single_row``, ``fh`` — the row file in constant_memory
    mode — and ``Format._get_xf_index``); tests read the files back with openpyxl and compare
    them with openpyxl's own."""

    def __init__(self) -> None:
        super().__init__()
        self.last_xml_row = -1  # the last row written by write_rows_xml

    def write_rows_xml(self, row: int, first_col: int, last_col: int, rows: Iterable[str]) -> None:
        """Rows ``row``, ``row`` + 1, … (0-based, after every row written so far) with the XML
        of their cells (``<c>`` elements, each with its ``r`` reference; "" for a blank row)
        in columns ``first_col`` to ``last_col``."""
        if row <= self.last_xml_row:
            raise ValueError(f"row {row} is already written")
        parts, used = [], []
        for r, cells in enumerate(rows, row):
            if cells:
                parts.append(f'<row r="{r + 1}">{cells}</row>')
                used.append(r)
        if not used:
            return
        if self._check_dimensions(used[0], first_col) or self._check_dimensions(used[-1], last_col):
            raise ValueError(f"rows {used[0]}–{used[-1]} are outside the sheet")
        self._write_single_row(used[0])  # whatever XlsxWriter still holds of the rows before
        self.fh.write("".join(parts))
        self.last_xml_row = used[-1]
        # XlsxWriter's own write_*() and set_row() refuse the rows before previous_row: these.
        self.previous_row = used[-1] + 1


# zlib's level for the streaming workbooks' parts. Closing the province's workbook deflates
# about 500 MB of sheet XML, on one core while the database and the other core wait: at the
# default level 6 closing took 13–13.5 s, at level 3 6.6–7 s (the deflate itself 2.3 times
# faster), for a file about a fifth larger.
ZIP_LEVEL = 3


class _ZipFile(ZipFile):
    """XlsxWriter's zip container, deflating at ``ZIP_LEVEL`` (XlsxWriter has no option for
    the level: it makes its ``ZipFile`` with the default, so its module is given this one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compresslevel", ZIP_LEVEL)
        super().__init__(*args, **kwargs)


xlsxwriter.workbook.ZipFile = _ZipFile  # type: ignore[misc]


def discard(wb: xlsxwriter.Workbook) -> None:
    """Give up a workbook before it is closed: close its sheets' row files now (XlsxWriter's
    objects refer to each other, so otherwise they stay open, and their disk space taken,
    until Python's cycle collector runs)."""
    for ws in wb.worksheets():
        fh = getattr(ws, "fh", None)
        if fh is not None and not fh.closed:
            fh.close()


def new_streaming_workbook(target: str | Path | BinaryIO, tmpdir: str) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook writing to ``target`` (a path or a binary file) in
    constant_memory mode, for :func:`write_sheet`; ``close()`` it to finish the file. Its
    sheets' rows wait in files under ``tmpdir`` (a temporary directory of the caller's, so
    nothing is left behind when a workbook is given up before it is closed)."""
    return xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "tmpdir": tmpdir,
            "remove_timezone": True,
            "default_date_format": "yyyy-mm-dd",
        },
    )


HEADER_PROPS: dict[str, Any] = {
    "bold": True,
    "pattern": 1,  # solid
    "bg_color": "#DDEBF7",
    "align": "center",
    "valign": "vcenter",
    "text_wrap": True,
}
_STYLE_PROPS: dict[str, dict[str, Any]] = {
    "header": HEADER_PROPS,
    "body": {},
    "total": {"bold": True},
}
# Each workbook's cell styles (' s="N"', "" for none) by (style, number format, quote prefix).
_STYLES: weakref.WeakKeyDictionary[xlsxwriter.Workbook, dict[tuple[str, str, bool], str]] = (
    weakref.WeakKeyDictionary()
)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_LEAP_BUG_END = dt.datetime(1900, 3, 1)  # Excel counts a 29 February 1900
_EXCEL_EPOCH_ORDINAL = _EXCEL_EPOCH.toordinal()
_LEAP_BUG_DAYS = (_LEAP_BUG_END - _EXCEL_EPOCH).days


def _day_serial(day: dt.date) -> int:
    """Excel's serial number of ``day`` (1900 or later), which counts a 29 February 1900."""
    days = day.toordinal() - _EXCEL_EPOCH_ORDINAL
    return days - (days < _LEAP_BUG_DAYS)


_MAX_TEXT = 32767  # UTF-16 units in a cell
# The most distinct texts a workbook's shared-string table takes (it is held in memory until
# the workbook is closed); repeated texts beyond it are written inline, as the others are.
_MAX_SHARED = 200_000
# Text that needs more than writing as it is: characters xlsx cannot hold, XML escapes,
# _xHHHH_ (read back as an escaped character), white space at either end.
_TEXT_SPECIAL = re.compile("[\x00-\x08\x0b\x0c\r\x0e-\x1f&<>\ufffe\uffff]|_x|^\\s|\\s$")
# Text that needs _text's care: the above, or formula-like (the quote prefix).
_TEXT_SLOW = re.compile(_TEXT_SPECIAL.pattern + "|^[=+\\-@\t]")
# The same, searched once in a column's texts joined by line feeds (no false negative: each
# text begins a line and ends one).
_TEXT_SLOW_LINES = re.compile(_TEXT_SLOW.pattern, re.MULTILINE)


class _Streaming:
    """Writes sheets of one XlsxWriter workbook with the layout of :func:`write_sheet`."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.wb = wb
        self.styles = _STYLES.setdefault(wb, {})

    def style(self, style: str, number_format: str, quote: bool = False) -> str:
        """The ``s`` attribute of a cell of ``style`` (header, body, total) with
        ``number_format`` and the quote prefix ("" for a plain body cell)."""
        key = (style, number_format, quote)
        if key not in self.styles:
            props = dict(_STYLE_PROPS[style])
            if number_format != "General":
                props["num_format"] = number_format
            if quote:
                props["quote_prefix"] = True
            fmt = self.wb.add_format(props) if props else None
            self.styles[key] = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
        return self.styles[key]

    def sheet(self, title: str, tables: Sequence[Table], freeze_cols: int) -> StreamingWorksheet:
        ws = self.wb.add_worksheet(title[:31], worksheet_class=StreamingWorksheet)
        for k, width in enumerate(_widths(tables)):
            ws.set_column(k, k, width)
        first = tables[0]
        if first.columns:
            ws.freeze_panes(1, (1 if first.numbered else 0) + freeze_cols)
        ws.repeat_rows(0)
        row = 0
        for t, table in enumerate(tables):
            if t:
                row += 1  # a blank row between tables
            cols = table.all_columns
            _Rows(self, "header", [Column(c.header) for c in cols]).write(
                ws, row, [[c.header for c in cols]]
            )
            row += 1
            start = row
            body = _Rows(self, "body", cols)
            rows = iter(table.rows)
            while batch := list(islice(rows, BATCH_ROWS)):
                if table.numbered:
                    batch = [[i, *values] for i, values in enumerate(batch, start=row - start + 1)]
                body.write(ws, row, batch)
                row += len(batch)
            if t == 0 and cols:
                ws.autofilter(start - 1, 0, max(row, start) - 1, len(cols) - 1)
            total = _Rows(self, "total", cols)
            if table.totals:
                total.write(ws, row, [[None, *v] if table.numbered else v for v in table.totals])
                row += len(table.totals)
        return ws


class _Rows:
    """Rows of ``cols`` in one style, as XML: each value as :meth:`Column.value` makes it; text
    always a string (inline, or shared where a batch's column repeats its texts: never a
    formula), formula-like text with the quote prefix (as :func:`safe_cell` sets it),
    characters xlsx cannot hold removed; numbers and dates as numbers with the column's number
    format (a date in a column not of dates gets a date format, as openpyxl gives it)."""

    def __init__(self, book: _Streaming, style: str, cols: Sequence[Column]) -> None:
        self.cols = cols
        self.letters = [xl_col_to_name(k) for k in range(len(cols))]
        self.plain = [book.style(style, c.number_format) for c in cols]
        self.quoted = [book.style(style, c.number_format, quote=True) for c in cols]
        self.date = book.style(style, "yyyy-mm-dd")
        self.datetime = book.style(style, "yyyy-mm-dd h:mm:ss")
        self.shared = book.wb.str_table

    def write(self, ws: StreamingWorksheet, row: int, rows: Sequence[Sequence[Any]]) -> None:
        """``rows`` from row ``row`` (0-based) on, worked column by column: each column's
        values converted at once (:meth:`Column.values`), then its cells' XML."""
        columns = list(zip_longest(*rows))  # a short row's missing values are blank
        numbers = range(row + 1, row + 1 + len(rows))
        cells = [
            self._cells(k, c, c.values(vs), numbers)
            for k, c, vs in zip(range(len(self.cols)), self.cols, columns, strict=False)
        ]
        used = [k for k, xml in enumerate(cells) if any(xml)]
        if used:
            ws.write_rows_xml(row, used[0], used[-1], map("".join, zip(*cells, strict=True)))

    def _cells(self, k: int, c: Column, values: Sequence[Any], numbers: range) -> list[str]:
        """The XML of column ``k``'s cells ("" for a blank) in rows ``numbers`` (1-based)."""
        kinds = set(map(type, values))
        kinds.discard(type(None))
        letter, style = self.letters[k], self.plain[k]
        if kinds == {str}:  # the commonest
            texts = list(filter(None, values))
            distinct = dict.fromkeys(texts)  # in order: the same workbook, the same indexes
            if distinct and (
                _TEXT_SLOW_LINES.search("\n".join(distinct))
                or max(map(len, distinct)) > _MAX_TEXT // 2
            ):
                return [  # some text needs _text's care: found value by value
                    ""
                    if not v
                    else self._text(k, r, v)
                    if _TEXT_SLOW.search(v) or len(v) > _MAX_TEXT // 2
                    else f'<c r="{letter}{r}"{style} t="inlineStr"><is><t>{v}</t></is></c>'
                    for v, r in zip(values, numbers, strict=True)
                ]
            if len(texts) >= 2 * len(distinct) and (
                self.shared.unique_count + len(distinct) <= _MAX_SHARED
            ):  # a column of repeated texts (names of cities, states…): shared strings
                ids = {t: self.shared._get_shared_string_index(t) for t in distinct}
                self.shared.count += len(texts) - len(distinct)  # each use counts
                return [
                    f'<c r="{letter}{r}"{style} t="s"><v>{ids[v]}</v></c>' if v else ""
                    for v, r in zip(values, numbers, strict=True)
                ]
            return [
                f'<c r="{letter}{r}"{style} t="inlineStr"><is><t>{v}</t></is></c>' if v else ""
                for v, r in zip(values, numbers, strict=True)
            ]
        if kinds == {int} and _exact_ints(values):  # row numbers, days, counts: as they are
            return [
                f'<c r="{letter}{r}"{style}><v>{v}</v></c>' if v is not None else ""
                for v, r in zip(values, numbers, strict=True)
            ]
        if kinds <= _NUMBERS:
            return [
                f'<c r="{letter}{r}"{style}><v>{v:.16G}</v></c>'
                if v is not None and (type(v) is int or math.isfinite(v))
                else ""
                for v, r in zip(values, numbers, strict=True)
            ]
        if kinds == {dt.date}:  # days (not times): their serial numbers
            style = style if c.kind == "date" else self.date
            serials = {v: _day_serial(v) for v in set(values) if v is not None and v.year >= 1900}
            return [
                f'<c r="{letter}{r}"{style}><v>{serials[v]}</v></c>'
                if v in serials
                else ""
                if v is None
                else self._cell(k, r, c, v)  # before 1900: no serial number, as text
                for v, r in zip(values, numbers, strict=True)
            ]
        return [self._cell(k, r, c, v) for v, r in zip(values, numbers, strict=True)]

    def _cell(self, k: int, r: int, c: Column, v: Any) -> str:
        """The XML of the cell of column ``k`` in row ``r`` (1-based) holding ``v`` (as
        :meth:`Column.value` made it; "" for a blank)."""
        kind = type(v)
        if v is None:
            return ""
        if kind is str:
            return self._text(k, r, v) if v else ""  # an empty text is a blank cell
        if kind is float or kind is int:
            if kind is float and not math.isfinite(v):
                return ""
            return f'<c r="{self.letters[k]}{r}"{self.plain[k]}><v>{v:.16G}</v></c>'
        if isinstance(v, dt.date):
            # Excel has no serial number for days before 1900: those stay text (ISO).
            return self._date(k, r, c, v) if v.year >= 1900 else self._text(k, r, v.isoformat())
        return self._text(k, r, str(v))  # anything else as its text

    def _date(self, k: int, r: int, c: Column, v: dt.date) -> str:
        if isinstance(v, dt.datetime):
            style = self.plain[k] if c.kind == "date" else self.datetime
            v = v.replace(tzinfo=None)
            days: float = (v - _EXCEL_EPOCH) / dt.timedelta(days=1) - (v < _LEAP_BUG_END)
        else:
            style = self.plain[k] if c.kind == "date" else self.date
            days = _day_serial(v)
        return f'<c r="{self.letters[k]}{r}"{style}><v>{days:.16G}</v></c>'

    def _text(self, k: int, r: int, value: str) -> str:
        text, space = value, ""
        special = len(text) > _MAX_TEXT // 2 or _TEXT_SPECIAL.search(text)
        if special:  # rare
            text = _xlsx_text(text)
            if len(text) > _MAX_TEXT // 2:
                text = text.encode("utf-16-le")[: 2 * _MAX_TEXT].decode("utf-16-le", "ignore")
        style = self.quoted[k] if _formula_like(text) else self.plain[k]
        if special:
            text = _xlsx_literal(text)
            text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            text = text.replace("\r", "&#13;")  # a raw CR would be read back as LF
            if text[:1].isspace() or text[-1:].isspace():
                space = ' xml:space="preserve"'
        return f'<c r="{self.letters[k]}{r}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'
