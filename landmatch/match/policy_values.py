"""A policy's estimated 万元 value for one project on one site, with the formula shown, or the
input that is missing (需按条件核定).

Builds on :func:`landmatch.match.scores.policy_value` (land-price discounts and fixed amounts,
as the ranking uses them) and adds the measures whose value depends on the project's own
figures, entered as optional fields of the requirement:

* ``rd_increase`` — 研发投入后补助: rate × 研发投入增量, capped (10 %, ≤ 100 万元);
* ``equipment_investment`` — 设备更新补助: rate × 设备投资, capped (20 %, ≤ 500 万元);
* ``toll`` — 通行费优惠: rate × the year's tolls of the vehicles the measure names (国际标准集装箱
  or 大件运输, told apart by the policy's title);
* ``energy_tce`` (用能指标无偿配置, ``energy_quota``) — the quota the project would otherwise
  buy: 用能权 price × 年综合能耗 less its coal (不含用煤). The plan names no price: the policy's
  rate (万元/吨标煤, editable in the policy library) or else :data:`ENERGY_QUOTA_WAN_PER_TCE`, an
  illustrative reference price shown as such in the formula;
* ``rent`` — 厂房租金补助: rate × 标准厂房年租金 × the years the measure covers
  (``conditions.rent_years``, e.g. 2.5 for "前两年全额、第三年减半"; 1 when not stated), capped;
* an enterprise qualification the policy requires (``conditions.enterprise_types``) is met when
  the requirement names one of them; otherwise the value needs it.

Which policies apply is decided elsewhere (``landmatch.policies.applicability``); this only
values them.
"""

from __future__ import annotations

from dataclasses import dataclass

from landmatch import vocab
from landmatch.match.requirements import Requirement
from landmatch.numbers import mu, num
from landmatch.policies.applicability import Policy

#: 用能权 reference price (万元 per 吨标煤) for valuing a free energy quota when the policy record
#: sets none: illustrative (500 元/吨标煤), to be replaced by the local 用能权 trading price.
ENERGY_QUOTA_WAN_PER_TCE = 0.05


@dataclass(frozen=True)
class Estimate:
    value_wan: float | None
    formula: str | None  # how the value was computed, in words with the figures
    missing: str | None  # what is needed when there is no value
    # What a project must meet for the value (parcel_estimate: none is known yet).
    conditions: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        if self.value_wan is not None:
            return self.formula or "可估算"
        return f"需按条件核定：{self.missing}" if self.missing else "需按条件核定"


def _capped(value: float, cap: float | None, formula: str) -> Estimate:
    if cap is not None and value > cap:
        return Estimate(
            round(float(cap), 2), f"{formula} = {num(value, 2)}，封顶 {num(cap, 2)} 万元", None
        )
    return Estimate(round(value, 2), f"{formula} = {num(value, 2)} 万元", None)


def _industries(codes: tuple[str, ...]) -> str:
    from landmatch import industry_codes

    names = [industry_codes.name(c) or c for c in codes]
    if len(names) <= 2:
        return "限" + "、".join(names)
    return f"限{'、'.join(names[:2])}等 {len(names)} 个行业"


def parcel_estimate(pol: Policy, price: float | None, area_mu: float) -> Estimate:
    """What the parcel alone says of a policy's value (a card, a brochure: no project yet):
    :func:`estimate` for a project that meets the policy's investment threshold and gives no
    figure of its own — so the value where the parcel's figures suffice (land-price discounts:
    the public reference price × area; fixed amounts) — with the conditions a project must meet
    for it (``conditions``: investment, industry). No value for awards to an enterprise's
    qualification or achievement (``requires``, ``enterprise_types``): the enterprise decides
    those, not the parcel."""
    cond = pol.conditions
    if cond.get("requires"):
        return Estimate(None, None, str(cond["requires"]))
    if cond.get("enterprise_types"):
        return estimate(pol, Requirement(), price, area_mu)
    min_inv = cond.get("min_investment_wan")
    meets = Requirement(investment_wan=float(min_inv)) if min_inv is not None else Requirement()
    est = estimate(pol, meets, price, area_mu)
    if est.value_wan is None:
        return est
    conditions = [] if min_inv is None else [f"总投资不低于 {num(min_inv, 0)} 万元"]
    if pol.industries:
        conditions.append(_industries(pol.industries))
    return Estimate(est.value_wan, est.formula, None, tuple(conditions))


