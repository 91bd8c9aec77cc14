"""The editable parcel fields: kinds, ranges, vocabularies and Chinese column headers.

One table drives edits, imports (header recognition) and exports (headers of the 熟地清单).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from landmatch import vocab

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


# Synonyms seen in files for the generic 用地用海 names (mapped to the default class).
LAND_USE_SYNONYMS = {
    "工业用地": "100102",
    "工业": "100102",
    "物流仓储用地": "110102",
    "仓储用地": "110102",
    "1001": "100102",
    "1101": "110102",
}

# The words domain-rules §10 and bureaus' lists use for the 七通一平 items (通水/通电/通气/通热/
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

FIELDS: tuple[Field, ...] = (
    Field(
        "code",
        "地块编号",
        aliases=("宗地编号", "编号", "地块代码", "parcel_code"),
        public=True,
        max_len=64,
    ),
    Field("name", "地块名称", aliases=("名称", "宗地名称"), public=True),
    Field(
        "city_code",
        "城市代码",
        "code",
        aliases=("所在市", "城市", "市", "city"),
        vocab=vocab.CITIES,
        public=True,
    ),
    Field("county_code", "县区代码", aliases=("区县代码", "county"), public=True, max_len=6),
    Field(
        "zone_code", "开发区编码", aliases=("开发区代码", "开发区", "zone"), public=True, max_len=40
    ),
    Field("address", "坐落", aliases=("地址", "位置"), public=True),
    Field(
        "status",
        "状态",
        "code",
        aliases=("地块状态", "土地状态"),
        vocab=vocab.PARCEL_STATUS,
        public=True,
    ),
    Field("visibility", "公开范围", "code", aliases=("可见性",), vocab=vocab.VISIBILITY),
    Field(
        "land_use",
        "用途",
        "code",
        aliases=("用地用途", "土地用途", "地块用途", "用途代码", "用地分类"),
        vocab=vocab.LAND_USE,
        public=True,
        extra=LAND_USE_SYNONYMS,
    ),
    Field("compatible_uses", "兼容用途", "list", vocab=vocab.LAND_USE, public=True),
    Field("far_min", "容积率下限", "num", lo=0, hi=20, public=True),
    Field("far_max", "容积率上限", "num", lo=0, hi=20, public=True),
    Field("density_max", "建筑密度上限(%)", "num", lo=0, hi=100, public=True),
    Field("building_coeff_min", "建筑系数下限(%)", "num", lo=0, hi=100, public=True),
    Field("green_ratio_max", "绿地率上限(%)", "num", lo=0, hi=100, public=True),
    Field("height_max_m", "限高(米)", "num", lo=0, hi=1000, public=True),
    Field("is_standard_land", "标准地", "bool", aliases=("是否标准地",), public=True),
    Field("invest_intensity_min", "投资强度下限(万元/亩)", "num", lo=0, hi=100_000, public=True),
    Field("tax_per_mu_min", "亩均税收下限(万元/亩)", "num", lo=0, hi=10_000, public=True),
    Field("energy_per_value_max", "单位产值能耗上限", "num", lo=0, hi=100, public=True),
    Field("emission_value_min", "单位排放增加值下限", "num", lo=0, hi=100_000, public=True),
    Field("supply_modes", "供地方式", "list", vocab=vocab.SUPPLY_MODES, public=True),
    Field("lease_years", "出让年限", "int", aliases=("年限",), lo=1, hi=70, public=True),
    Field(
        "ref_price_wan_per_mu",
        "参考价格(万元/亩)",
        "num",
        aliases=("参考价格",),
        lo=0,
        hi=100_000,
        public=True,
    ),
    Field("price_public", "价格公开", "bool"),
    Field("reserve_price_wan_per_mu", "底价(万元/亩)", "num", lo=0, hi=100_000),
    Field("power_kva", "供电容量(kVA)", "num", lo=0, hi=10_000_000, public=True),
    Field("power_as_of", "供电数据日期", "date", public=True),
    Field("water_m3d", "供水能力(m³/d)", "num", lo=0, hi=10_000_000, public=True),
    Field("water_as_of", "供水数据日期", "date", public=True),
    Field("sewage_m3d", "排水能力(m³/d)", "num", lo=0, hi=10_000_000, public=True),
    Field("sewage_as_of", "排水数据日期", "date", public=True),
    Field("gas_m3d", "供气能力(m³/d)", "num", lo=0, hi=10_000_000, public=True),
    Field("gas_as_of", "供气数据日期", "date", public=True),
    Field("heat_mw", "供热能力(MW)", "num", lo=0, hi=10_000, public=True),
    Field("heat_as_of", "供热数据日期", "date", public=True),
    Field("telecom_5g", "5G覆盖", "bool", public=True),
    Field("fibre", "光纤接入", "bool", public=True),
    Field("telecom_as_of", "通信数据日期", "date", public=True),
    Field(
        "readiness",
        "七通一平",
        "list",
        vocab=vocab.READINESS,
        public=True,
        extra=READINESS_SYNONYMS,
    ),
    Field("checklist", "熟地核查项", "list", vocab=vocab.READY_CHECKLIST),
    Field("approval_doc_no", "批准文号"),
    Field("approval_batch", "批次"),
    Field("approval_date", "批准日期", "date"),
    Field("supply_date", "供地日期", "date"),
    Field("contract_no", "合同编号"),
    Field("contract_date", "合同签订日期", "date"),
    Field("holder", "用地单位", aliases=("受让人",)),
    Field("land_price_wan", "成交价(万元)", "num", lo=0, hi=1e9),
    Field("agreed_start_date", "约定开工日期", "date"),
    Field("agreed_completion_date", "约定竣工日期", "date"),
    Field("actual_start_date", "实际开工日期", "date"),
    Field("stopped_since", "停工日期", "date"),
    Field("total_investment_wan", "总投资(万元)", "num", lo=0, hi=1e9),
    Field("invested_wan", "已投资(万元)", "num", lo=0, hi=1e9),
    Field("developed_ratio", "已开发比例", "num", lo=0, hi=1),
    Field("invest_ratio", "已投资比例", "num", lo=0, hi=1),
    Field("gov_caused", "政府原因", "bool"),
    Field("gov_cause", "政府原因说明"),
    Field("contact_name", "联系人"),
    Field("contact_phone", "联系电话", max_len=40),
    Field("notes", "备注", max_len=4000),
    Field("brochure_url", "宣传页", public=True),
    Field("data_updated_on", "数据更新日期", "date", public=True),
    Field(
        "declared_area_m2",
        "申报面积(平方米)",
        "num",
        aliases=("面积(平方米)", "面积(m2)", "面积(㎡)"),
        lo=0,
        hi=1e9,
    ),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# Declared area in other units: header → factor to m².
AREA_HEADERS: dict[str, float] = {
    "面积(亩)": 10000 / 15,
    "面积（亩）": 10000 / 15,
    "亩": 10000 / 15,
    "area_mu": 10000 / 15,
    "面积(公顷)": 10000.0,
    "面积（公顷）": 10000.0,
    "公顷": 10000.0,
    "area_ha": 10000.0,
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
    }
)
GEOMETRY_HEADERS = ("wkt", "geometry", "geom", "几何", "几何(wkt)", "坐标(wkt)", "图形")
LON_HEADERS = ("lon", "lng", "longitude", "经度", "x")
LAT_HEADERS = ("lat", "latitude", "纬度", "y")

COLUMN_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS if f.name != "zone_code")


def _norm(header: str) -> str:
    return str(header).strip().lower().replace("（", "(").replace("）", ")").replace(" ", "")


_HEADER_MAP: dict[str, str] = {}
for _f in FIELDS:
    for _h in (_f.name, _f.label, *_f.aliases):
        _HEADER_MAP[_norm(_h)] = _f.name


def field_for_header(header: str) -> str | None:
    """The field a column header names (English name, Chinese label or alias), or None."""
    return _HEADER_MAP.get(_norm(header))


def area_factor_for_header(header: str) -> float | None:
    return {_norm(k): v for k, v in AREA_HEADERS.items()}.get(_norm(header))


def label_of(name: str) -> str:
    """The Chinese name of a field (or of the geometry) as messages quote it."""
    if name in BY_NAME:
        return BY_NAME[name].label
    return {"geometry": "几何图形", "geom": "几何图形", "zone_id": "开发区"}.get(name, name)


def is_ignored(header: str) -> bool:
    return _norm(header) in {_norm(h) for h in IGNORED_HEADERS}


def is_geometry_header(header: str) -> bool:
    return _norm(header) in GEOMETRY_HEADERS


def code_for(f: Field, value: str) -> str | None:
    """A vocabulary value given as code, Chinese label or synonym → the code, else None."""
    assert f.vocab is not None
    return vocab.code_of(f.vocab, value) or f.extra.get(value.strip())


def _short_names() -> dict[str, str]:
    """10-character DBF field names for the shapefile export (and their recognition)."""
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


SHP_NAMES: dict[str, str] = _short_names()
for _name, _short in SHP_NAMES.items():
    _HEADER_MAP.setdefault(_norm(_short), _name)
