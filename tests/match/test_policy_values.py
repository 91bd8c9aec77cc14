"""Policy values (issue #15 §2 policy package): every measure with a rate and a cap gets a 万元
value when its inputs are given, checked against figures computed by hand, with the formula
shown; a missing input or qualification is named instead."""

from __future__ import annotations

from typing import Any

import pytest

from landmatch.match.policy_values import estimate
from landmatch.match.requirements import Requirement
from landmatch.match.scores import PolicyInfo
from landmatch.seed.policies import local_policies, plan_policies


def _pol(row: dict[str, Any]) -> PolicyInfo:
    return PolicyInfo(
        row["code"],
        row["title"],
        row["scope_level"],
        row["scope_code"],
        row["industries"],
        row["statuses"],
        row["land_uses"],
        row["benefit_kind"],
        row["benefit_rate"],
        row["benefit_cap_wan"],
        row["benefit_amount_wan"],
        row["benefit_basis"],
        row["conditions"],
        row["summary"],
        row["valid_from"],
        row["valid_until"],
    )


PLAN = {p["code"]: _pol(p) for p in plan_policies()}
ALL_TYPES = ["tech_enterprise", "cluster_leader", "high_tech", "micro_small", "tech_sme"]


@pytest.mark.parametrize(
    ("code", "inputs", "value", "formula"),
    [
        # 研发投入后补助: 10 % of the increase, at most 100 万元.
        ("hb2024-rd-post-subsidy", {"rd_increase_wan": 600}, 60.0, "10% × 600 万元 = 60 万元"),
        (
            "hb2024-rd-post-subsidy",
            {"rd_increase_wan": 1500},
            100.0,
            "10% × 1,500 万元 = 150，封顶 100 万元",
        ),
        # 设备更新补助: 20 % of the equipment investment, at most 500 万元.
        (
            "hb2024-equipment-subsidy",
            {"equipment_investment_wan": 1000},
            200.0,
            "20% × 1,000 万元 = 200 万元",
        ),
        (
            "hb2024-equipment-subsidy",
            {"equipment_investment_wan": 3000},
            500.0,
            "20% × 3,000 万元 = 600，封顶 500 万元",
        ),
        # 通行费: 30 % (集装箱), 51 % (大件) of the year's tolls.
        (
            "hb2024-toll-container",
            {"container_toll_wan": 40},
            12.0,
            "30% × 集装箱车辆年通行费 40 万元 = 12 万元",
        ),
        (
            "hb2024-toll-oversize",
            {"oversize_toll_wan": 100},
            51.0,
            "51% × 大件运输车辆年通行费 100 万元 = 51 万元",
        ),
        # 定额奖励 (300–500 万元 reward: the amount stated, under its cap).
        ("hb2024-enterprise-tech-center", {}, None, None),
    ],
)
def test_plan_measures_by_hand(
    code: str, inputs: dict[str, Any], value: float | None, formula: str | None
) -> None:
    req = Requirement(enterprise_types=ALL_TYPES, **inputs)
    est = estimate(PLAN[code], req, None, 0.0)
    assert est.value_wan == value
    assert est.formula == formula


def test_every_plan_measure_with_rate_and_cap_gets_a_value_when_its_inputs_are_given() -> None:
    req = Requirement(
        enterprise_types=ALL_TYPES,
        rd_increase_wan=800,
        equipment_investment_wan=1200,
        container_toll_wan=50,
        oversize_toll_wan=50,
    )
    with_rate_and_cap = [p for p in PLAN.values() if p.rate is not None and p.cap is not None]
    assert {p.code for p in with_rate_and_cap} >= {
        "hb2024-rd-post-subsidy",
        "hb2024-equipment-subsidy",
    }
    for p in with_rate_and_cap:
        assert estimate(p, req, 30.0, 100.0).value_wan is not None, p.code
    assert estimate(PLAN["hb2024-rd-post-subsidy"], req, None, 0).value_wan == 80.0
    assert estimate(PLAN["hb2024-equipment-subsidy"], req, None, 0).value_wan == 240.0


def test_missing_inputs_are_named() -> None:
    rd = PLAN["hb2024-rd-post-subsidy"]
    est = estimate(rd, Requirement(), None, 0)
    assert est.value_wan is None and est.note == "需按条件核定：企业须为科技型企业"
    est = estimate(rd, Requirement(enterprise_types=["tech_enterprise"]), None, 0)
    assert est.note == "需按条件核定：研发投入增量（万元）"
    est = estimate(PLAN["hb2024-toll-container"], Requirement(), None, 0)
    assert est.note == "需按条件核定：集装箱车辆年通行费（万元）"
    est = estimate(PLAN["hb2024-national-platform"], Requirement(), None, 0)
    assert est.note == "需按条件核定：晋级国家级创新平台"


