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

UNTIL_JUNE = dt.date(2024, 6, 30)
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
        _p(
            "hb2024-land-flexible-supply",
            "工业用地长期租赁、先租后让、弹性年期出让",
            "supply_mode",
            "根据产业生命周期和项目用地需求，可采取长期租赁、先租后让、弹性年期出让等方式供地，降低企业初始用地成本。",
            "§二（二）",
            land_uses=["100101", "100102", "100103", "110101", "110102"],
            statuses=["ready"],
            basis="supply_modes",
        ),
        _p(
            "hb2024-land-standard",
            "工业用地“标准地”出让",
            "fast_track",
            "推进工业用地“标准地”出让：区域评估完成、控制指标随地公布、基础设施配套，拿地即可开工。",
            "§二（二）",
            land_uses=["100101", "100102", "100103"],
            statuses=["ready"],
        ),
        _p(
            "hb2024-regional-assessment",
            "省级以上开发区区域评估成果共享",
            "fast_track",
            "在省级以上开发区全面推广规划水资源论证、地质灾害危险性评估、压覆重要矿产资源评估、节能评估、环境影响评价、地震安全性评价、考古调查勘探、气候可行性论证、水土保持等区域评估，区内项目共享成果、不再单独评估。",
            "§二（二）",
            conditions={"zone_levels": ["national", "provincial"]},
        ),
        _p(
            "hb2024-mixed-use",
            "混合产业用地兼容仓储、物流、研发、办公、商业",
            "other",
            "支持以工业为主的单宗用地兼容仓储、物流、研发、办公、文旅、商业等混合用途。",
            "§二（二）",
            land_uses=["100101", "100102", "100103"],
        ),
        _p(
            "hb2024-presale-registration",
            "未完成投资25%的出让土地通过预告登记转让",
            "other",
            "对未完成开发投资总额25%以上的出让土地，探索通过土地预告登记实现建设用地使用权转让。",
            "§二（二）",
            statuses=["supplied", "idle"],
            rate=0.25,
            basis="invest_ratio_threshold",
        ),
        _p(
            "hb2024-unemployment-insurance",
            "阶段性降低失业保险费率至1%",
            "rate_cut",
            "阶段性降低失业保险费率为1%的政策延续至2024年底，减轻企业用工成本。",
            "§三（四）",
            rate=0.01,
            valid_until=UNTIL_2024,
            basis="payroll",
        ),
        _p(
            "hb2024-rd-post-subsidy",
            "企业研发投入后补助",
            "subsidy",
            "对满足条件的科技型企业，按照上一年度实际研发投入新增部分的10%予以补助，单个企业年度最高不超过100万元。",
            "§五（一）",
            rate=0.10,
            cap=100,
            basis="rd_increase",
            conditions={"enterprise_types": ["tech_enterprise"]},
        ),
        _p(
            "hb2024-equipment-subsidy",
            "县域特色产业集群“领跑者”设备更新补助",
            "subsidy",
            "对县域特色产业集群“领跑者”企业上年度更新生产、研发、检测、试验设备，按实际投入金额的20%给予补助，最高不超过500万元。",
            "§五（二）",
            rate=0.20,
            cap=500,
            basis="equipment_investment",
            industries=MANUFACTURING,
            conditions={"enterprise_types": ["cluster_leader"]},
        ),
        _p(
            "hb2024-national-platform",
            "晋级国家级创新平台奖励",
            "reward",
            "对晋级全国重点实验室、国家技术创新中心等国家级创新平台的，一次性给予300万元至500万元奖励性补助。",
            "§五（二）",
            amount=300,
            cap=500,
            basis="fixed",
            conditions={"requires": "晋级国家级创新平台"},
        ),
        _p(
            "hb2024-enterprise-tech-center",
            "新认定国家级企业技术中心、工程研究中心奖励",
            "reward",
            "对新认定的国家级企业技术中心、工程研究中心分别给予200万元奖励支持。",
            "§五（二）",
            amount=200,
            basis="fixed",
            conditions={"requires": "新认定国家级企业技术中心或工程研究中心"},
        ),
        _p(
            "hb2024-excellent-center",
            "国家评价优秀的企业中心、工程研究中心奖励",
            "reward",
            "对国家评价优秀的国家企业中心、工程研究中心每家给予100万元奖励支持。",
            "§五（二）",
            amount=100,
            basis="fixed",
            conditions={"requires": "国家评价优秀"},
        ),
        _p(
            "hb2024-micro-tech-center",
            "县域特色产业集群“微科技”创新中心奖励",
            "reward",
            "为集群提供先进技术转移落地服务且每年形成5项以上知识产权的“微科技”创新中心，给予300万元奖励。",
            "§五（二）",
            amount=300,
            basis="fixed",
            conditions={"requires": "每年形成5项以上知识产权"},
        ),
        _p(
            "hb2024-utility-hookup",
            "水电气热信联合报装、红线外费用不由用户承担",
            "fee_waiver",
            "全面推行水、电、气、热、通信等联合报装；除另有规定外，不得由用户承担建筑区划红线外发生的任何费用，市政接入外线许可并联办理不超过5个工作日。",
            "§六（一）（二）",
        ),
        _p(
            "hb2024-toll-container",
            "国际标准集装箱车辆通行费30%优惠",
            "fee_waiver",
            "国际标准集装箱车辆享受通行费30%优惠。",
            "§六（三）",
            rate=0.30,
            basis="toll",
            industries=["58", "59"],
        ),
        _p(
            "hb2024-toll-oversize",
            "大件运输7轴及以上车辆通行费51%优惠",
            "fee_waiver",
            "办理大件运输许可的7轴及以上运输车辆享受通行费51%优惠。",
            "§六（三）",
            rate=0.51,
            basis="toll",
            industries=["34", "35", "37", "38", "58", "59"],
        ),
        _p(
            "hb2024-energy-quota-free",
            "战略性新兴产业用能指标无偿配置",
            "energy_quota",
            "对战略性新兴产业、现代服务业、农产品精深加工业等重点项目，实行用能（不含用煤）指标无偿配置。",
            "§六（四）",
            industries=STRATEGIC_EMERGING + ["13", "14"],
            basis="energy_tce",
        ),
        _p(
            "hb2024-energy-guarantee",
            "低能耗高效益项目全额保障用能",
            "energy_quota",
            "对能耗强度低于当地且不高于全省“十四五”末平均水平的低能耗高效益项目，全额保障用能需求。",
            "§六（四）",
            conditions={"max_energy_per_value": "below_local_average"},
        ),
        *more_plan_policies(),
    ]


