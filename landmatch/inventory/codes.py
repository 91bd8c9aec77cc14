"""Parcel codes on import: the optional code prefix, and the hint for TXT files.

A 界址点 TXT numbers its parcels within the survey file ("1", "2", sometimes "B/R-14"); such a
number cannot be the inventory's code, which is unique across the province. ``--code-prefix``
turns each code of the file into ``前缀-编号``.

Examples
--------
>>> with_prefix("1", "SJZ-2024"), with_prefix("B/R-14", "SJZ-2024"), with_prefix(2.0, "X1")
('SJZ-2024-1', 'SJZ-2024-B-R-14', 'X1-2')
>>> with_prefix("地块", "SJZ-2024") is None  # nothing usable left after the prefix
True
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from landmatch import vocab
from landmatch.errors import InvalidInput

#: The inventory's parcel code (also a CHECK on landmatch.parcel.code).
CODE_RE = re.compile(vocab.CODE_PATTERN)
PREFIX_RE = re.compile(r"[A-Za-z0-9_\-]{1,40}")
_OUTSIDE = re.compile(r"[^A-Za-z0-9_\-]+")
_DASHES = re.compile(r"-{2,}")
EXAMPLE_PREFIX = "130100-2024-XY"
TXT_HINT = (
    "；界址点文件的地块编号只是文件内序号，请用 --code-prefix 指定前缀"
    f"（如 --code-prefix {EXAMPLE_PREFIX}），导入为 前缀-编号（如 {EXAMPLE_PREFIX}-1；"
    "接口调用时用表单字段 code_prefix）"
)


def check_prefix(prefix: str | None) -> str | None:
    """The prefix to use (blank means none), or :class:`InvalidInput` when it is malformed."""
    if prefix is None or not prefix.strip():
        return None
    prefix = prefix.strip()
    if not PREFIX_RE.fullmatch(prefix) or not re.search(r"[A-Za-z0-9]", prefix):
        raise InvalidInput(
            f"地块编号前缀“{prefix[:60]}”无效：只能包含字母、数字、-、_，长度 1–40 位，"
            f"且至少含一个字母或数字（如 {EXAMPLE_PREFIX}）"
        )
    return prefix


def code_text(value: Any) -> str | None:
    """A code cell as text (``2.0`` from a spreadsheet is ``"2"``); ``None`` when blank."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def with_prefix(value: Any, prefix: str) -> str | None:
    """``前缀-编号`` with characters outside ``[A-Za-z0-9_-]`` turned into ``-`` (runs of ``-``
    collapsed, none at either end); ``None`` when the file's code has nothing usable."""
    code = code_text(value)
    if code is None:
        return None
    if not re.search(r"[A-Za-z0-9_]", code):
        return None
    return _DASHES.sub("-", _OUTSIDE.sub("-", f"{prefix}-{code}")).strip("-")


def is_code(value: str | None) -> bool:
    """Whether ``value`` is a well-formed inventory parcel code."""
    return value is not None and CODE_RE.fullmatch(value) is not None
