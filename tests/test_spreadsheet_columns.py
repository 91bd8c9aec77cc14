"""The streaming sheets convert and write a batch of rows column by column (issue #20 item 3):
``Column.values`` must give what ``Column.value`` gives value by value, and a column's cells
(``_Rows._cells``, with its fast paths for text, numbers and days) the XML that the cell by
cell writer (``_Rows._cell``) gives — for any mix of values, hostile text included."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import tempfile
from decimal import Decimal
from typing import Any, get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from landmatch.spreadsheets import Column, Kind, _Rows, _Streaming, new_streaming_workbook

KINDS: tuple[str, ...] = get_args(Kind)
# Text an xlsx cell needs care with: XML escapes, characters it cannot hold, _xHHHH_, formula
# starts, white space at either end, line breaks, CJK, and text over half a cell's limit.
TEXT = st.one_of(
    st.text(alphabet="a河北 \u3000\n\r\t\x00\x0b&<>_xX0F4=+-@\ufffe\uffff1.e", max_size=12),
    st.sampled_from(["", "-12.5", "=1+1", "a" * 16_384, "河" * 20_000, "_x0041_"]),
)
VALUE = st.one_of(
    st.none(),
    TEXT,
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.just(Decimal("NaN")),  # PostgreSQL's numeric NaN (a quiet one)
    st.booleans(),
    st.dates(min_value=dt.date(1, 1, 1)),
    st.datetimes(min_value=dt.datetime(1899, 1, 1)),
    st.datetimes(min_value=dt.datetime(1899, 1, 1)).map(lambda d: d.replace(tzinfo=dt.UTC)),
    st.lists(st.text(max_size=3), max_size=2),
)
# A column's values: mostly of one family, as a table's are, sometimes mixed.
COLUMN = st.one_of(
    st.lists(st.one_of(st.none(), TEXT), max_size=30),
    st.lists(st.one_of(st.none(), st.floats(allow_nan=True), st.integers()), max_size=30),
    st.lists(st.one_of(st.none(), st.decimals(allow_nan=False, places=2)), max_size=30),
    st.lists(st.one_of(st.none(), st.dates(min_value=dt.date(1, 1, 1))), max_size=30),
    st.lists(st.one_of(st.none(), st.booleans()), max_size=30),
    st.lists(VALUE, max_size=30),
)


def _same(v: Any) -> Any:
    """A value compared as a cell shows it (NaN equal to NaN)."""
    return "NaN" if isinstance(v, float) and math.isnan(v) else (type(v), v)


def _converts_as_each_value(kind: Kind, values: list[Any]) -> None:
    column = Column("列", kind)
    assert [_same(v) for v in column.values(values)] == [_same(column.value(v)) for v in values]


def _cells_as_the_cell_writer(kind: Kind, values: list[Any], first: int) -> None:
    column = Column("列", kind)
    with tempfile.TemporaryDirectory() as tmp:
        wb = new_streaming_workbook(io.BytesIO(), tmp)
        rows = _Rows(_Streaming(wb), "body", [Column("序号", "int"), column])
        numbers = range(first, first + len(values))
        converted = column.values(values)
        cells = rows._cells(1, column, converted, numbers)
        shared = {i: t for t, i in wb.str_table.string_table.items()}
        assert [_inline(cell, shared) for cell in cells] == [
            rows._cell(1, r, column, column.value(v)) for v, r in zip(values, numbers, strict=True)
        ]
        wb.close()


def _inline(cell: str, shared: dict[int, str]) -> str:
    """``cell`` with a shared string written inline (as the cell writer writes every text)."""
    return re.sub(
        r' t="s"><v>(\d+)</v>',
        lambda m: f' t="inlineStr"><is><t>{shared[int(m.group(1))]}</t></is>',
        cell,
    )


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), values=COLUMN)
def test_a_column_converts_as_each_value_does(kind: Kind, values: list[Any]) -> None:
    _converts_as_each_value(kind, values)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), values=COLUMN, first=st.integers(1, 1_000_000))
def test_a_columns_cells_are_what_the_cell_writer_writes(
    kind: Kind, values: list[Any], first: int
) -> None:
    _cells_as_the_cell_writer(kind, values, first)


def test_the_plain_columns_of_an_export_agree() -> None:
    """The commonest columns (text, numbers, days, decimals, booleans) as the export has them,
    a special text or value among them."""
    texts = ["地块", None, "", "a & b", " x", "=SUM(1)", "石家庄市"]
    numbers: list[Any] = [1, 2.5, None, float("nan"), float("inf"), 10**15]
    days = [dt.date(2024, 5, 1), None, dt.date(1899, 12, 31), dt.date(1900, 2, 28)]
    cases: list[tuple[Kind, list[Any]]] = [
        ("text", texts),
        ("text", ["地块", "石家庄市", None]),
        ("text", ["石家庄市", "保定市"] * 3 + [None, "石家庄市"]),  # shared strings
        ("mu", numbers),
        ("int", numbers),
        ("int", [7, None, -3, 2**53, -(2**53)]),  # integers a float holds exactly: as they are
        ("int", [7, None, 2**53 + 1]),  # one it does not: .16G, as the cell writer writes it
        ("num", [-(2**53) - 1, 10**17, 3]),
        ("date", days),
        ("text", days),
        ("num", [Decimal("1.25"), None]),
        ("bool", [True, False, None]),
    ]
    for kind, values in cases:
        _converts_as_each_value(kind, values)
        _cells_as_the_cell_writer(kind, values, 7)