def more_plan_policies() -> list[dict[str, Any]]:
    """The remaining measures of §二–§六 a project or a parcel can benefit from."""
    return [
        _p(
            "hb2024-key-project-land",
            "省重点项目用地应保尽保",
            "other",
            "省重点项目用地应保尽保，10月底前年度急需土地指标全部落实；坚持项目跟着规划走、土地跟着项目走。",
            "§二（一）",
            basis="land_quota",
            conditions={"requires": "列入省重点项目"},
        ),
        _p(
            "hb2024-treasury-bond-land",
            "增发国债项目用地6月底前完成报批",
            "fast_track",
            "全力保障重大基础设施、灾后恢复重建等国债项目用地需求，力争6月底前完成增发国债项目用地报批。",
            "§二（一）",
            valid_until=UNTIL_JUNE,
            conditions={"requires": "增发国债项目"},
        ),
        _p(
            "hb2024-standard-factory",
            "开发区标准化厂房",
            "other",
            "严格使用专项债券建设标准厂房的考核评价，引导开发区有序适度建设标准化厂房，企业可租用标准厂房快速落地。",
            "§二（二）",
            industries=MANUFACTURING,
        ),
        _p(
            "hb2024-multi-survey",
            "“多测合一”测绘服务",
            "fast_track",
            "深化“多测合一”改革，拓展信息服务平台应用，项目建设各阶段测绘成果一次委托、共享互认。",
            "§二（三）",
        ),
        _p(
            "hb2024-skills-training",
            "补贴性职业技能培训与订单式培养",
            "subsidy",
            "开展补贴性职业技能培训34万人次以上；鼓励企业联合职业院校开展定向培训、岗前培训、订单式培养、套餐式培训。",
            "§三（一）",
            basis="training",
        ),
        _p(
            "hb2024-innovation-teams",
            "重点产业领域创新团队引进培育",
            "other",
            "全年引进培育30个重点产业领域创新团队；年内全职引进15名左右国家高层次创新型科技人才；实施海内外“高精尖缺”人才引进工程。",
            "§三（二）",
        ),
        _p(
            "hb2024-tech-award-tax",
            "职务科技成果转化现金奖励个人所得税减半征收",
            "rate_cut",
            "落实职务科技成果转化现金奖励个人所得税减半征收政策。",
            "§三（三）",
            rate=0.5,
            basis="individual_income_tax",
        ),
        _p(
            "hb2024-equity-incentive-tax",
            "股权激励个人所得税递延纳税",
            "rate_cut",
            "落实股权激励个人所得税递延纳税政策。",
            "§三（三）",
            basis="individual_income_tax",
        ),
        _p(
            "hb2024-zone-talent-training",
            "开发区企业人才共性培训",
            "other",
            "省级以上开发区管委会和县域特色产业集群所在地政府，年内围绕企业人才的共性需求开展2次以上培训。",
            "§三（三）",
            conditions={"zone_levels": ["national", "provincial"]},
        ),
        _p(
            "hb2024-incubators",
            "创业孵化基地优化升级",
            "other",
            "开展“创业环境优化”“创业主体培育”等系列活动，优化升级创业孵化基地50个。",
            "§三（三）",
            conditions={"enterprise_types": ["micro_small"]},
        ),
        _p(
            "hb2024-employment-service",
            "重点企业用工常态化服务",
            "other",
            "鼓励企业纳入全国重点企业用工常态化服务调度系统，细化岗位需求清单；全年组织线上线下招聘活动1500余场，发布岗位100余万个。",
            "§三（四）",
        ),
        _p(
            "hb2024-inclusive-finance",
            "首贷续贷服务、融资担保和小微企业贷款风险补偿",
            "other",
            "政务服务大厅开设金融服务窗口，设区的市首贷续贷服务中心试点全覆盖；发展市级融资担保机构；鼓励设立中小微企业贷款风险补偿资金。",
            "§四（一）",
            basis="financing",
            conditions={"enterprise_types": ["micro_small"]},
        ),
        _p(
            "hb2024-patent-pledge",
            "科技企业贷款风险补偿、专利权质押融资贴息补助",
            "subsidy",
            "落实科技企业贷款风险补偿、专利权质押融资贴息补助等政策，鼓励专业机构开展知识产权专业化评估。",
            "§四（二）",
            basis="loan_interest",
            conditions={"enterprise_types": ["tech_enterprise", "tech_sme", "high_tech"]},
        ),
        _p(
            "hb2024-listing-support",
            "专精特新、高新技术企业上市和债券融资支持",
            "other",
            "加强对专精特新、高新技术等领域优质企业的支持，梯次推进企业上市；支持符合条件的企业发行公司信用类债券。",
            "§四（二）",
            basis="financing",
            conditions={"enterprise_types": ["specialised", "little_giant", "high_tech"]},
        ),
        _p(
            "hb2024-tech-funds",
            "科技投资引导基金与主题基金",
            "other",
            "扩大科技投资引导基金规模，围绕京津冀协同发展和雄安新区创新发展等设立或增资5至8支主题基金。",
            "§四（二）",
            basis="equity",
            conditions={"enterprise_types": ["tech_enterprise", "high_tech"]},
        ),
        _p(
            "hb2024-data-loan",
            "“工商联数据贷”一键测额",
            "other",
            "推广“工商联数据贷”模式，运用企业信用评价及经营数据，实现企业授信“一键测额”、贷款申请一站办理。",
            "§四（三）",
            basis="financing",
        ),
        _p(
            "hb2024-rd-super-deduction",
            "研发费用加计扣除“事前鉴定”",
            "rate_cut",
            "优化“智慧河北”加计扣除平台功能，开展企业自主申报“事前鉴定”服务试点，让企业更快享受研发费用加计扣除政策。",
            "§五（一）",
            basis="rd_expense",
        ),
        _p(
            "hb2024-tech-envoys",
            "科技特派团“一对一”服务",
            "other",
            "实施科技特派团“百千万”行动，强化“一对一”精准服务，新增“小巨人”企业实现科技特派团全覆盖。",
            "§五（三）",
            conditions={"enterprise_types": ["little_giant"]},
        ),
        _p(
            "hb2024-pilot-bases",
            "中试熟化基地",
            "other",
            "依托京南科技成果转移转化示范区和高新区等创新园区及龙头企业，共建中试熟化基地5家以上。",
            "§五（三）",
            industries=STRATEGIC_EMERGING,
        ),
        _p(
            "hb2024-power-priority",
            "省重点项目用电超前保障",
            "fast_track",
            "超前获取信息、超前主动服务、超前启动建设，3月底前完成省重点项目用电需求确认，配套制定电网工程建设时序。",
            "§六（一）",
            basis="power",
            conditions={"requires": "列入省重点项目"},
        ),
        _p(
            "hb2024-tou-tariff",
            "峰谷分时电价",
            "other",
            "加大峰谷分时电价政策宣传力度，引导经营主体错峰生产，有效降低用电成本。",
            "§六（二）",
            basis="power",
        ),
        _p(
            "hb2024-gas-transit",
            "清理天然气转供代输价格",
            "fee_waiver",
            "9月底前完成天然气转供代输环节清理规范，取消没有实质性管网投入及不需要提供输配服务的管道代输价格。",
            "§六（二）",
            basis="gas",
        ),
        _p(
            "hb2024-feedstock-energy",
            "原料用能和可再生能源消费不纳入能耗双控",
            "energy_quota",
            "对企业原料用能和可再生能源消费，不纳入能源消费总量和强度控制。",
            "§六（四）",
            basis="energy_tce",
        ),
        _p(
            "hb2024-green-trading",
            "排污权、用能权、绿电绿证交易",
            "other",
            "深入推进排污权市场化交易，探索开展用能权交易，增加绿电交易品种和频次。",
            "§六（四）",
            basis="energy_tce",
        ),
    ]


