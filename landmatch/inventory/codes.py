"""Parcel codes on import: the optional code prefix, and the hint for TXT files.

A 界址点 TXT numbers its parcels within the survey file ("1", "2", sometimes "B/R-14"); such a
number cannot be the inventory's code, which is unique across the province. ``--code-prefix``
turns each code of the file into ``前缀-编号``. Codes may be written in any script
(石经开2025-31号, ``vocab.CODE_PATTERN``).

Examples
--------
>>> with_prefix("1", "SJZ-2024"), with_prefix("B/R-14", "SJZ-2024"), with_prefix(2.0, "X1")
('SJZ-2024-1', 'SJZ-2024-B-R-14', 'X1-2')
>>> with_prefix("31号", "石经开2025")
'石经开2025-31号'
>>> with_prefix("、/", "SJZ-2024") is None  # nothing usable left after the prefix
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
PREFIX_RE = re.compile(f"[^{vocab.CODE_FORBIDDEN}]{{1,40}}")
_OUTSIDE = re.compile(f"[{vocab.CODE_FORBIDDEN}]+")
_USABLE = re.compile(r"\w")  # a letter or digit of any script
_DASHES = re.compile(r"-{2,}")
EXAMPLE_PREFIX = "130100-2024-XY"
TXT_HINT = (
    "；界址点文件的地块编号只是文件内序号，请指定地块编号前缀"
    f"（如 {EXAMPLE_PREFIX}），导入为 前缀-编号（如 {EXAMPLE_PREFIX}-1）"
)


#: Units written as a parcel's city that are not cities of the inventory (vocab's).
NOT_CITIES = vocab.NOT_CITIES


def check_prefix(prefix: str | None) -> str | None:
    """The prefix to use (blank means none), or :class:`InvalidInput` when it is malformed."""
    if prefix is None or not prefix.strip():
        return None
    prefix = prefix.strip()
    if not PREFIX_RE.fullmatch(prefix) or not _USABLE.search(prefix):
        raise InvalidInput(
            f"地块编号前缀“{prefix[:60]}”无效：1–40 个字符，不含空格、控制字符和 /、\\，"
            f"且至少含一个文字或数字（如 {EXAMPLE_PREFIX}）"
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
    """``前缀-编号`` with characters a code cannot hold (spaces, ``/`` …) turned into ``-``
    (runs of ``-`` collapsed, none at either end); ``None`` when the file's code has no
    letter or digit."""
    code = code_text(value)
    if code is None:
        return None
    if not _USABLE.search(code):
        return None
    return _DASHES.sub("-", _OUTSIDE.sub("-", f"{prefix}-{code}")).strip("-")


def is_code(value: str | None) -> bool:
    """Whether ``value`` is a well-formed inventory parcel code."""
    return value is not None and CODE_RE.fullmatch(value) is not None


#: NBS statistical codes of function zones (development zones, new areas, management areas):
#: in county-code lists, but no counties (docs/domain.md §4). A parcel "in 130171" lies in a
#: county of its own; the import names it.
ZONE_STAT_CODES: dict[str, str] = {
    "130171": "石家庄高新技术产业开发区",
    "130172": "石家庄循环化工园区",
    "130271": "芦台经济开发区",
    "130272": "汉沽管理区",
    "130273": "唐山高新技术产业开发区",
    "130274": "唐山海港经济开发区",
    "130371": "秦皇岛市经济技术开发区",
    "130372": "北戴河新区",
    "130471": "邯郸经济技术开发区",
    "130473": "邯郸冀南新区",
    "130571": "河北邢台经济开发区",
    "130671": "保定高新技术产业开发区",
    "130672": "保定白沟新城",
    "130771": "张家口经济开发区",
    "130772": "张家口市察北管理区",
    "130773": "张家口市塞北管理区",
    "130871": "承德高新技术产业开发区",
    "130971": "沧州经济开发区",
    "130972": "沧州高新技术产业开发区",
    "130973": "沧州渤海新区",
    "131071": "廊坊经济技术开发区",
    "131171": "河北衡水高新技术产业开发区",
    "131172": "衡水滨湖新区",
    "133100": "雄安新区",
}
