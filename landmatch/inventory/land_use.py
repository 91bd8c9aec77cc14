"""Land-use codes as offices write them, read as the inventory's 用地用海分类 (2023) codes.

The inventory stores 用地用海分类 codes (``vocab.LAND_USE``; level 3 where the guide has one,
e.g. 100102). Files still carry older codes: GB/T 21010-2017 《土地利用现状分类》 (and the
三调 working classes, e.g. 0508), and the planning codes of GB 50137-2011 (M1, W2 …).
:data:`CROSSWALK` is the one table of them (docs/domain.md §3): each old code with its name and
the inventory code it becomes — or, where the classes are not one-to-one, ``None`` and why.

Three kinds of entry:

* one-to-one (M1 → 100101, 0602 → 1002): read silently;
* one-to-one at the class level, stored as the class's default sub-class (0601 工业用地 →
  1001 → 100102, as the generic name 工业用地 is), or as the inventory's broader class
  (0501 零售商业用地 → 090101 → 0901 商业用地): read, and the import report says so;
* not one-to-one (0604 仓储用地 is 1101 物流仓储 *or* 1102 储备库), or outside the inventory's
  land uses: refused with the reason, so the office writes a 用地用海 code.

Codes that mean something else in the 2023 guide are read as the 2023 code when the inventory
knows it (0802 is 科研用地, not GB/T 21010's 新闻出版用地; 0901 is 商业用地, not 军事设施用地).
0804 is 教育用地 in the guide and 科研用地 in GB/T 21010, both plausible uses of a parcel: it
is refused as ambiguous. The 2023 classes 05 (湿地) and 06 (农业设施建设用地), whose codes
0501–0507 and 0601–0604 collide with GB/T 21010's, are no uses of this inventory: such codes
are read as GB/T 21010.

Examples
--------
>>> read("M2"), read("0602"), read("二类工业用地"), read("100102")
(('100102', None), ('1002', None), ('100102', None), ('100102', None))
>>> read("0601")[0], read("0601")[1]
('100102', '用途“0601”（GB/T 21010-2017 工业用地）对应用地用海分类 1001 工业用地，未分一、二、三类，按 100102 二类工业用地记录')
>>> read("0604")
(None, '用途“0604”（GB/T 21010-2017 仓储用地）与用地用海分类不是一一对应：可能是 1101 物流仓储用地，也可能是 1102 储备库用地；请填写用地用海分类代码（如 110102）')
>>> read("地上")
(None, None)
"""

from __future__ import annotations

from dataclasses import dataclass

from landmatch import vocab

GBT21010 = "GB/T 21010-2017"
SANDIAO = "三调工作分类"
GB50137 = "GB 50137-2011"


@dataclass(frozen=True, slots=True)
class Crosswalk:
    code: str  # as written in files
    standard: str
    name: str  # its name in that standard
    target: str | None  # the inventory's 用地用海 code; None: refused
    note: str = ""  # how it is read (target) or why it is refused (no target)


def _default(cls: str, name: str, sub: str) -> str:
    return f"对应用地用海分类 {cls} {name}，未分一、二、三类，按 {sub} {vocab.LAND_USE[sub]}记录"


def _within(guide: str, name: str, ours: str) -> str:
    return (
        f"对应用地用海分类 {guide} {name}，属 {ours} {vocab.LAND_USE[ours]}，"
        f"按 {ours} {vocab.LAND_USE[ours]}记录"
    )


def _outside(guide: str) -> str:
    return f"对应用地用海分类 {guide}，不是本系统管理的用途（工矿、仓储、商服、科研、公用设施等）"


