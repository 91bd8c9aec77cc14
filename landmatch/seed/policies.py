"""The plan's own measures as policy records (河北省2024年要素环境提升专项行动方案, §二–§六).

Numbers are the plan's. City- and zone-scoped records illustrate local land incentives and
are labelled as demo records in their source.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

PLAN = "河北省2024年要素环境提升专项行动方案"
ISSUER = "河北省人民政府办公厅"
ISSUED = dt.date(2024, 3, 1)
UNTIL_2024 = dt.date(2024, 12, 31)

STRATEGIC_EMERGING = ["27", "35", "36", "37", "38", "39", "40", "65", "73"]
MANUFACTURING = [str(c) for c in range(13, 44)]


def _p(code: str, title: str, kind: str, summary: str, section: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "code": code,
        "title": title,
        "issuer": kw.pop("issuer", ISSUER),
        "doc_no": kw.pop("doc_no", None),
        "issued_on": kw.pop("issued_on", ISSUED),
        "valid_from": kw.pop("valid_from", ISSUED),
        "valid_until": kw.pop("valid_until", None),
        "scope_level": kw.pop("scope_level", "province"),
        "scope_code": kw.pop("scope_code", "130000"),
        "industries": kw.pop("industries", []),
        "statuses": kw.pop("statuses", []),
        "land_uses": kw.pop("land_uses", []),
        "benefit_kind": kind,
        "benefit_rate": kw.pop("rate", None),
        "benefit_cap_wan": kw.pop("cap", None),
        "benefit_amount_wan": kw.pop("amount", None),
        "benefit_basis": kw.pop("basis", None),
        "conditions": kw.pop("conditions", {}),
        "summary": summary,
        "source": kw.pop("source", f"{PLAN} {section}"),
        "visibility": "public",
    }
    assert not kw, kw
    return row


def plan_policies() -> list[dict[str, Any]]:
    """Province-wide measures taken from the plan text."""
    return [
        _p("hb2024-land-flexible-supply", "工业用地长期租赁、先租后让、弹性年期出让", "supply_mode",
           "根据产业生命周期和项目用地需求，可采取长期租赁、先租后让、弹性年期出让等方式供地，降低企业初始用地成本。",
           "§二（二）", land_uses=["100101", "100102", "100103", "110101", "110102"],
           statuses=["ready"], basis="supply_modes"),
        _p("hb2024-land-standard", "工业用地“标准地”出让", "fast_track",
           "推进工业用地“标准地”出让：区域评估完成、控制指标随地公布、基础设施配套，拿地即可开工。",
           "§二（二）", land_uses=["100101", "100102", "100103"], statuses=["ready"]),
        _p("hb2024-regional-assessment", "省级以上开发区区域评估成果共享", "fast_track",
           "在省级以上开发区全面推广规划水资源论证、地质灾害危险性评估、压覆重要矿产资源评估、节能评估、环境影响评价、地震安全性评价、考古调查勘探、气候可行性论证、水土保持等区域评估，区内项目共享成果、不再单独评估。",
           "§二（二）", conditions={"zone_levels": ["national", "provincial"]}),
        _p("hb2024-mixed-use", "混合产业用地兼容仓储、物流、研发、办公、商业", "other",
           "支持以工业为主的单宗用地兼容仓储、物流、研发、办公、文旅、商业等混合用途。",
           "§二（二）", land_uses=["100101", "100102", "100103"]),
        _p("hb2024-presale-registration", "未完成投资25%的出让土地通过预告登记转让", "other",
           "对未完成开发投资总额25%以上的出让土地，探索通过土地预告登记实现建设用地使用权转让。",
           "§二（二）", statuses=["supplied", "idle"], rate=0.25, basis="invest_ratio_threshold"),
        _p("hb2024-unemployment-insurance", "阶段性降低失业保险费率至1%", "rate_cut",
           "阶段性降低失业保险费率为1%的政策延续至2024年底，减轻企业用工成本。",
           "§三（四）", rate=0.01, valid_until=UNTIL_2024, basis="payroll"),
        _p("hb2024-rd-post-subsidy", "企业研发投入后补助", "subsidy",
           "对满足条件的科技型企业，按照上一年度实际研发投入新增部分的10%予以补助，单个企业年度最高不超过100万元。",
           "§五（一）", rate=0.10, cap=100, basis="rd_increase",
           conditions={"enterprise_types": ["科技型企业"]}),
        _p("hb2024-equipment-subsidy", "县域特色产业集群“领跑者”设备更新补助", "subsidy",
           "对县域特色产业集群“领跑者”企业上年度更新生产、研发、检测、试验设备，按实际投入金额的20%给予补助，最高不超过500万元。",
           "§五（二）", rate=0.20, cap=500, basis="equipment_investment", industries=MANUFACTURING,
           conditions={"enterprise_types": ["县域特色产业集群“领跑者”"]}),
        _p("hb2024-national-platform", "晋级国家级创新平台奖励", "reward",
           "对晋级全国重点实验室、国家技术创新中心等国家级创新平台的，一次性给予300万元至500万元奖励性补助。",
           "§五（二）", amount=300, cap=500, basis="fixed",
           conditions={"requires": "晋级国家级创新平台"}),
        _p("hb2024-enterprise-tech-center", "新认定国家级企业技术中心、工程研究中心奖励", "reward",
           "对新认定的国家级企业技术中心、工程研究中心分别给予200万元奖励支持。",
           "§五（二）", amount=200, basis="fixed", conditions={"requires": "新认定国家级企业技术中心或工程研究中心"}),
        _p("hb2024-excellent-center", "国家评价优秀的企业中心、工程研究中心奖励", "reward",
           "对国家评价优秀的国家企业中心、工程研究中心每家给予100万元奖励支持。",
           "§五（二）", amount=100, basis="fixed", conditions={"requires": "国家评价优秀"}),
        _p("hb2024-micro-tech-center", "县域特色产业集群“微科技”创新中心奖励", "reward",
           "为集群提供先进技术转移落地服务且每年形成5项以上知识产权的“微科技”创新中心，给予300万元奖励。",
           "§五（二）", amount=300, basis="fixed", conditions={"requires": "每年形成5项以上知识产权"}),
        _p("hb2024-utility-hookup", "水电气热信联合报装、红线外费用不由用户承担", "fee_waiver",
           "全面推行水、电、气、热、通信等联合报装；除另有规定外，不得由用户承担建筑区划红线外发生的任何费用，市政接入外线许可并联办理不超过5个工作日。",
           "§六（一）（二）"),
        _p("hb2024-toll-container", "国际标准集装箱车辆通行费30%优惠", "fee_waiver",
           "国际标准集装箱车辆享受通行费30%优惠。", "§六（三）", rate=0.30, basis="toll",
           industries=["58", "59"]),
        _p("hb2024-toll-oversize", "大件运输7轴及以上车辆通行费51%优惠", "fee_waiver",
           "办理大件运输许可的7轴及以上运输车辆享受通行费51%优惠。", "§六（三）", rate=0.51,
           basis="toll", industries=["34", "35", "37", "38", "58", "59"]),
        _p("hb2024-energy-quota-free", "战略性新兴产业用能指标无偿配置", "energy_quota",
           "对战略性新兴产业、现代服务业、农产品精深加工业等重点项目，实行用能（不含用煤）指标无偿配置。",
           "§六（四）", industries=STRATEGIC_EMERGING + ["13", "14"], basis="energy_tce"),
        _p("hb2024-energy-guarantee", "低能耗高效益项目全额保障用能", "energy_quota",
           "对能耗强度低于当地且不高于全省“十四五”末平均水平的低能耗高效益项目，全额保障用能需求。",
           "§六（四）", conditions={"max_energy_per_value": "below_local_average"}),
    ]


def local_policies(city_codes: list[str], zones: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Demo city- and zone-scoped land incentives. ``zones`` holds (code, name, city_code)."""
    rows = []
    for city in city_codes:
        rows.append(_p(
            f"demo-{city}-land-price", "工业用地出让价格优惠（演示）", "land_price_discount",
            "对投资强度和亩均税收达到标准地指标的制造业项目，按不低于全国工业用地出让最低价标准的70%确定出让底价（演示政策）。",
            "", scope_level="city", scope_code=city, issuer="市人民政府（演示）",
            industries=MANUFACTURING, statuses=["ready"], rate=0.10,
            basis="land_price", conditions={"min_investment_wan": 10000},
            source="演示数据：示意性地方政策，非正式文件"))
    for code, name, _city in zones:
        rows.append(_p(
            f"demo-{code}-rent-free", f"{name}标准厂房租金减免（演示）", "subsidy",
            "入驻区内标准厂房的制造业企业，前两年租金全额补助、第三年减半（演示政策）。",
            "", scope_level="zone", scope_code=code, issuer=f"{name}管委会（演示）",
            industries=MANUFACTURING, rate=1.0, cap=200, basis="rent",
            source="演示数据：示意性园区政策，非正式文件"))
    return rows
