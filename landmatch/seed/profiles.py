"""Per-city figures the demo inventory draws from.

Prices and 标准地 thresholds are illustrative demo values of a plausible order of magnitude
(not official schedules): higher near Beijing/Tianjin and in the large cities, lower in the
north. City seats are the lon/lat of docs/domain.md §1. The figures, a row a city, are the
table ``landmatch/data/demo_cities.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass

from landmatch.resources import data_rows


@dataclass(frozen=True)
class CityProfile:
    seat: tuple[float, float]
    price_wan_per_mu: float  # reference transfer price of industrial land
    invest_intensity: float  # 万元/亩, 标准地 minimum
    tax_per_mu: float  # 万元/亩·年
    weight: float  # share of the demo inventory
    industries: tuple[str, ...]  # GB/T 4754 divisions typical of the city's zones [demo, GK]


# One row a city: landmatch/data/demo_cities.csv (package data).
CITY_PROFILES: dict[str, CityProfile] = {
    r["city_code"]: CityProfile(
        (float(r["seat_lon"]), float(r["seat_lat"])),
        float(r["price_wan_per_mu"]),
        float(r["invest_intensity"]),
        float(r["tax_per_mu"]),
        float(r["weight"]),
        tuple(r["industries"].split()),
    )
    for r in data_rows("demo_cities.csv")
}

ROAD_NAMES = (
    "长江大道",
    "黄河大道",
    "创新路",
    "科技大街",
    "工业路",
    "兴业街",
    "发展大道",
    "海河道",
    "太行大街",
    "燕山路",
    "滨河路",
    "建设大街",
    "振兴路",
    "富强路",
    "友谊大街",
    "园区一路",
    "园区二路",
    "经五路",
    "纬三路",
    "物流大道",
)

CONTACT_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"

# Demo constraint areas: illustrative extents around real protected places, marked as
# schematic (示意范围) in their source. (lon, lat, semi-axes in km, rotation in degrees).
CONSTRAINTS: tuple[tuple[str, str, str, str, float, float, float, float, float], ...] = (
    (
        "eco-baiyangdian",
        "白洋淀生态保护红线（示意）",
        "eco_redline",
        "excludes",
        115.98,
        38.93,
        9,
        7,
        20,
    ),
    (
        "eco-hengshuihu",
        "衡水湖生态保护红线（示意）",
        "eco_redline",
        "excludes",
        115.62,
        37.64,
        6,
        4,
        30,
    ),
    (
        "eco-saihanba",
        "塞罕坝生态保护红线（示意）",
        "eco_redline",
        "excludes",
        117.30,
        42.35,
        25,
        15,
        0,
    ),
    (
        "eco-beidaihe",
        "北戴河湿地生态保护红线（示意）",
        "eco_redline",
        "excludes",
        119.40,
        39.82,
        5,
        3,
        60,
    ),
    (
        "eco-xiaowutai",
        "小五台山生态保护红线（示意）",
        "eco_redline",
        "excludes",
        115.05,
        39.95,
        12,
        8,
        45,
    ),
    (
        "ws-gangnan",
        "岗南水库饮用水水源保护区（示意）",
        "water_source",
        "excludes",
        113.98,
        38.33,
        9,
        5,
        35,
    ),
    (
        "ws-huangbizhuang",
        "黄壁庄水库饮用水水源保护区（示意）",
        "water_source",
        "excludes",
        114.23,
        38.23,
        5,
        3,
        20,
    ),
    (
        "ws-panjiakou",
        "潘家口水库饮用水水源保护区（示意）",
        "water_source",
        "excludes",
        118.28,
        40.45,
        10,
        4,
        70,
    ),
    (
        "ws-wangkuai",
        "王快水库饮用水水源保护区（示意）",
        "water_source",
        "excludes",
        114.62,
        38.78,
        5,
        3,
        10,
    ),
    (
        "ws-yuecheng",
        "岳城水库饮用水水源保护区（示意）",
        "water_source",
        "excludes",
        114.20,
        36.28,
        6,
        3,
        80,
    ),
    (
        "ws-taolinkou",
        "桃林口水库饮用水水源保护区（示意）",
        "water_source",
        "excludes",
        119.05,
        40.13,
        5,
        3,
        0,
    ),
    ("flood-dongdian", "东淀蓄滞洪区（示意）", "flood", "penalises", 116.55, 38.85, 12, 6, 10),
    ("flood-ningjinbo", "宁晋泊蓄滞洪区（示意）", "flood", "penalises", 115.00, 37.55, 8, 5, 0),
    (
        "eco-gaocheng-demo",
        "滹沱河生态廊道（示意）",
        "eco_redline",
        "excludes",
        114.75,
        38.06,
        8,
        1.2,
        5,
    ),
    (
        "eco-langfang-demo",
        "永定河生态廊道（示意）",
        "eco_redline",
        "excludes",
        116.62,
        39.45,
        9,
        1.0,
        40,
    ),
    # 永久基本农田 for two cities, so that their layers are complete for every excluding
    # kind and the demo shows all three states (inside / checked and clear / not checked).
    (
        "bf-qingyuan-demo",
        "清苑区永久基本农田（示意）",
        "basic_farmland",
        "excludes",
        115.45,
        38.72,
        5,
        3,
        0,
    ),
    (
        "bf-changli-demo",
        "昌黎县永久基本农田（示意）",
        "basic_farmland",
        "excludes",
        119.05,
        39.62,
        4,
        2.5,
        30,
    ),
)

# The city whose constraint layer each demo area belongs to. The seed declares coverage
# (constraint_coverage) of a kind for a city only from these: an area that spills over a city
# boundary (白洋淀 into 沧州, 潘家口 into 承德, 岳城 beyond Hebei) does not make the neighbour's
# layer complete. 保定 and 秦皇岛 have demo layers of all three excluding kinds, so their
# parcels outside them read "checked and clear"; elsewhere (石家庄 has no farmland layer)
# parcel_fact.excluded stays NULL ("not checked") outside the areas.
CONSTRAINT_LAYER_CITY: dict[str, str] = {
    "eco-baiyangdian": "130600",  # 保定 (安新, 雄安)
    "eco-hengshuihu": "131100",  # 衡水
    "eco-saihanba": "130800",  # 承德 (围场)
    "eco-beidaihe": "130300",  # 秦皇岛
    "eco-xiaowutai": "130700",  # 张家口 (蔚县)
    "eco-gaocheng-demo": "130100",  # 石家庄 (藁城)
    "eco-langfang-demo": "131000",  # 廊坊
    "ws-gangnan": "130100",  # 石家庄 (平山)
    "ws-huangbizhuang": "130100",  # 石家庄 (鹿泉)
    "ws-panjiakou": "130200",  # 唐山 (迁西)
    "ws-wangkuai": "130600",  # 保定 (阜平, 曲阳)
    "ws-yuecheng": "130400",  # 邯郸 (磁县)
    "ws-taolinkou": "130300",  # 秦皇岛 (青龙)
    "flood-dongdian": "131000",  # 廊坊 (霸州, 文安)
    "flood-ningjinbo": "130500",  # 邢台 (宁晋)
    "bf-qingyuan-demo": "130600",  # 保定 (清苑)
    "bf-changli-demo": "130300",  # 秦皇岛 (昌黎)
}
