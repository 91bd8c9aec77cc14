"""Build ``layers/facilities.geojson`` and ``layers/zone_centres.geojson`` (docs/domain.md §14).

The records below are transcribed from the team's domain-rules reference, its §8 (and the
city seats of its §6 where a location had to be borrowed — see each ``note``). §8 states that **all
its coordinates are approximate centroids (±3–5 km) from general knowledge [GK?]**, so every
point carries ``approximate: true``. ``confidence`` is the doc's tag for the entry itself
(existence / status / list membership): ``V`` verified, ``GK`` general knowledge, ``GK?``
uncertain. Coordinates are lon/lat in CGCS2000 (= WGS 84 at map scale).

Re-run::

    PYTHONPATH=. .venv/bin/python scripts/build_point_layers.py
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SRC_PORTS_3 = "http://prive.logclub.com/articleInfo/NjEzNTI="
SRC_PORTS_TS = "http://tibet.cn/cn/Instant/local/202311/t20231121_7526290.html"
SRC_HUB_2023 = "http://kandiankuaibao.830036.com/rd/2023/0804/73693.html"
SRC_COLD_BD = "http://news.youth.cn/jsxw/202210/t20221011_14053055.htm"
SRC_CARRIERS = "http://expressboo.com/detail_15013_5.html"
SRC_DAXING_BZ = "http://www.huirongyidai.com/Print.aspx?id=119877"
SRC_HTZ_2013 = "http://www.iincn.com/plus/view.php?aid=137086"


# The ``source`` of an entry from general knowledge, in the words staff read on its card (the
# section of domain-rules.md it comes from is in layers/README.md).
GK_SOURCE = "公开资料整理（坐标为近似位置，约 ±3–5 公里）"


# code, name, kind, city_code, lon, lat, confidence, source, note
FACILITIES: list[tuple] = [
    # §8.5 ports: membership [V]; coordinates approximate.
    ("port-qinhuangdao", "秦皇岛港", "port", "130300", 119.62, 39.92, "V", SRC_PORTS_3, None),
    (
        "port-tangshan-jingtang",
        "唐山港京唐港区",
        "port",
        "130200",
        119.00,
        39.21,
        "V",
        SRC_PORTS_TS,
        None,
    ),
    (
        "port-tangshan-caofeidian",
        "唐山港曹妃甸港区",
        "port",
        "130200",
        118.50,
        38.95,
        "V",
        SRC_PORTS_TS,
        None,
    ),
    ("port-huanghua", "黄骅港", "port", "130900", 117.85, 38.33, "V", SRC_PORTS_3, None),
    # §8.6 airports [GK, coordinates approximate].
    (
        "airport-sjw",
        "石家庄正定国际机场",
        "airport",
        "130100",
        114.697,
        38.281,
        "GK",
        GK_SOURCE,
        None,
    ),
    (
        "airport-pkx",
        "北京大兴国际机场",
        "airport",
        "131000",
        116.41,
        39.51,
        "GK",
        GK_SOURCE,
        "Straddles 北京大兴 and 河北廊坊; terminal on the Beijing side, city_code is the Hebei part",
    ),
    ("airport-bpe", "秦皇岛北戴河机场", "airport", "130300", 119.06, 39.67, "GK", GK_SOURCE, None),
    ("airport-tvs", "唐山三女河机场", "airport", "130200", 118.00, 39.72, "GK", GK_SOURCE, None),
    ("airport-hdg", "邯郸机场", "airport", "130400", 114.43, 36.52, "GK", GK_SOURCE, None),
    ("airport-xnt", "邢台褡裢机场", "airport", "130500", 114.43, 36.88, "GK", GK_SOURCE, None),
    ("airport-zqz", "张家口宁远机场", "airport", "130700", 114.93, 40.74, "GK", GK_SOURCE, None),
    ("airport-cde", "承德普宁机场", "airport", "130800", 118.07, 41.12, "GK", GK_SOURCE, None),
    # §8.4 logistics nodes.
    (
        "hub-cangzhou-port",
        "沧州港口型国家物流枢纽",
        "logistics_hub",
        "130900",
        117.85,
        38.33,
        "V",
        SRC_HUB_2023,
        "2023 list; based on 黄骅港, placed at the 黄骅港 coordinate (§8.5)",
    ),
    (
        "hub-shijiazhuang-production",
        "石家庄生产服务型国家物流枢纽",
        "logistics_hub",
        "130100",
        114.51,
        38.04,
        "V",
        "新闻报道摘录（未保留网址；名单年份待核实）",
        "Location not in the doc: placed at the 石家庄 city seat (§6); do not use for distance scoring",
    ),
    (
        "hub-shijiazhuang-dryport",
        "石家庄陆港型国家物流枢纽 (石家庄国际陆港)",
        "logistics_hub",
        "130100",
        114.61,
        37.61,
        "GK?",
        GK_SOURCE,
        "Listing year GK?; carrier 石家庄国际陆港 in 高邑 (source for the carrier: "
        f"{SRC_CARRIERS}); point is approximately the 高邑 county seat (GK?)",
    ),
    (
        "hub-tangshan-port",
        "唐山港口型国家物流枢纽",
        "logistics_hub",
        "130200",
        118.18,
        39.63,
        "GK?",
        GK_SOURCE,
        "Listing GK?; location not in the doc: placed at the 唐山 city seat (§6); "
        "do not use for distance scoring",
    ),
    (
        "cold-baoding",
        "保定国家骨干冷链物流基地",
        "cold_chain",
        "130600",
        115.87,
        39.33,
        "V",
        SRC_COLD_BD,
        "2022 list [V]; placed at 高碑店 (首衡高碑店 cold-chain market, "
        f"{SRC_CARRIERS}) — "
        "that 首衡 carries the base is GK?",
    ),
    (
        "rail-shijiazhuang-intl-dryport",
        "石家庄国际陆港 (中欧班列)",
        "rail_freight",
        "130100",
        114.61,
        37.61,
        "V",
        SRC_CARRIERS,
        "China–Europe rail terminal in 高邑 [V]; coordinate ≈ 高邑 county seat (GK?), "
        "checked to fall inside 高邑县 130127",
    ),
]

# §8.3 bonded zones, shared by both layers: code, name, city_code, lon, lat, year, confidence,
# source, note.
BONDED: list[tuple] = [
    ("bonded-caofeidian", "曹妃甸综合保税区", "130200", 118.47, 39.00, 2012, "GK", GK_SOURCE, None),
    (
        "bonded-shijiazhuang",
        "石家庄综合保税区",
        "130100",
        114.70,
        38.23,
        2014,
        "GK",
        GK_SOURCE,
        "正定, near the airport",
    ),
    ("bonded-langfang", "廊坊综合保税区", "131000", 116.75, 39.55, 2018, "GK?", GK_SOURCE, None),
    (
        "bonded-qinhuangdao",
        "秦皇岛综合保税区",
        "130300",
        119.50,
        39.95,
        2020,
        "GK?",
        GK_SOURCE,
        None,
    ),
    (
        "bonded-daxing-airport",
        "北京大兴国际机场综合保税区",
        "131000",
        116.42,
        39.49,
        2020,
        "V",
        SRC_DAXING_BZ,
        "Approved 2020-11-05; spans 北京大兴 and 河北廊坊; 4.35 km² planned, Hebei phase 1 1.085 km²",
    ),
    (
        "bonded-xiongan",
        "雄安综合保税区",
        "130600",
        115.95,
        39.05,
        2024,
        "GK?",
        GK_SOURCE,
        "Existence and date unverified; 雄安新区 (133100) is not in admin_divisions, "
        "city_code is 保定 (its counties' GB/T 2260 parent)",
    ),
]

# §8.1 / §8.2 / §8.3 zone centres: code, name, kind, city_code, lon, lat, year, confidence, source,
# note.
ETDZ_SOURCE = "国家级经济技术开发区名单（名单已核实；设立年份为一般资料）"
ZONES: list[tuple] = [
    (
        "etdz-qinhuangdao",
        "秦皇岛经济技术开发区",
        "经开区",
        "130300",
        119.55,
        39.95,
        1984,
        "V",
        ETDZ_SOURCE,
        None,
    ),
    (
        "etdz-langfang",
        "廊坊经济技术开发区",
        "经开区",
        "131000",
        116.75,
        39.55,
        2009,
        "V",
        ETDZ_SOURCE,
        None,
    ),
    (
        "etdz-cangzhou-lingang",
        "沧州临港经济技术开发区",
        "经开区",
        "130900",
        117.65,
        38.40,
        2010,
        "V",
        ETDZ_SOURCE,
        "渤海新区",
    ),
    (
        "etdz-shijiazhuang",
        "石家庄经济技术开发区",
        "经开区",
        "130100",
        114.72,
        38.00,
        2012,
        "V",
        ETDZ_SOURCE,
        "藁城",
    ),
    (
        "etdz-caofeidian",
        "唐山曹妃甸经济技术开发区",
        "经开区",
        "130200",
        118.45,
        39.15,
        2013,
        "V",
        "http://187.cfd163.com/bbs/3736.html",
        "First newly created (not upgraded) national ETDZ, Jan 2013 [V]",
    ),
    (
        "etdz-handan",
        "邯郸经济技术开发区",
        "经开区",
        "130400",
        114.62,
        36.66,
        2013,
        "V",
        ETDZ_SOURCE,
        None,
    ),
    (
        "etdz-zhangjiakou",
        "张家口经济技术开发区",
        "经开区",
        "130700",
        114.88,
        40.78,
        2021,
        "V",
        ETDZ_SOURCE,
        "Upgrade year ~2021 is GK?",
    ),
    (
        "htz-shijiazhuang",
        "石家庄高新技术产业开发区",
        "高新区",
        "130100",
        114.60,
        38.03,
        1991,
        "V",
        SRC_HTZ_2013,
        None,
    ),
    (
        "htz-baoding",
        "保定高新技术产业开发区",
        "高新区",
        "130600",
        115.48,
        38.90,
        1992,
        "V",
        SRC_HTZ_2013,
        None,
    ),
    (
        "htz-tangshan",
        "唐山高新技术产业开发区",
        "高新区",
        "130200",
        118.13,
        39.68,
        2010,
        "V",
        "http://cnenc.net/b1601034.html",
        None,
    ),
    (
        "htz-yanjiao",
        "燕郊高新技术产业开发区",
        "高新区",
        "131000",
        116.83,
        39.95,
        2010,
        "V",
        "https://www.newton.com.tw/wiki/燕郊高新技術產業開發區",
        "三河",
    ),
    (
        "htz-chengde",
        "承德高新技术产业开发区",
        "高新区",
        "130800",
        117.88,
        40.90,
        2012,
        "V",
        "新闻报道摘录",
        None,
    ),
    (
        "htz-hengshui",
        "衡水高新技术产业开发区",
        "高新区",
        "131100",
        115.72,
        37.78,
        2015,
        "GK",
        GK_SOURCE,
        "NBS code 131171 exists [V]; national status and year GK",
    ),
    # 中国(河北)自由贸易试验区, Aug 2019, four areas [GK]. The doc gives no coordinates: each area is
    # placed at the co-located zone of §8.3 (GK?), see note.
    (
        "ftz-xiongan",
        "中国(河北)自由贸易试验区雄安片区",
        "自贸片区",
        "130600",
        115.95,
        39.05,
        2019,
        "GK",
        GK_SOURCE,
        "No coordinate in the doc; placed at the 雄安综保区 point (GK?); city_code 保定 (雄安 133100 not in the admin layer)",
    ),
    (
        "ftz-zhengding",
        "中国(河北)自由贸易试验区正定片区",
        "自贸片区",
        "130100",
        114.70,
        38.23,
        2019,
        "GK",
        GK_SOURCE,
        "No coordinate in the doc; placed at the 石家庄综保区 point (GK?)",
    ),
    (
        "ftz-caofeidian",
        "中国(河北)自由贸易试验区曹妃甸片区",
        "自贸片区",
        "130200",
        118.47,
        39.00,
        2019,
        "GK",
        GK_SOURCE,
        "No coordinate in the doc; placed at the 曹妃甸综保区 point (GK?)",
    ),
    (
        "ftz-daxing-airport",
        "中国(河北)自由贸易试验区大兴机场片区",
        "自贸片区",
        "131000",
        116.42,
        39.49,
        2019,
        "GK",
        GK_SOURCE,
        "Straddles Beijing; placed at the 大兴机场综保区 point (GK?)",
    ),
]


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def facilities() -> dict:
    feats = []
    for code, name, kind, city, lon, lat, conf, source, note in FACILITIES:
        props = {"code": code, "name": name, "kind": kind, "city_code": city}
        feats.append((props, lon, lat, conf, source, note))
    for code, name, city, lon, lat, _year, conf, source, note in BONDED:
        props = {"code": code, "name": name, "kind": "bonded_zone", "city_code": city}
        feats.append((props, lon, lat, conf, source, note))
    return _collection("facilities", feats)


def zone_centres() -> dict:
    feats = []
    for code, name, kind, city, lon, lat, year, conf, source, note in ZONES:
        if kind == "自贸片区":
            continue
        props = {"code": code, "name": name, "city_code": city, "level": "national", "kind": kind}
        feats.append(({**props, "approx_year": year}, lon, lat, conf, source, note))
    for code, name, city, lon, lat, year, conf, source, note in BONDED:
        props = {
            "code": code,
            "name": name,
            "city_code": city,
            "level": "national",
            "kind": "综保区",
        }
        feats.append(({**props, "approx_year": year}, lon, lat, conf, source, note))
    for code, name, kind, city, lon, lat, year, conf, source, note in ZONES:
        if kind != "自贸片区":
            continue
        props = {"code": code, "name": name, "city_code": city, "level": "national", "kind": kind}
        feats.append(({**props, "approx_year": year}, lon, lat, conf, source, note))
    return _collection("zone_centres", feats)


def _collection(name: str, feats: list[tuple]) -> dict:
    features = []
    codes = set()
    for props, lon, lat, conf, source, note in feats:
        if props["code"] in codes:
            raise SystemExit(f"duplicate code {props['code']}")
        codes.add(props["code"])
        props = {
            **props,
            "approximate": True,  # §8: all coordinates are approximate centroids (±3–5 km)
            "confidence": conf,
            "source": source,
            "note": note,
        }
        features.append({"type": "Feature", "properties": props, "geometry": _point(lon, lat)})
    return {"type": "FeatureCollection", "name": name, "features": features}


def _write(collection: dict, path: Path) -> None:
    text = json.dumps(collection, ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(collection['features'])} features, {path.stat().st_size} bytes)")


def main() -> None:
    out = REPO / "layers"
    out.mkdir(exist_ok=True)
    _write(facilities(), out / "facilities.geojson")
    _write(zone_centres(), out / "zone_centres.geojson")


if __name__ == "__main__":
    main()