def test_land_price_discount_and_fixed_amounts() -> None:
    land = PolicyInfo(
        "x-land",
        "地价优惠",
        "city",
        "130100",
        (),
        (),
        (),
        "land_price_discount",
        0.2,
        300.0,
        None,
        None,
        {},
        "",
        None,
        None,
    )
    # 20 % × 30 万元/亩 × 100 亩 = 600, capped at 300.
    est = estimate(land, Requirement(), 30.0, 100.0)
    assert (
        est.value_wan == 300.0 and est.formula == "20% × 30 万元/亩 × 100 亩 = 600，封顶 300 万元"
    )
    uncapped = PolicyInfo(**{**land.__dict__, "cap": None})
    assert estimate(uncapped, Requirement(), 30.0, 100.0).value_wan == 600.0
    assert estimate(land, Requirement(), None, 100.0).note == "需按条件核定：地块参考地价（未公开）"
    fixed = PolicyInfo(
        **{
            **land.__dict__,
            "benefit_kind": "reward",
            "basis": "fixed",
            "amount": 200.0,
            "cap": None,
        }
    )
    assert estimate(fixed, Requirement(), None, 0).value_wan == 200.0


LOCAL = {p["code"]: _pol(p) for p in local_policies(["130100"], [("Z1", "示例开发区", "130100")])}


@pytest.mark.parametrize(
    ("inputs", "value", "formula"),
    [
        # 用能指标无偿配置 (不含用煤): 500 元/吨标煤 × (20,000 − 5,000) 吨标煤 = 750 万元.
        (
            {"energy_tce": 20000, "coal_tce": 5000},
            750.0,
            "用能权参考价（示意，按当地交易价核定） 500 元/吨标煤 × "
            "（年综合能耗 20,000 − 用煤 5,000）吨标煤 = 750 万元",
        ),
        # No coal figure: all of it counted as non-coal, and said so. 0.05 × 3,000 = 150.
        (
            {"energy_tce": 3000},
            150.0,
            "用能权参考价（示意，按当地交易价核定） 500 元/吨标煤 × "
            "（年综合能耗 3,000（未填用煤量，按全部非煤计））吨标煤 = 150 万元",
        ),
        # Coal above the total: nothing left to allocate.
        ({"energy_tce": 1000, "coal_tce": 1200}, 0.0, None),
    ],
)
def test_energy_quota_by_hand(inputs: dict[str, Any], value: float, formula: str | None) -> None:
    est = estimate(PLAN["hb2024-energy-quota-free"], Requirement(**inputs), None, 0.0)
    assert est.value_wan == value
    if formula is not None:
        assert est.formula == formula


def test_energy_quota_uses_the_policys_own_price_and_names_what_is_missing() -> None:
    pol = PolicyInfo(**{**PLAN["hb2024-energy-quota-free"].__dict__, "rate": 0.03})
    est = estimate(pol, Requirement(energy_tce=12000, coal_tce=2000), None, 0.0)
    # 300 元/吨标煤 × 10,000 吨标煤 = 300 万元.
    assert est.value_wan == 300.0
    assert (
        est.formula
        == "用能权价格 300 元/吨标煤 × （年综合能耗 12,000 − 用煤 2,000）吨标煤 = 300 万元"
    )
    est = estimate(PLAN["hb2024-energy-quota-free"], Requirement(), None, 0.0)
    assert est.note == "需按条件核定：年综合能耗（吨标煤）"
    # The exemptions of the same kind carry no price of their own.
    for code in ("hb2024-feedstock-energy", "hb2024-energy-guarantee"):
        assert estimate(PLAN[code], Requirement(energy_tce=5000), None, 0.0).value_wan is None


@pytest.mark.parametrize(
    ("rent", "value", "formula"),
    [
        # 前两年全额、第三年减半: 100 % × 60 万元 × 2.5 年 = 150 万元.
        (60, 150.0, "100% × 年租金 60 万元 × 2.5 年 = 150 万元"),
        # 100 % × 100 万元 × 2.5 年 = 250, capped at 200 万元.
        (100, 200.0, "100% × 年租金 100 万元 × 2.5 年 = 250，封顶 200 万元"),
    ],
)
def test_zone_rent_measure_by_hand(rent: float, value: float, formula: str) -> None:
    est = estimate(LOCAL["demo-Z1-rent-free"], Requirement(factory_rent_wan=rent), None, 0.0)
    assert (est.value_wan, est.formula) == (value, formula)
    missing = estimate(LOCAL["demo-Z1-rent-free"], Requirement(), None, 0.0)
    assert missing.note == "需按条件核定：标准厂房年租金（万元）"


def test_every_measure_with_rate_and_cap_local_ones_too_gets_a_value() -> None:
    req = Requirement(
        enterprise_types=ALL_TYPES,
        investment_wan=50000,
        rd_increase_wan=800,
        equipment_investment_wan=1200,
        container_toll_wan=50,
        oversize_toll_wan=50,
        energy_tce=10000,
        factory_rent_wan=40,
    )
    policies = [*PLAN.values(), *LOCAL.values()]
    with_rate_and_cap = [p for p in policies if p.rate is not None and p.cap is not None]
    assert "demo-Z1-rent-free" in {p.code for p in with_rate_and_cap}
    for p in with_rate_and_cap:
        assert estimate(p, req, 30.0, 100.0).value_wan is not None, p.code
    assert estimate(PLAN["hb2024-energy-quota-free"], req, None, 0.0).value_wan == 500.0