#: The one table of old land-use codes (docs/domain.md §3). [GK] where the standards were
#: read from general knowledge; the one-to-one lines are the 三调 crosswalk of §4.1.
CROSSWALK: tuple[Crosswalk, ...] = (
    # GB/T 21010-2017 土地利用现状分类: 05 商服用地, 06 工矿仓储用地, 08 公共管理与公共服务用地.
    Crosswalk("0501", GBT21010, "零售商业用地", "0901", _within("090101", "零售商业用地", "0901")),
    Crosswalk("0502", GBT21010, "批发市场用地", "0901", _within("090102", "批发市场用地", "0901")),
    Crosswalk("0503", GBT21010, "餐饮用地", "0901", _within("090103", "餐饮用地", "0901")),
    Crosswalk("0504", GBT21010, "旅馆用地", "0901", _within("090104", "旅馆用地", "0901")),
    Crosswalk("0505", GBT21010, "商务金融用地", "0902"),
    Crosswalk("0506", GBT21010, "娱乐用地", None, _outside("0903 娱乐用地")),
    Crosswalk(
        "0507",
        GBT21010,
        "其他商服用地",
        None,
        "与用地用海分类不是一一对应：可能是 0904 其他商业服务业用地，也可能是 0901 商业用地下的"
        "公用设施营业网点等",
    ),
    Crosswalk("0601", GBT21010, "工业用地", "100102", _default("1001", "工业用地", "100102")),
    Crosswalk("0602", GBT21010, "采矿用地", "1002"),
    Crosswalk("0603", GBT21010, "盐田", None, _outside("1003 盐田")),
    Crosswalk(
        "0604",
        GBT21010,
        "仓储用地",
        None,
        "与用地用海分类不是一一对应：可能是 1101 物流仓储用地，也可能是 1102 储备库用地",
    ),
    Crosswalk(
        "0804",
        GBT21010,
        "科研用地",
        None,
        "在用地用海分类中 0804 是教育用地，在 GB/T 21010 中是科研用地，无法判断；科研用地请写 0802",
    ),
    Crosswalk(
        "0809",
        GBT21010,
        "公用设施用地",
        None,
        "与用地用海分类不是一一对应：对应 13 公用设施用地下的 1301–1312 多个二级类（如 1303 供电用地）",
    ),
    # 三调工作分类 (the third land survey's working classes).
    Crosswalk(
        "0508", SANDIAO, "物流仓储用地", "110102", _default("1101", "物流仓储用地", "110102")
    ),
    Crosswalk(
        "05H1",
        SANDIAO,
        "商业服务业设施用地",
        None,
        "与用地用海分类不是一一对应：对应 09 商业服务业用地下的多个二级类（0901 商业用地、"
        "0902 商务金融用地 …）",
    ),
    Crosswalk(
        "08H1",
        SANDIAO,
        "机关团体新闻出版用地",
        None,
        _outside("0801 机关团体用地 等"),
    ),
    Crosswalk(
        "08H2",
        SANDIAO,
        "科教文卫用地",
        None,
        "与用地用海分类不是一一对应：含 0802 科研用地、0803 文化用地、0804 教育用地、"
        "0806 医疗卫生用地 等",
    ),
    # GB 50137-2011 城市用地分类与规划建设用地标准.
    Crosswalk("M", GB50137, "工业用地", "100102", _default("1001", "工业用地", "100102")),
    Crosswalk("M1", GB50137, "一类工业用地", "100101"),
    Crosswalk("M2", GB50137, "二类工业用地", "100102"),
    Crosswalk("M3", GB50137, "三类工业用地", "100103"),
    Crosswalk("W", GB50137, "物流仓储用地", "110102", _default("1101", "物流仓储用地", "110102")),
    Crosswalk("W1", GB50137, "一类物流仓储用地", "110101"),
    Crosswalk("W2", GB50137, "二类物流仓储用地", "110102"),
    Crosswalk("W3", GB50137, "三类物流仓储用地", "110103"),
    Crosswalk("B1", GB50137, "商业用地", "0901"),
    Crosswalk("B2", GB50137, "商务用地", "0902", "对应用地用海分类 0902 商务金融用地"),
    Crosswalk(
        "B3",
        GB50137,
        "娱乐康体用地",
        None,
        "与用地用海分类不是一一对应：可能是 0903 娱乐用地，也可能是 0805 体育用地",
    ),
    Crosswalk(
        "B4",
        GB50137,
        "公用设施营业网点用地",
        "0901",
        _within("090105", "公用设施营业网点用地", "0901"),
    ),
    Crosswalk("B9", GB50137, "其他服务设施用地", None, _outside("0904 其他商业服务业用地 等")),
    Crosswalk("A35", GB50137, "科研用地", "0802"),
    Crosswalk("U11", GB50137, "供水用地", None, _outside("1301 供水用地")),
    Crosswalk("U12", GB50137, "供电用地", "1303"),
    Crosswalk("U13", GB50137, "供燃气用地", "1304"),
    Crosswalk("U14", GB50137, "供热用地", "1305"),
    Crosswalk(
        "U15",
        GB50137,
        "通信用地",
        None,
        "与用地用海分类不是一一对应：含邮政与电信，对应 1306 通信用地 与 1307 邮政用地",
    ),
)
BY_CODE: dict[str, Crosswalk] = {c.code: c for c in CROSSWALK}