def local_policies(
    city_codes: list[str], zones: list[tuple[str, str, str]]
) -> list[dict[str, Any]]:
    """Demo city- and zone-scoped land incentives. ``zones`` holds (code, name, city_code)."""
    rows = []
    for city in city_codes:
        rows.append(
            _p(
                f"demo-{city}-land-price",
                "工业用地出让价格优惠（演示）",
                "land_price_discount",
                "对投资强度和亩均税收达到标准地指标的制造业项目，按不低于全国工业用地出让最低价标准的70%确定出让底价（演示政策）。",
                "",
                scope_level="city",
                scope_code=city,
                issuer="市人民政府（演示）",
                industries=MANUFACTURING,
                statuses=["ready"],
                rate=0.10,
                basis="land_price",
                conditions={"min_investment_wan": 10000},
                source="演示数据：示意性地方政策，非正式文件",
            )
        )
    for code, name, _city in zones:
        rows.append(
            _p(
                f"demo-{code}-rent-free",
                f"{name}标准厂房租金减免（演示）",
                "subsidy",
                "入驻区内标准厂房的制造业企业，前两年租金全额补助、第三年减半（演示政策）。",
                "",
                scope_level="zone",
                scope_code=code,
                issuer=f"{name}管委会（演示）",
                industries=MANUFACTURING,
                rate=1.0,
                cap=200,
                basis="rent",
                conditions={"rent_years": 2.5},  # two years in full, the third half
                source="演示数据：示意性园区政策，非正式文件",
            )
        )
    return rows
