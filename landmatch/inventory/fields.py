"""The editable parcel fields: kinds, ranges, vocabularies and Chinese column headers.

One table drives edits, imports (header recognition) and exports (headers of the 熟地清单).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from landmatch import vocab
from landmatch.inventory.land_use import LEASE_YEARS_MAX
from landmatch.inventory.quantities import unit_factor

Kind = Literal["text", "int", "num", "date", "bool", "code", "list"]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    kind: Kind = "text"
    aliases: tuple[str, ...] = ()
    vocab: dict[str, str] | None = None
    lo: float | None = None
    hi: float | None = None
    public: bool = False
    max_len: int = 500
    extra: dict[str, str] = field(default_factory=dict)  # synonyms → code
    # The shapefile (DBF) field name: pinyin initials of the Chinese name, as 国土 data has
    # them (DKBH 地块编号, TDYT 土地用途 …); at most 10 characters.
    shp: str = ""
    # The unit of a number (landmatch.inventory.quantities.UNITS) and the sense of a threshold
    # ("min": 不低于, "max": 不高于): values written with another unit or sense are converted
    # or refused.
    dimension: str | None = None
    direction: str | None = None


# The words docs/domain.md §11 and bureaus' lists use for the 七通一平 items (通水/通电/通气/通热/
# 通讯, 通路, 场地平整) and their common variants.
READINESS_SYNONYMS = {
    "通水": "water",
    "给水": "water",
    "供水": "water",
    "排水": "sewage",
    "通污水": "sewage",
    "污水": "sewage",
    "通气": "gas",
    "燃气": "gas",
    "供气": "gas",
    "通天然气": "gas",
    "通信": "telecom",
    "电信": "telecom",
    "供热": "heat",
    "通暖": "heat",
    "通道路": "road",
    "道路": "road",
    "供电": "power",
    "平整": "levelled",
    "土地平整": "levelled",
    "一平": "levelled",
}


def _number(
    name: str,
    label: str,
    shp: str,
    direction: str | None,
    hi: float,
    dimension: str | None = None,
    *aliases: str,
) -> Field:
    """A public number from 0 to ``hi``; a threshold of the plan or of the standard land has
    its sense (``"min"`` 不低于, ``"max"`` 不高于)."""
    return Field(
        name,
        label,
        "num",
        lo=0,
        hi=hi,
        public=True,
        shp=shp,
        dimension=dimension,
        direction=direction,
        aliases=aliases,
    )


def _utility(
    name: str, label: str, shp: str, dimension: str, hi: float, *aliases: str
) -> tuple[Field, Field]:
    """A utility's capacity and the day it was last confirmed, named after its short word (the
    last alias) and the capacity's DBF prefix: 供电 → 供电数据日期, GDRL → GDSJRQ."""
    return (
        _number(name, label, shp, None, hi, dimension, *aliases),
        Field(
            f"{name.partition('_')[0]}_as_of",
            f"{aliases[-1]}数据日期",
            "date",
            public=True,
            shp=f"{shp[:2]}SJRQ",
        ),
    )