def estimate(pol: Policy, req: Requirement, price: float | None, area_mu: float) -> Estimate:
    cond = pol.conditions
    if cond.get("requires"):
        return Estimate(None, None, str(cond["requires"]))
    wanted = cond.get("enterprise_types") or []
    if wanted and not set(wanted) & set(req.enterprise_types):
        names = "或".join(vocab.ENTERPRISE_TYPES.get(t, t) for t in wanted)
        return Estimate(None, None, f"企业须为{names}")
    min_inv = cond.get("min_investment_wan")
    if min_inv is not None and (req.investment_wan is None or req.investment_wan < min_inv):
        return Estimate(None, None, f"总投资不低于 {num(min_inv, 0)} 万元")
    rate = float(pol.rate) if pol.rate is not None else None
    cap = float(pol.cap) if pol.cap is not None else None
    if pol.benefit_kind == "land_price_discount" and rate:
        if price is None:
            return Estimate(None, None, "地块参考地价（未公开）")
        return _capped(
            rate * price * area_mu,
            cap,
            f"{num(rate * 100)}% × {num(price)} 万元/亩 × {mu(area_mu)} 亩",
        )
    if pol.basis == "fixed" and pol.amount is not None:
        return _capped(float(pol.amount), cap, "定额")
    if pol.basis == "rd_increase" and rate:
        if req.rd_increase_wan is None:
            return Estimate(None, None, "研发投入增量（万元）")
        return _capped(
            rate * req.rd_increase_wan, cap, f"{num(rate * 100)}% × {num(req.rd_increase_wan)} 万元"
        )
    if pol.basis == "equipment_investment" and rate:
        if req.equipment_investment_wan is None:
            return Estimate(None, None, "设备投资（万元）")
        return _capped(
            rate * req.equipment_investment_wan,
            cap,
            f"{num(rate * 100)}% × {num(req.equipment_investment_wan)} 万元",
        )
    if pol.basis == "toll" and rate:
        container = "集装箱" in pol.title
        toll = req.container_toll_wan if container else req.oversize_toll_wan
        label = "集装箱车辆年通行费" if container else "大件运输车辆年通行费"
        if toll is None:
            return Estimate(None, None, f"{label}（万元）")
        return _capped(rate * toll, cap, f"{num(rate * 100)}% × {label} {num(toll)} 万元")
    if pol.benefit_kind == "energy_quota" and pol.basis == "energy_tce":
        return _energy_quota(pol, req, rate)
    if pol.basis == "rent" and rate:
        if req.factory_rent_wan is None:
            return Estimate(None, None, "标准厂房年租金（万元）")
        years = float(cond.get("rent_years") or 1)
        return _capped(
            rate * req.factory_rent_wan * years,
            cap,
            f"{num(rate * 100)}% × 年租金 {num(req.factory_rent_wan)} 万元 × {num(years)} 年",
        )
    return Estimate(None, None, None)


def _energy_quota(pol: Policy, req: Requirement, rate: float | None) -> Estimate:
    """A free energy quota (不含用煤) valued at the 用能权 price the project would otherwise pay.
    Only the measure that allocates the quota free of charge (无偿配置) is valued: the others of
    its kind (exemptions from the energy caps) have no price of their own."""
    if "无偿" not in pol.title:
        return Estimate(None, None, None)
    if req.energy_tce is None:
        return Estimate(None, None, "年综合能耗（吨标煤）")
    coal = req.coal_tce or 0.0
    tce = max(req.energy_tce - coal, 0.0)
    price = rate if rate else ENERGY_QUOTA_WAN_PER_TCE
    source = "用能权价格" if rate else "用能权参考价（示意，按当地交易价核定）"
    less = f" − 用煤 {num(coal)}" if req.coal_tce is not None else "（未填用煤量，按全部非煤计）"
    formula = (
        f"{source} {num(price * 10000, 0)} 元/吨标煤 × "
        f"（年综合能耗 {num(req.energy_tce)}{less}）吨标煤"
    )
    return _capped(price * tce, float(pol.cap) if pol.cap is not None else None, formula)
