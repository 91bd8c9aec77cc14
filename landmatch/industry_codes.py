"""GB/T 4754-2017 国民经济行业分类: the full table (门类, 大类, 中类, 小类) as package data, codes
accepted at any level, search for the picker, and what the engine derives from a code.

The table is ``landmatch/data/gbt4754_2017.csv`` (code, level, parent, name): 20 门类 (letters),
97 大类 (2 digits), 473 中类 (3 digits), 1,381 小类 (4 digits). A 中类 without subdivisions
has one 小类 of the same name ending in 0 (3670 under 367).

A code may be written with or without its 门类 letter and at any level: ``C``, ``36``,
``367``, ``3670``, ``C3670``. :func:`normalize` returns the canonical form (the letter for a
门类, the digits otherwise) or raises :class:`~landmatch.errors.UnprocessableInput`.

Derived from the most specific level known:

* :func:`pollution_class` — an override for the class or group when one is listed in
  ``_POLLUTION`` (electroplating, tanning, dyeing, foundries …), else the division's default
  (``vocab.INDUSTRIES``), else unknown (None);
* :func:`kind` — logistics / research, by division (``vocab.LOGISTICS_INDUSTRIES`` …), which
  decides the land uses in ``landmatch.match.rules.allowed_land_uses``;
* :func:`related` — zone-industry fit and policy industries: a zone leading ``36`` fits a
  ``3670`` project, a policy for ``3670`` does not apply to a project known only as ``36``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from landmatch import vocab
from landmatch.errors import UnprocessableInput
from landmatch.resources import data_rows

LEVEL_NAMES = {1: "门类", 2: "大类", 3: "中类", 4: "小类"}

# Pollution class (一/二/三类工业, and for storage 一/二/三类物流仓储) where a group or class
# differs from its division's default (vocab.INDUSTRIES). Looked up from the most specific code
# upwards.
_POLLUTION: dict[str, int] = {
    "1713": 3,  # 棉印染精加工
    "1723": 3,  # 毛染整精加工
    "1733": 3,  # 麻染整精加工
    "1743": 3,  # 丝印染精加工
    "1752": 3,  # 化纤织物染整精加工
    "1762": 3,  # 针织或钩针编织物印染精加工
    "1910": 3,  # 皮革鞣制加工
    "1931": 3,  # 毛皮鞣制加工
    "223": 1,  # 纸制品制造 (no pulping)
    "268": 2,  # 日用化学产品制造
    "2710": 3,  # 化学药品原料药制造
    "2770": 1,  # 卫生材料及医药用品制造
    "3011": 3,  # 水泥制造
    "3041": 3,  # 平板玻璃制造
    "3091": 3,  # 石墨及碳素制品制造
    "3360": 3,  # 金属表面处理及热处理加工 (electroplating)
    "3391": 3,  # 黑色金属铸造
    "3392": 3,  # 有色金属铸造
    "3843": 3,  # 铅蓄电池制造
    "3973": 2,  # 集成电路制造
    "4120": 3,  # 核辐射加工
    "594": 3,  # 危险品仓储 (油气, 危险化学品 …): 三类物流仓储 is for hazardous goods
}

Kind = Literal["logistics", "research"]


@dataclass(frozen=True)
class Industry:
    code: str  # canonical: letter for a 门类, digits otherwise
    level: int  # 1 门类, 2 大类, 3 中类, 4 小类
    name: str
    parent: str | None

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def section(self) -> str:
        """The 门类 letter."""
        return self.code if self.level == 1 else _table()[1][self.code[:2]]

    @property
    def division(self) -> str | None:
        """The 2-digit 大类, None for a 门类."""
        return None if self.level == 1 else self.code[:2]

    @property
    def display(self) -> str:
        """The code as project sheets write it (C3670) with its name."""
        return f"{self.full_code} {self.name}"

    @property
    def full_code(self) -> str:
        return self.code if self.level == 1 else self.section + self.code

    def lineage(self) -> list[Industry]:
        """门类 → … → this code."""
        out = [self]
        while out[0].parent:
            out.insert(0, get(out[0].parent))
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "full_code": self.full_code,
            "level": self.level,
            "level_name": self.level_name,
            "name": self.name,
            "path": " › ".join(f"{i.full_code} {i.name}" for i in self.lineage()),
        }


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, Industry], dict[str, str]]:
    """(code → Industry, division → 门类 letter)."""
    rows: dict[str, Industry] = {}
    section_of: dict[str, str] = {}
    for r in data_rows("gbt4754_2017.csv"):
        ind = Industry(r["code"], int(r["level"]), r["name"], r["parent"] or None)
        rows[ind.code] = ind
        if ind.level == 2:
            section_of[ind.code] = r["parent"]
    return rows, section_of


def all_codes() -> list[Industry]:
    return list(_table()[0].values())


_CODE = re.compile(r"([A-Ta-t])?(\d{2,4})?")


def normalize(raw: str) -> str:
    """The canonical code for ``raw`` (``C``, ``36``, ``367``, ``3670``, ``C3670``, ``c 3670``);
    raises UnprocessableInput naming the code when it is not in the table."""
    v = re.sub(r"\s+", "", str(raw or ""))
    m = _CODE.fullmatch(v)
    if not v or m is None:
        raise UnprocessableInput(
            f"行业代码 {raw!s} 格式不对：应为 GB/T 4754-2017 的门类字母或 2–4 位数字，"
            "如 C、36、367、3670、C3670"
        )
    letter, digits = (m.group(1) or "").upper(), m.group(2)
    code = digits or letter
    rows = _table()[0]
    if code not in rows:
        raise UnprocessableInput(f"GB/T 4754-2017 中没有行业代码 {raw!s}")
    if letter and digits and rows[code].section != letter:
        raise UnprocessableInput(
            f"行业代码 {raw!s} 的门类字母不对：{digits} 属于门类 {rows[code].section}"
        )
    return code


def get(code: str) -> Industry:
    """The entry for a code at any level (normalized first)."""
    return _table()[0][normalize(code)]


def name(code: str | None) -> str | None:
    """The Chinese name of a code, or the code itself when unknown."""
    if code is None:
        return None
    try:
        return get(code).name
    except UnprocessableInput:
        return code


def unknown(codes: list[str]) -> list[str]:
    """The codes (any level, with or without letter) that are not in the table."""
    out = []
    for c in codes:
        try:
            normalize(c)
        except UnprocessableInput:
            out.append(c)
    return out


def search(q: str, limit: int = 20) -> list[Industry]:
    """The picker's matches for a code or a name: exact code first, then codes starting with
    the query, then names starting with it, then names containing it; specific levels and
    codes in order within each band."""
    q = re.sub(r"\s+", "", q or "")
    if not q:
        return []
    rows = _table()[0]
    try:
        exact = normalize(q)
    except UnprocessableInput:
        exact = None
    m = re.fullmatch(r"[A-Ta-t]?(\d+)", q)
    digits = m.group(1) if m else None
    scored: list[tuple[int, str, Industry]] = []
    for code, ind in rows.items():
        if code == exact:
            band = 0
        elif digits and ind.level > 1 and code.startswith(digits):
            band = 1
        elif ind.name.startswith(q):
            band = 2
        elif q in ind.name:
            band = 3
        else:
            continue
        scored.append((band, code, ind))
    scored.sort(key=lambda t: (t[0], len(t[1]) if t[0] == 1 else 0, t[1]))
    return [ind for _, _, ind in scored[:limit]]


def pollution_class(code: str | None) -> int | None:
    """一/二/三类 from the most specific level listed: the class, its group, its division;
    None when unknown (a 门类, or a division the engine holds no default for)."""
    if code is None:
        return None
    c = normalize(code)
    if not c.isdigit():
        return None
    for k in (c, c[:3], c[:2]):
        if k in _POLLUTION:
            return _POLLUTION[k]
    d = vocab.INDUSTRIES.get(c[:2])
    return d[1] if d else None


def kind(code: str | None) -> Kind | None:
    """logistics / research when the code's division is one, else None."""
    if code is None:
        return None
    c = normalize(code)
    if c[:2] in vocab.LOGISTICS_INDUSTRIES:
        return "logistics"
    if c[:2] in vocab.RESEARCH_INDUSTRIES:
        return "research"
    return None


def is_manufacturing(code: str) -> bool:
    return get(code).section == "C"


def related(project: str, listed: str) -> bool:
    """True when a project's code falls within a listed code (a zone's leading industry, a
    policy's industry): ``3670`` within ``36``, ``36`` within ``C``. A listed code more
    specific than the project's is not a match (it may or may not apply)."""
    p, lst = get(project), get(listed)
    if lst.level == 1:
        return p.section == lst.code
    return p.level > 1 and p.code.startswith(lst.code)