FIELDS: tuple[Field, ...] = (
    Field(
        "code",
        "地块编号",
        aliases=(
            "宗地编号",
            "编号",
            "地块代码",
            "宗地代码",
            "parcel_code",
        ),
        public=True,
        max_len=64,
        shp="DKBH",
    ),
    Field(
        "name",
        "地块名称",
        aliases=(
            "名称",
            "宗地名称",
        ),
        public=True,
        shp="DKMC",
    ),
    Field(
        "city_code",
        "城市代码",
        "code",
        aliases=("所在市", "城市", "市", "city"),
        vocab=vocab.CITIES,
        public=True,
        shp="CSDM",
    ),
    Field(
        "county_code",
        "县区代码",
        aliases=(
            "区县代码",
            "county",
            "县（市、区）",
            "县(市、区)",
            "县（市区）",
            "县市区",
            "县区",
            "区县",
            "所在县区",
            "所属县区",
            "县（市、区）名称",
        ),
        public=True,
        max_len=6,
        shp="XZQDM",
    ),
    Field(
        "zone_code",
        "开发区编码",
        aliases=("开发区代码", "开发区", "zone"),
        public=True,
        max_len=40,
        shp="KFQBM",
    ),
    Field("address", "坐落", aliases=("地址", "位置"), public=True, shp="ZL"),
    Field(
        "status",
        "状态",
        "code",
        aliases=("地块状态", "土地状态"),
        vocab=vocab.PARCEL_STATUS,
        public=True,
        shp="DKZT",
    ),
    Field(
        "visibility", "公开范围", "code", aliases=("可见性",), vocab=vocab.VISIBILITY, shp="GKFW"
    ),
    # Read by landmatch.inventory.land_use (old GB/T 21010 and GB 50137 codes too).
    Field(
        "land_use",
        "用途",
        "code",
        aliases=(
            "用地用途",
            "土地用途",
            "地块用途",
            "用途代码",
            "用地分类",
            "用地性质",
            "土地性质",
            "规划用途",
            "地类编码",
        ),
        vocab=vocab.PARCEL_LAND_USE,
        public=True,
        shp="TDYT",
    ),
    # Each value read as 用途 is (landmatch.inventory.land_use: level-2 and old codes too).
    Field("compatible_uses", "兼容用途", "list", vocab=vocab.LAND_USE, public=True, shp="JRYT"),
    _number("far_min", "容积率下限", "RJLXX", "min", 20),
    _number("far_max", "容积率上限", "RJLSX", "max", 20),
    _number(
        "density_max", "建筑密度上限(%)", "JZMDSX", "max", 100, "pct", "建筑密度", "建筑密度上限"
    ),
    _number(
        "building_coeff_min",
        "建筑系数下限(%)",
        "JZXSXX",
        "min",
        100,
        "pct",
        "建筑系数",
        "建筑系数下限",
    ),
    _number(
        "green_ratio_max",
        "绿地率上限(%)",
        "LDLSX",
        "max",
        100,
        "pct",
        "绿地率",
        "绿化率",
        "绿地率上限",
    ),
    _number("height_max_m", "限高(米)", "XG", "max", 1000, "m", "限高", "建筑限高", "建筑高度"),
    Field("is_standard_land", "标准地", "bool", aliases=("是否标准地",), public=True, shp="SFBZD"),
    _number(
        "invest_intensity_min",
        "投资强度下限(万元/亩)",
        "TZQDXX",
        "min",
        100_000,
        "wan_per_mu",
        "投资强度",
        "固定资产投资强度",
        "投资强度下限",
    ),
    _number(
        "tax_per_mu_min",
        "亩均税收下限(万元/亩)",
        "MJSSXX",
        "min",
        10_000,
        "wan_per_mu",
        "亩均税收",
        "亩均税收下限",
    ),
    # Energy per value added (docs/domain.md §8: 吨标煤 per 万元 of 增加值, the match's
    # rule); 单位产值能耗上限 was its earlier label and is still read.
    _number(
        "energy_per_value_max",
        "单位增加值能耗上限(吨标煤/万元增加值)",
        "DWNHSX",
        "max",
        100,
        "tce_per_wan",
        "单位增加值能耗",
        "单位产值能耗上限",
    ),
    _number("emission_value_min", "单位排放增加值下限", "DWPFXX", "min", 100_000),
    Field("supply_modes", "供地方式", "list", vocab=vocab.SUPPLY_MODES, public=True, shp="GDFS"),
    Field(
        "lease_years",
        "出让年限",
        "int",
        aliases=(
            "年限",
            "出让年限",
            "使用年限",
        ),
        lo=1,
        hi=LEASE_YEARS_MAX,  # and at most the use's own ceiling (land_use.LEASE_CEILINGS)
        public=True,
        shp="CRNX",
        dimension="year",
    ),
    Field(
        "ref_price_wan_per_mu",
        "参考价格(万元/亩)",
        "num",
        aliases=(
            "参考价格",
            "参考价",
            "参考地价",
        ),
        lo=0,
        hi=100_000,
        public=True,
        shp="CKJG",
        dimension="wan_per_mu",
    ),
    Field("price_public", "价格公开", "bool", shp="JGGK"),
    Field(
        "reserve_price_wan_per_mu",
        "底价(万元/亩)",
        "num",
        lo=0,
        hi=100_000,
        shp="DJ",
        dimension="wan_per_mu",
    ),
    *_utility(
        "power_kva", "供电容量(kVA)", "GDRL", "kva", 10_000_000, "供电能力", "供电容量", "供电"
    ),
    *_utility("water_m3d", "供水能力(m³/d)", "GSNL", "m3d", 10_000_000, "供水能力", "供水"),
    *_utility(
        "sewage_m3d",
        "排水能力(m³/d)",
        "PSNL",
        "m3d",
        10_000_000,
        "排水能力",
        "污水处理能力",
        "排水",
    ),
    *_utility(
        "gas_m3d", "供气能力(m³/d)", "GQNL", "m3d", 10_000_000, "供气能力", "燃气供应能力", "供气"
    ),
    *_utility("heat_mw", "供热能力(MW)", "GRNL", "mw", 10_000, "供热能力", "供热"),
    Field("telecom_5g", "5G覆盖", "bool", public=True, shp="WGFG"),
    Field("fibre", "光纤接入", "bool", public=True, shp="GXJR"),
    Field("telecom_as_of", "通信数据日期", "date", public=True, shp="TXSJRQ"),
    Field(
        "readiness",
        "七通一平",
        "list",
        vocab=vocab.READINESS,
        public=True,
        extra=READINESS_SYNONYMS,
        shp="QTYP",
        aliases=(
            "七通一平情况",
            "基础设施配套",
            "配套情况",
            "通平情况",
            "土地开发程度",
            "开发程度",
        ),
    ),
    Field("checklist", "熟地核查项", "list", vocab=vocab.READY_CHECKLIST, shp="SDHCX"),
    Field("approval_doc_no", "批准文号", shp="PZWH"),
    Field("approval_batch", "批次", shp="PC"),
    Field("approval_date", "批准日期", "date", shp="PZRQ"),
    Field("supply_date", "供地日期", "date", shp="GDRQ"),
    Field("contract_no", "合同编号", shp="HTBH"),
    Field("contract_date", "合同签订日期", "date", shp="HTQDRQ"),
    Field(
        "holder",
        "用地单位",
        aliases=(
            "受让人",
            "竞得人",
        ),
        shp="YDDW",
    ),
    Field("land_price_wan", "成交价(万元)", "num", lo=0, hi=1e9, shp="CJJ", dimension="wan"),
    Field("agreed_start_date", "约定开工日期", "date", shp="YDKGRQ"),
    # The agreed start date is the deadline as extended by a disposal decision (Order 53
    # Art. 12 (1)): no further year of grace (landmatch.monitoring.idle).
    Field("start_extended", "开工期限已延长", "bool", shp="KGQXYYC"),
    Field("agreed_completion_date", "约定竣工日期", "date", shp="YDJGRQ"),
    Field("actual_start_date", "实际开工日期", "date", shp="SJKGRQ"),
    Field("stopped_since", "停工日期", "date", shp="TGRQ"),
    Field("total_investment_wan", "总投资(万元)", "num", lo=0, hi=1e9, shp="ZTZ", dimension="wan"),
    Field("invested_wan", "已投资(万元)", "num", lo=0, hi=1e9, shp="YTZ", dimension="wan"),
    Field("developed_ratio", "已开发比例", "num", lo=0, hi=1, shp="YKFBL"),
    Field("invest_ratio", "已投资比例", "num", lo=0, hi=1, shp="YTZBL"),
    Field("gov_caused", "政府原因", "bool", shp="ZFYY"),
    Field("gov_cause", "政府原因说明", shp="ZFYYSM"),
    Field("contact_name", "联系人", shp="LXR"),
    Field("contact_phone", "联系电话", max_len=40, shp="LXDH", aliases=("联系方式",)),
    Field(
        "notes",
        "备注",
        max_len=4000,
        shp="BZ",
        aliases=(
            "备注",
            "说明",
        ),
    ),
    Field("brochure_url", "宣传页", public=True, shp="XCY"),
    Field("data_updated_on", "数据更新日期", "date", public=True, shp="SJGXRQ"),
    Field(
        "declared_area_m2",
        "申报面积(平方米)",
        "num",
        aliases=("面积(平方米)", "面积(m2)", "面积(㎡)"),
        lo=0,
        hi=1e9,
        shp="SBMJ",
        dimension="m2",
    ),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# The dates on which each utility's capacity (or availability) was last confirmed.
UTILITY_DATES = (
    "power_as_of",
    "water_as_of",
    "sewage_as_of",
    "gas_as_of",
    "heat_as_of",
    "telecom_as_of",
)

# 七通一平 and its siblings as bureaus write them: the bundle → the items it stands for
# (docs/domain.md §11: 通水/通电/通气/通热/通讯, 通路, 场地平整) [GK]; 九通一平 adds rain water
# and cable television, which the inventory does not keep apart.
READINESS_BUNDLES: dict[str, tuple[str, ...]] = {
    "三通一平": ("water", "power", "road", "levelled"),
    "五通一平": ("water", "power", "road", "gas", "telecom", "levelled"),
    "七通一平": ("road", "power", "water", "sewage", "telecom", "gas", "heat", "levelled"),
    "九通一平": ("road", "power", "water", "sewage", "telecom", "gas", "heat", "levelled"),
}

# Columns written by exports or GIS tools that carry no input: accepted and ignored.
IGNORED_HEADERS = frozenset(
    {
        "fid",
        "序号",
        "编号序号",
        "no.",
        "ogc_fid",
        "objectid",
        "id",
        "shape_leng",
        "shape_area",
        "shape_length",
        "area_m2",
        "计算面积(平方米)",
        "城市名称",
        "县区名称",
        "city_name",
        "zone_name",
        "开发区名称",
        "状态名称",
        "用途名称",
        "zone_id",
        "version",
        "updated_at",
        "updated_by",
        "created_at",
        "import_id",
        "计算面积(亩)",
        "计算面积(公顷)",
        "预留",
        "mj_mu",
        "mj_gq",
        "csmc",
        "xzqmc",
        "county_name",
        "calc_area_mu",
        "calc_area_ha",
    }
)
GEOMETRY_HEADERS = ("wkt", "geometry", "geom", "几何", "几何(wkt)", "坐标(wkt)", "图形")
LON_HEADERS = ("lon", "lng", "longitude", "经度", "x", "中心点经度", "中心经度", "中心点x")
LAT_HEADERS = ("lat", "latitude", "纬度", "y", "中心点纬度", "中心纬度", "中心点y")
# A declared area: a header such as 面积(亩), 宗地面积（公顷）, or 面积 over 亩 in a two-level
# header; the unit gives the factor to m².
AREA_BASES = ("面积", "宗地面积", "用地面积", "地块面积", "出让面积", "土地面积", "申报面积", "")

COLUMN_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS if f.name != "zone_code")
#: Field name → shapefile (DBF) field name.
SHP_NAMES: dict[str, str] = {f.name: f.shp for f in FIELDS}


