"""Controlled vocabularies: the codes stored in the database and their Chinese labels.

The database constrains every column that holds one of these (CHECK constraints or lookup
tables); the API and the map show the labels.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

PARCEL_STATUS: dict[str, str] = {
    "ready": "熟地",
    "unsupplied": "批而未供",
    "idle": "闲置",
    "supplied": "已供应",
    "withdrawn": "已撤回",
}

VISIBILITY: dict[str, str] = {"public": "公开", "internal": "内部"}

SUPPLY_MODES: dict[str, str] = {
    "auction": "招拍挂出让",
    "long_lease": "长期租赁",
    "lease_then_transfer": "先租后让",
    "flexible_term": "弹性年期出让",
}

# 七通一平 (road, power, water supply, drainage, telecom, gas, heat) + site levelled.
READINESS: dict[str, str] = {
    "road": "通路",
    "power": "通电",
    "water": "通给水",
    "sewage": "通排水",
    "telecom": "通讯",
    "gas": "通燃气",
    "heat": "通热",
    "levelled": "场地平整",
}

# 熟地 checklist, docs/domain.md §11.
READY_CHECKLIST: dict[str, str] = {
    "title_clear": "已收储，权属清晰",
    "compensation_done": "征收补偿安置到位",
    "no_dispute": "无法律经济纠纷",
    "planning_issued": "规划条件已出具",
    "assessments_done": "区域评估已完成",
    "utilities_connected": "市政配套接至红线",
    "site_levelled": "场地平整",
}

ADMIN_LEVELS: dict[str, str] = {"province": "省", "city": "市", "county": "县区"}

ZONE_LEVELS: dict[str, str] = {"national": "国家级", "provincial": "省级"}

ZONE_KINDS: tuple[str, ...] = ("经开区", "高新区", "综保区", "自贸片区", "产业园区", "其他")

FACILITY_KINDS: dict[str, str] = {
    "port": "港口",
    "airport": "机场",
    "rail_freight": "铁路货运站",
    "highway_interchange": "高速互通",
    "logistics_hub": "物流枢纽",
    "cold_chain": "冷链物流基地",
    "bonded_zone": "综合保税区",
    "substation": "变电站",
}

# The offline basemap's water (landmatch.basemap, from GSHHG): what each feature is.
BASEMAP_WATER_KINDS: dict[str, str] = {
    "sea": "海域",
    "coast": "海岸线",
    "lake": "湖泊、水库",
    "river_lake": "宽阔河面",
    "river_major": "主要河流",
    "river": "其他河流",
    "river_intermittent": "季节性河流",
    "canal": "渠道",
}

CONSTRAINT_KINDS: dict[str, str] = {
    "eco_redline": "生态保护红线",
    "water_source": "饮用水水源保护区",
    "basic_farmland": "永久基本农田",
    "flood": "蓄滞洪区",
    "residential_setback": "居住区防护距离",
}

CONSTRAINT_SEVERITY: dict[str, str] = {"excludes": "禁止", "penalises": "限制"}

# The severity an area of each kind gets when its file does not say. The kinds that exclude by
# default are the ones construction is barred from by rule (red lines, drinking-water
# protection, permanent basic farmland): a parcel is "checked and clear" of exclusions
# (parcel_fact.excluded = false) only where the data of every one of them is declared complete
# for its city (landmatch.db.constraints).
CONSTRAINT_DEFAULT_SEVERITY: dict[str, str] = {
    "eco_redline": "excludes",
    "water_source": "excludes",
    "basic_farmland": "excludes",
    "flood": "penalises",
    "residential_setback": "penalises",
}
EXCLUDING_KINDS: tuple[str, ...] = tuple(
    k for k, s in CONSTRAINT_DEFAULT_SEVERITY.items() if s == "excludes"
)

# Regional assessments (区域评估), docs/domain.md §9 and the plan's list.
ASSESSMENTS: dict[str, str] = {
    "WATER_RES": "规划水资源论证",
    "GEOHAZARD": "地质灾害危险性评估",
    "MINERAL": "压覆重要矿产资源评估",
    "ENERGY": "节能评估",
    "ENV": "环境影响评价",
    "SEISMIC": "地震安全性评价",
    "RELICS": "考古调查勘探",
    "CLIMATE": "气候可行性论证",
    "SOIL_WATER": "水土保持",
    "FLOOD": "洪水影响评价",
    "LIGHTNING": "雷电灾害风险评估",
    "TRAFFIC": "交通影响评价",
}

# The nine regional assessments the plan (§二（二）) orders every provincial-or-higher zone to
# offer; the kinds a zone "has done" are measured against these.
PLAN_ASSESSMENTS: tuple[str, ...] = (
    "WATER_RES",
    "GEOHAZARD",
    "MINERAL",
    "ENERGY",
    "ENV",
    "SEISMIC",
    "RELICS",
    "CLIMATE",
    "SOIL_WATER",
)

# A 我有意向 inquiry (a lead) as its team handles it (landmatch.leads; migration 0029_inquiries).
INQUIRY_STATUS: dict[str, str] = {"new": "待处理", "converted": "已转为项目", "dismissed": "已忽略"}

PROJECT_PIPELINE: dict[str, str] = {
    "new": "新项目",
    "matching": "选址中",
    "shortlisted": "已入围",
    "visiting": "考察中",
    "signed": "已签约",
    "landed": "已落地",
    "lost": "已流失",
}

ROLES: dict[str, str] = {
    "admin": "管理员",
    "bureau": "自然资源局",
    "zone": "开发区管委会",
    "promoter": "招商团队",
}

POLICY_SCOPES: dict[str, str] = {
    "province": "全省",
    "city": "市",
    "county": "县区",
    "zone": "开发区",
}

BENEFIT_KINDS: dict[str, str] = {
    "land_price_discount": "地价优惠",
    "subsidy": "资金补助",
    "reward": "奖励",
    "energy_quota": "能耗指标",
    "fee_waiver": "费用减免",
    "supply_mode": "供地方式",
    "fast_track": "审批提速",
    "rate_cut": "费率优惠",
    "other": "其他",
}

# 用地用海分类 (2023) codes the inventory uses: level-3 codes where they exist.
LAND_USE: dict[str, str] = {
    "100101": "一类工业用地",
    "100102": "二类工业用地",
    "100103": "三类工业用地",
    "110101": "一类物流仓储用地",
    "110102": "二类物流仓储用地",
    "110103": "三类物流仓储用地",
    "1102": "储备库用地",
    "1002": "采矿用地",
    "0802": "科研用地",
    "0901": "商业用地",
    "0902": "商务金融用地",
    "1303": "供电用地",
    "1304": "供燃气用地",
    "1305": "供热用地",
    "1306": "通信用地",
    "16": "留白用地",
}
# A parcel whose land use is not known yet (a survey file without 地块用途): stored unpublished
# and flagged by QA; it cannot be made public until its use is set (ck_parcel_pending_use).
LAND_USE_PENDING = "TBD"
# What a parcel's land_use may hold: the classes, or 待定.
PARCEL_LAND_USE: dict[str, str] = {**LAND_USE, LAND_USE_PENDING: "待定"}

# GB/T 4754-2017 codes the engine knows: manufacturing divisions (section C) and the
# service divisions industrial sites are asked for. Pollution class: 1/2/3 (一/二/三类),
# the default land-use interference class for the division [GK?, overridable per project].
INDUSTRIES: dict[str, tuple[str, int]] = {
    "13": ("农副食品加工业", 2),
    "14": ("食品制造业", 1),
    "15": ("酒、饮料和精制茶制造业", 2),
    "16": ("烟草制品业", 1),
    "17": ("纺织业", 2),
    "18": ("纺织服装、服饰业", 1),
    "19": ("皮革、毛皮、羽毛及其制品和制鞋业", 2),
    "20": ("木材加工和木、竹、藤、棕、草制品业", 2),
    "21": ("家具制造业", 2),
    "22": ("造纸和纸制品业", 3),
    "23": ("印刷和记录媒介复制业", 1),
    "24": ("文教、工美、体育和娱乐用品制造业", 1),
    "25": ("石油、煤炭及其他燃料加工业", 3),
    "26": ("化学原料和化学制品制造业", 3),
    "27": ("医药制造业", 2),
    "28": ("化学纤维制造业", 3),
    "29": ("橡胶和塑料制品业", 2),
    "30": ("非金属矿物制品业", 2),
    "31": ("黑色金属冶炼和压延加工业", 3),
    "32": ("有色金属冶炼和压延加工业", 3),
    "33": ("金属制品业", 2),
    "34": ("通用设备制造业", 2),
    "35": ("专用设备制造业", 2),
    "36": ("汽车制造业", 2),
    "37": ("铁路、船舶、航空航天和其他运输设备制造业", 2),
    "38": ("电气机械和器材制造业", 2),
    "39": ("计算机、通信和其他电子设备制造业", 1),
    "40": ("仪器仪表制造业", 1),
    "41": ("其他制造业", 1),
    "42": ("废弃资源综合利用业", 3),
    "43": ("金属制品、机械和设备修理业", 2),
    "58": ("多式联运和运输代理业", 1),
    "59": ("装卸搬运和仓储业", 1),
    "60": ("邮政业", 1),
    "65": ("软件和信息技术服务业", 1),
    "73": ("研究和试验发展", 1),
    "75": ("科技推广和应用服务业", 1),
}

LOGISTICS_INDUSTRIES = frozenset({"58", "59", "60"})
RESEARCH_INDUSTRIES = frozenset({"65", "73", "75"})

# Seven regional cities in Hebei + the province-managed cities (GB/T 2260).
CITIES: dict[str, str] = {
    "130100": "石家庄市",
    "130200": "唐山市",
    "130300": "秦皇岛市",
    "130400": "邯郸市",
    "130500": "邢台市",
    "130600": "保定市",
    "130700": "张家口市",
    "130800": "承德市",
    "130900": "沧州市",
    "131000": "廊坊市",
    "131100": "衡水市",
    "130181": "辛集市",
    "130682": "定州市",
}
PROVINCE_CODE = "130000"

#: Units written as a city that are not cities of the inventory, each with why and what to
#: write instead (docs/domain.md §4). 雄安新区 is governed by its own 管委会 at city level, but
#: 133100 is an NBS statistical code, not GB/T 2260 [GK?], and its boundary is not in the
#: division layer: its counties 容城 130629, 安新 130632 and 雄县 130638 are 保定's.
NOT_CITIES: dict[str, str] = {
    name: (
        "雄安新区（133100）在本系统中不是单独的城市：新区所辖容城、安新、雄县按国家区划代码属"
        "保定市（130600），其余部分按所在县区的城市；请把城市代码留空（由地块位置确定）或填写 130600"
    )
    for name in ("133100", "雄安新区", "雄安")
}


def unknown_city(given: str) -> str:
    """The refusal of ``given`` where a city code is asked for, wherever one is: 雄安新区 with
    its reason (:data:`NOT_CITIES`), anything else with the codes to choose from."""
    said = given.strip()[:20]
    if said in NOT_CITIES:
        return NOT_CITIES[said]
    return f"未知城市代码 {said}；可选：{'、'.join(f'{c} {n}' for c, n in CITIES.items())}"


# Codes of parcels, policies and layer features: 3–64 printable characters of any script
# (石经开2025-31号, SJZ-2024-07) — no whitespace, control or invisible characters, and no "/"
# or "\\" (a code is one segment of a URL path). Unanchored: use fullmatch, or anchor it for a
# schema. The same class in Python, pydantic (Rust) and PostgreSQL regular expressions.
CODE_FORBIDDEN = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f"
    r"\u205f-\u206f\u3000\ufeff/\\"
)
CODE_PATTERN = f"[^{CODE_FORBIDDEN}]{{3,64}}"
CODE_RULE = "3–64 个字符，不含空格、控制字符和 /、\\"
# The same rule as a CHECK on parcel codes: a length test and a negated class are far cheaper
# for PostgreSQL's regex engine than the bounded repetition (migration 0014). PostgreSQL text
# holds no NUL, and its regex takes none.
_SQL_FORBIDDEN = CODE_FORBIDDEN.replace(r"\u0000", r"\u0001")
CODE_CHECK_SQL = f"length(code) BETWEEN 3 AND 64 AND code !~ '[{_SQL_FORBIDDEN}]'"


def code_of(vocab: dict[str, str], value: str) -> str | None:
    """The code for ``value`` given as a code or as its Chinese label; None when neither."""
    v = value.strip()
    if v in vocab:
        return v
    return next((code for code, name in vocab.items() if name == v), None)


#: How many unknown codes an error names (the rest are counted): the message stays short
#: whatever the caller sent.
NAMED_UNKNOWN = 5


def refuse_unknown(values: Iterable[str], known: Container[str], what: str, sep: str = ",") -> None:
    """A model validator's check that every value is a known code: ``ValueError`` naming the
    unknown ones (``未知{what} a,b``; beyond :data:`NAMED_UNKNOWN` distinct ones, the first of
    them and ``等 N 个``; each at most 40 characters) otherwise."""
    bad = list(dict.fromkeys(v for v in values if v not in known))
    if bad:
        named = sep.join(str(v)[:40] for v in bad[:NAMED_UNKNOWN])
        more = f" 等 {len(bad):,} 个" if len(bad) > NAMED_UNKNOWN else ""
        raise ValueError(f"未知{what} {named}{more}")


def label(vocab: dict[str, str], code: str | None) -> str | None:
    """The Chinese label of a code, or the code itself when unknown."""
    if code is None:
        return None
    return vocab.get(code, code)


# Enterprise types a policy condition may require (河北省2024年要素环境提升专项行动方案 and
# common national designations).
ENTERPRISE_TYPES: dict[str, str] = {
    "high_tech": "高新技术企业",
    "tech_sme": "科技型中小企业",
    "tech_enterprise": "科技型企业",
    "specialised": "专精特新中小企业",
    "little_giant": "专精特新“小巨人”企业",
    "cluster_leader": "县域特色产业集群“领跑者”企业",
    "micro_small": "小微企业",
    "soe": "国有企业",
    "key_project": "省重点项目",
}
