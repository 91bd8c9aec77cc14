"""Spreadsheet safety: every cell of every xlsx and csv the product writes goes through
``safe_cell``, so stored text can never become a live formula (CSV/formula injection).

Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is what Excel,
LibreOffice and WPS evaluate as a formula (or DDE call). In xlsx such text is stored as a
string with the cell's quote-prefix flag (Excel shows the text as typed, and editing the cell
keeps it text); in csv it gets a leading single quote, as OWASP's CSV-injection guidance
advises. Numbers stay numbers, negative ones included, and so does text that is a plain
number such as ``"-12.5"``.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

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