# Generic names files use for the 用地用海 classes the inventory keeps by sub-class (a level-2
# name or code): read as the default sub-class, and the import report says so.
GENERIC: dict[str, tuple[str, str]] = {
    "工业用地": ("100102", _default("1001", "工业用地", "100102")),
    "工业": ("100102", _default("1001", "工业用地", "100102")),
    "1001": ("100102", _default("1001", "工业用地", "100102")),
    "物流仓储用地": ("110102", _default("1101", "物流仓储用地", "110102")),
    "仓储用地": ("110102", _default("1101", "物流仓储用地", "110102")),
    "1101": ("110102", _default("1101", "物流仓储用地", "110102")),
}


@dataclass(frozen=True, slots=True)
class LeaseCeiling:
    prefix: str  # 用地用海 codes starting with it ("" for every other use)
    category: str  # the use as the regulation names it
    years: int


#: The longest transfer term (出让年限) of each use, 《城镇国有土地使用权出让和转让暂行条例》
#: (国务院令第55号) Art. 12 [GK], docs/domain.md §10: the one table. A code takes the entry of
#: its longest matching prefix; uses the article does not name (仓储, 公用设施, 留白) are
#: 综合或者其他用地 [GK?: some cities treat 仓储 as 工业 — 50 years either way].
LEASE_CEILINGS: tuple[LeaseCeiling, ...] = (
    LeaseCeiling("07", "居住用地", 70),
    LeaseCeiling("08", "教育、科技、文化、卫生、体育用地", 50),
    LeaseCeiling("09", "商业、旅游、娱乐用地", 40),
    LeaseCeiling("10", "工业用地", 50),
    LeaseCeiling("", "综合或者其他用地", 50),
)
#: The longest term of any use (the 出让年限 field's own range).
LEASE_YEARS_MAX = max(c.years for c in LEASE_CEILINGS)


def lease_ceiling(code: str | None) -> LeaseCeiling | None:
    """The transfer-term ceiling of a stored land-use code; None for 待定 or no code.

    >>> lease_ceiling("100102").years, lease_ceiling("0901").years, lease_ceiling("110103").years
    (50, 40, 50)
    """
    if not code or code == vocab.LAND_USE_PENDING:
        return None
    return max(
        (c for c in LEASE_CEILINGS if code.startswith(c.prefix)), key=lambda c: len(c.prefix)
    )


def lease_ceiling_sql(column: str) -> str:
    """:func:`lease_ceiling`'s years in SQL over a land-use code ``column`` (NULL for 待定 or no
    code): the same table, longest prefix first."""
    ordered = sorted(LEASE_CEILINGS, key=lambda c: -len(c.prefix))
    whens = " ".join(
        f"WHEN {column} LIKE '{c.prefix}%' THEN {c.years}" for c in ordered if c.prefix
    )
    rest = next(c.years for c in LEASE_CEILINGS if not c.prefix)
    return (
        f"(CASE WHEN {column} IS NULL OR {column} = '{vocab.LAND_USE_PENDING}' THEN NULL "
        f"{whens} ELSE {rest} END)"
    )


def over_ceiling(code: str | None, years: int | None) -> str | None:
    """Why a term is over the ceiling of its use ("出让年限 70 年超过工业用地最高 50 年"), or None.

    >>> over_ceiling("100102", 70), over_ceiling("0901", 40), over_ceiling(None, 70)
    ('出让年限 70 年超过工业用地最高 50 年', None, None)
    """
    ceiling = lease_ceiling(code)
    if years is None or ceiling is None or int(years) <= ceiling.years:
        return None
    return f"出让年限 {int(years)} 年超过{ceiling.category}最高 {ceiling.years} 年"


def read(value: str, label: str = "用途") -> tuple[str | None, str | None]:
    """A land use as written → (the inventory's code, a note for the report): the note says
    how a generic name or an old code was read; with no code, the note (if any) is the reason
    it is refused. ``(None, None)``: not a land use at all. ``label`` is the column the notes
    name (用途, or 兼容用途 for each of a parcel's compatible uses).

    >>> read("1101", "兼容用途")
    ('110102', '兼容用途“1101”对应用地用海分类 1101 物流仓储用地，未分一、二、三类，按 110102 二类物流仓储用地记录')
    """
    v = value.strip()
    code = vocab.code_of(vocab.PARCEL_LAND_USE, v)
    if code is not None:
        return code, None
    if v in GENERIC:
        target, note = GENERIC[v]
        return target, f"{label}“{v}”{note}"
    entry = BY_CODE.get(v.upper())
    if entry is None:
        return None, None
    said = f"{label}“{v}”（{entry.standard} {entry.name}）"
    if entry.target is None:
        return None, f"{said}{entry.note}；请填写用地用海分类代码（如 110102）"
    if entry.note:
        return entry.target, f"{said}{entry.note}"
    return entry.target, None