def norm(header: object) -> str:
    """A header as compared: full-width forms as ASCII (NFKC), lower case, no spaces."""
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    return re.sub(r"\s+", "", text)


def _split_unit(header: str) -> tuple[str, str | None]:
    """``供电能力(kVA)`` → (``供电能力``, ``kva``), on a normalised header."""
    m = re.fullmatch(r"(.*?)\(([^()]*)\)", header)
    return (m[1], m[2]) if m else (header, None)


def _short_names() -> dict[str, str]:
    """The 10-character English DBF names earlier exports wrote (recognised on import)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for f in FIELDS:
        short = f.name[:10]
        k = 1
        while short in used:
            short = f"{f.name[:9]}{k}"
            k += 1
        used.add(short)
        out[f.name] = short
    return out


_HEADER_MAP: dict[str, str] = {}
for _f in FIELDS:
    for _h in (_f.name, _f.label, *_f.aliases, _f.shp):
        _HEADER_MAP.setdefault(norm(_h), _f.name)
    # A label with its unit (供电容量(kVA)) is also known by its base (供电容量).
    _HEADER_MAP.setdefault(_split_unit(norm(_f.label))[0], _f.name)
for _name, _short in _short_names().items():
    _HEADER_MAP.setdefault(norm(_short), _name)
#: 容积率 as one column (1.0-2.0, ≥1.0): read into 容积率下限 and 容积率上限.
FAR_HEADERS = frozenset({norm("容积率"), norm("规划容积率")})


@dataclass(frozen=True)
class Header:
    """What a column header says: a field (with the unit the header names) or a declared area
    (its factor to m²), the 容积率 range, a column to ignore — or nothing known."""

    field: str | None = None
    unit: str | None = None  # for a field with a dimension
    area_factor: float | None = None
    far: bool = False
    ignored: bool = False


def read_header(header: object) -> Header:
    """Recognise a column header (Chinese label, alias, English or shapefile name, with or
    without a unit in brackets)."""
    h = norm(header)
    if h in _HEADER_MAP:
        return Header(field=_HEADER_MAP[h])
    if h in FAR_HEADERS:
        return Header(far=True)
    if h in {norm(x) for x in IGNORED_HEADERS}:
        return Header(ignored=True)
    base, unit = _split_unit(h)
    if unit is not None:
        factor = _area_factor(base, unit)
        if factor is not None:
            return Header(area_factor=factor)
        name = _HEADER_MAP.get(base)
        dim = BY_NAME[name].dimension if name else None
        if name and dim and (unit_factor(unit, dim) is not None):
            return Header(field=name, unit=unit)
        if base in FAR_HEADERS and unit in ("", "-", "—"):
            return Header(far=True)
    for unit in ("亩", "公顷", "平方米", "m2", "㎡", "area_mu", "area_ha"):
        if h == unit:
            return Header(area_factor=_area_factor("", unit.removeprefix("area_")))
    return Header()


def _area_factor(base: str, unit: str) -> float | None:
    if base not in AREA_BASES:
        return None
    unit = {"mu": "亩", "ha": "公顷"}.get(unit, unit)
    return unit_factor(unit, "m2")


def field_for_header(header: str) -> str | None:
    """The field a column header names (English name, Chinese label or alias), or None."""
    return _HEADER_MAP.get(norm(header))


def suggest(header: object) -> str | None:
    """The known header closest to an unrecognised one (a typo, a near synonym), or None; of
    equally close ones, the field that comes first."""
    h = norm(header)
    order = {f.name: k for k, f in enumerate(FIELDS)}
    known = [(k, BY_NAME[v].label, order[v]) for k, v in _HEADER_MAP.items() if not k.isascii()]
    known += [(k, "容积率", order["far_min"]) for k in FAR_HEADERS]
    best: tuple[float, int, str] | None = None
    for key, label, rank in known:
        score = difflib.SequenceMatcher(None, h, key).ratio()
        if len(key) >= 2 and key in h:  # a known name inside a longer header: 地块编号（必填）
            score = max(score, 0.9)
        if score >= 0.5 and (best is None or (score, -rank) > (best[0], -best[1])):
            best = (score, rank, label)
    return best[2] if best else None


def label_of(name: str) -> str:
    """The Chinese name of a field (or of the geometry) as messages quote it."""
    if name in BY_NAME:
        return BY_NAME[name].label
    return {"geometry": "几何图形", "geom": "几何图形", "zone_id": "开发区"}.get(name, name)


def shown_value(name: str, value: object) -> str:
    """A stored value as a report shows it: labels for codes, 是/否, （空）."""
    f = BY_NAME.get(name)
    if value is None or value == [] or value == "":
        return "（空）"
    words = vocab.PARCEL_LAND_USE if name == "land_use" else (f.vocab if f else None)
    if isinstance(value, list):
        return "、".join(str(words.get(v, v)) if words else str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if words and isinstance(value, str):
        return f"{words.get(value, value)}（{value}）" if value in words else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_geometry_header(header: str) -> bool:
    return norm(header) in GEOMETRY_HEADERS


def is_lon_header(header: str) -> bool:
    return norm(header) in LON_HEADERS


def is_lat_header(header: str) -> bool:
    return norm(header) in LAT_HEADERS


def code_for(f: Field, value: str) -> str | None:
    """A vocabulary value given as code, Chinese label or synonym → the code, else None."""
    assert f.vocab is not None
    return vocab.code_of(f.vocab, value) or f.extra.get(value.strip())


# What the holder of a granted parcel agreed to and has done with it (the facts Order 53's
# idle-land test reads, docs/domain.md §5): shown under 监管, and cleared with the grant when the
# land is taken back (landmatch.monitoring.cases).
PROGRESS_FIELDS = (
    "agreed_start_date",
    "agreed_completion_date",
    "actual_start_date",
    "stopped_since",
    "total_investment_wan",
    "invested_wan",
    "developed_ratio",
    "invest_ratio",
)

# The fields as staff think of them (parcel page, edit form): group title → field names.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "基本信息",
        (
            "code",
            "name",
            "city_code",
            "county_code",
            "zone_code",
            "address",
            "status",
            "visibility",
            "land_use",
            "compatible_uses",
            "declared_area_m2",
            "data_updated_on",
            "contact_name",
            "contact_phone",
            "brochure_url",
            "notes",
        ),
    ),
    (
        "规划条件",
        (
            "far_min",
            "far_max",
            "density_max",
            "building_coeff_min",
            "green_ratio_max",
            "height_max_m",
        ),
    ),
    (
        "标准地指标",
        (
            "is_standard_land",
            "invest_intensity_min",
            "tax_per_mu_min",
            "energy_per_value_max",
            "emission_value_min",
        ),
    ),
    (
        "配套设施",
        (
            "power_kva",
            "power_as_of",
            "water_m3d",
            "water_as_of",
            "sewage_m3d",
            "sewage_as_of",
            "gas_m3d",
            "gas_as_of",
            "heat_mw",
            "heat_as_of",
            "telecom_5g",
            "fibre",
            "telecom_as_of",
            "readiness",
            "checklist",
        ),
    ),
    (
        "供地与价格",
        (
            "supply_modes",
            "lease_years",
            "ref_price_wan_per_mu",
            "price_public",
            "reserve_price_wan_per_mu",
            "land_price_wan",
        ),
    ),
    (
        "监管",
        (
            "approval_doc_no",
            "approval_batch",
            "approval_date",
            "supply_date",
            "contract_no",
            "contract_date",
            "holder",
            *PROGRESS_FIELDS,
            "start_extended",
            "gov_caused",
            "gov_cause",
        ),
    ),
)


def split_label(name: str) -> tuple[str, str]:
    """A field's label without its unit, and the unit: ``限高(米)`` → (限高, 米)."""
    label = BY_NAME[name].label
    if label.endswith(")") and "(" in label:
        head, _, unit = label[:-1].rpartition("(")
        return head, unit
    return label, ""
