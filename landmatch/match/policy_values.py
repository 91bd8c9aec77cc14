"""A policy's estimated 万元 value for one project on one site, with the formula shown, or the
input that is missing (需按条件核定).

Builds on :func:`landmatch.match.scores.policy_value` (land-price discounts and fixed amounts,
as the ranking uses them) and adds the measures whose value depends on the project's own
figures, entered as optional fields of the requirement:

* ``rd_increase`` — 研发投入后补助: rate × 研发投入增量, capped (10 %, ≤ 100 万元);
* ``equipment_investment`` — 设备更新补助: rate × 设备投资, capped (20 %, ≤ 500 万元);
* ``toll`` — 通行费优惠: rate × the year's tolls of the vehicles the measure names (国际标准集装箱
  or 大件运输, told apart by the policy's title);
* an enterprise qualification the policy requires (``conditions.enterprise_types``) is met when
  the requirement names one of them; otherwise the value needs it.

Which policies apply is decided elsewhere (``landmatch.policies.applicability``); this only
values them.
"""

from __future__ import annotations

from dataclasses import dataclass

from landmatch import vocab
from landmatch.match.readable import num
from landmatch.match.requirements import Requirement
from landmatch.match.scores import PolicyInfo


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


def parcel_estimate(pol: PolicyInfo, price: float | None, area_mu: float) -> Estimate:
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


def estimate(pol: PolicyInfo, req: Requirement, price: float | None, area_mu: float) -> Estimate:
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
            f"{num(rate * 100)}% × {num(price)} 万元/亩 × {num(area_mu)} 亩",
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
    return Estimate(None, None, None)
