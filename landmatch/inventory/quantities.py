"""Numbers as offices write them in their lists: with units (8000kVA, 50年, 300万元/亩),
multipliers (1.2万, 3亿), comparisons (≤40%, 不低于1.0), ranges (容积率 1.0-2.0) and words
(面议). Each is read into the field's own unit, or refused with the reason.

Examples
--------
>>> read("8000kVA", "kva"), read("8MVA", "kva"), read("1.2万", "m3d"), read("50年", "year")
((8000.0, None), (8000.0, None), (12000.0, None), (50.0, None))
>>> read("1.2亿", "wan"), read("1.2万元", "wan"), read("≤40%", "pct", direction="max")
((12000.0, None), (1.2, None), (40.0, None))
>>> read("10kV", "kva")
(None, '“10kV”是电压等级（kV），不是供电容量；请填写容量，如 8000kVA')
>>> read("面议", "wan_per_mu")
(None, None)
>>> far("1.0-2.0"), far("≥1.2"), far("不大于2.5"), far("1.5")
(((1.0, 2.0), None), ((1.2, None), None), ((None, 2.5), None), ((1.5, None), '未注明上限或下限，按下限记录'))
"""

from __future__ import annotations

import math
import re
import unicodedata

from landmatch.geo.measure import M2_PER_MU

#: Units by dimension: the unit as written (normalised: NFKC, lower case, no spaces) → factor
#: to the dimension's unit (the unit of the fields of that dimension).
UNITS: dict[str, dict[str, float]] = {
    "kva": {"kva": 1, "千伏安": 1, "mva": 1000, "兆伏安": 1000},
    "m3d": {
        "m3/d": 1,
        "m³/d": 1,
        "立方米/日": 1,
        "立方米/天": 1,
        "方/日": 1,
        "方/天": 1,
        "吨/日": 1,
        "吨/天": 1,
        "t/d": 1,
    },
    "mw": {"mw": 1, "兆瓦": 1, "kw": 0.001, "千瓦": 0.001},
    "pct": {"%": 1},
    "wan_per_mu": {
        "万元/亩": 1,
        "元/亩": 1e-4,
        "元/平方米": M2_PER_MU / 1e4,
        "元/m2": M2_PER_MU / 1e4,
        "元/㎡": M2_PER_MU / 1e4,
        "万元/公顷": 1 / 15,
    },
    "wan": {"万元": 1, "元": 1e-4, "亿元": 1e4},
    "year": {"年": 1},
    "m": {"米": 1, "m": 1},
    # Energy per value added: 吨标煤 per 万元 of 增加值 (docs/domain.md §8).
    "tce_per_wan": {
        "吨标煤/万元增加值": 1,
        "吨标煤/万元": 1,
        "吨标准煤/万元增加值": 1,
        "吨标准煤/万元": 1,
        "tce/万元": 1,
        "千克标煤/万元": 1e-3,
        "千克标准煤/万元": 1e-3,
        "kgce/万元": 1e-3,
    },
    "m2": {
        "平方米": 1,
        "m2": 1,
        "㎡": 1,
        "亩": M2_PER_MU,
        "公顷": 1e4,
        "ha": 1e4,
        "平方公里": 1e6,
        "km2": 1e6,
    },
}
#: How each dimension is named in a message.
UNIT_NAMES = {
    "kva": "kVA",
    "m3d": "m³/d",
    "mw": "MW",
    "pct": "%",
    "wan_per_mu": "万元/亩",
    "wan": "万元",
    "year": "年",
    "m": "米",
    "tce_per_wan": "吨标煤/万元增加值",
    "m2": "平方米",
}
MULTIPLIERS = {"万": 1e4, "亿": 1e8}
#: Words that say "no number here" (a price by negotiation, nothing yet): read as blank.
BLANK_WORDS = frozenset({"面议", "待定", "暂无", "无", "—", "-", "/", "不详", "未定", "协商"})
_AT_MOST = ("≤", "<=", "<", "不大于", "不超过", "不高于", "小于", "低于", "以下")
_AT_LEAST = ("≥", ">=", ">", "不小于", "不低于", "大于", "高于", "以上")
_NUMBER = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))")
_RANGE = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*(?:-|~|～|—|–|－|至|到)\s*(\d+(?:\.\d+)?)$")


def normalise(text: str) -> str:
    """Full-width forms to ASCII (NFKC), no spaces or thousands separators, lower case."""
    t = unicodedata.normalize("NFKC", text).strip().lower()
    return t.replace(" ", "").replace(",", "").replace("，", "")


def unit_factor(unit: str, dimension: str) -> float | None:
    """The factor from ``unit`` (as written) to ``dimension``'s unit; None when it is not one."""
    return UNITS.get(dimension, {}).get(normalise(unit))


def _comparison(t: str) -> tuple[str, str | None]:
    """``t`` without a leading (or trailing 以上/以下) comparison, and its sense."""
    for words, sense in ((_AT_MOST, "max"), (_AT_LEAST, "min")):
        for w in words:
            if t.startswith(w):
                return t[len(w) :], sense
            if w in ("以下", "以上") and t.endswith(w):
                return t[: -len(w)], sense
    return t, None


def read(
    text: str,
    dimension: str | None,
    *,
    default_unit: str | None = None,
    direction: str | None = None,
) -> tuple[float | None, str | None]:
    """A number as written → (value in ``dimension``'s unit, None), or (None, the reason it is
    refused). (None, None): a blank word such as 面议. ``default_unit`` is the unit a bare
    number is in (the column header's), ``direction`` ``"min"``/``"max"`` the sense of a
    threshold field (≥ on a maximum is refused)."""
    t = normalise(text)
    if t in BLANK_WORDS or not t:
        return None, None
    rest, sense = _comparison(t)
    if sense is not None and direction is not None and sense != direction:
        want = "上限（≤）" if direction == "max" else "下限（≥）"
        return None, f"“{text}”与字段不符：此处应填{want}"
    m = _NUMBER.match(rest)
    if m is None:
        return None, f"“{text}”不是数字"
    value = float(m[1])
    tail = rest[m.end() :]
    if tail[:1] in MULTIPLIERS:
        value *= MULTIPLIERS[tail[0]]
        tail = tail[1:]
        if not tail and dimension == "wan":
            tail = "元"  # 1.2万 in a 万元 column is 1.2 万元, 3亿 is 3 亿元
    if not tail:
        if default_unit is not None and dimension is not None:
            factor = unit_factor(default_unit, dimension)
            value *= factor if factor is not None else 1.0
        return (value, None) if math.isfinite(value) else (None, f"“{text}”不是有效的数字")
    if dimension is None:
        return None, f"“{text}”含多余的内容“{tail}”"
    factor = unit_factor(tail, dimension)
    if factor is None:
        if dimension == "kva" and tail in ("kv", "千伏"):
            return None, f"“{text}”是电压等级（kV），不是供电容量；请填写容量，如 8000kVA"
        if dimension == "kva" and tail in ("kw", "千瓦", "mw", "兆瓦"):
            return None, f"“{text}”是有功功率（kW），不是视在容量；请换算为 kVA"
        return None, f"单位“{tail}”不是{UNIT_NAMES.get(dimension, dimension)}的单位"
    return value * factor, None


def far(text: str) -> tuple[tuple[float | None, float | None] | None, str | None]:
    """容积率 as written → ((lower, upper), a note on how it was read), or (None, why not).
    A bare number is read as the lower bound (the floor industrial land is held to)."""
    t = normalise(text)
    if t in BLANK_WORDS or not t:
        return (None, None), None
    t = t.removeprefix("容积率")
    m = _RANGE.match(t)
    if m:
        lo, hi = float(m[1]), float(m[2])
        return ((lo, hi), None) if lo <= hi else (None, f"容积率“{text}”的下限大于上限")
    rest, sense = _comparison(t)
    try:
        value = float(rest)
    except ValueError:
        return None, f"容积率“{text}”无法识别（应为 1.0-2.0、≥1.0、≤2.0 或一个数字）"
    if sense == "max":
        return (None, value), None
    if sense == "min":
        return (value, None), None
    return (value, None), "未注明上限或下限，按下限记录"
