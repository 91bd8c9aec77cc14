"""Scores: each criterion gives a score in [0, 1] per parcel; weights combine them.

The per-parcel scores are SQL expressions (so the database ranks and cuts to the top N);
the zone and city context (zone industry fit, regional assessments still valid, the policies
that apply and their value) is computed here from the small reference tables and joined in as
a lookup. ``combine`` turns scores and weights into contributions that sum to the total (0-100).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from landmatch import industry_codes, vocab
from landmatch.dates import in_force
from landmatch.match.requirements import CRITERIA, Requirement
from landmatch.match.rules import AMU, PRICE, Params
from landmatch.policies.applicability import Policy, Site, applies, parcel_conditional

#: The policy record a match reads (the library's: landmatch.policies.applicability).
PolicyInfo = Policy

# Project-level durations (days) a valid regional assessment saves; the project's own
# approvals run in parallel, so the slowest missing one sets the pace [GK, estimates].
ASSESSMENT_DAYS: dict[str, int] = {
    "ENV": 60,
    "ENERGY": 30,
    "SEISMIC": 30,
    "GEOHAZARD": 30,
    "MINERAL": 20,
    "SOIL_WATER": 20,
    "WATER_RES": 30,
    "RELICS": 45,
    "CLIMATE": 15,
    "FLOOD": 30,
    "LIGHTNING": 10,
    "TRAFFIC": 20,
}
PLAN_ASSESSMENTS = vocab.PLAN_ASSESSMENTS
# Base lead time by status: 熟地 goes straight to 招拍挂 (notice ≥ 20 days, listing ≥ 10, contract,
# permits); 批而未供 first needs supply preparation; 闲置 land needs disposal first [GK].
STATUS_DAYS: dict[str, int] = {"ready": 90, "unsupplied": 180, "idle": 365}
UTILITY_DAYS: dict[str, int] = {
    "power": 60,
    "water": 30,
    "sewage": 30,
    "gas": 45,
    "heat": 45,
    "road": 30,
    "telecom": 15,
}
LEVELLING_DAYS = 30
DEFAULT_PRICE_REF = 100.0  # 万元/亩: the price score's zero when no budget is given


@dataclass
class ZoneInfo:
    id: int
    code: str
    name: str
    city_code: str
    level: str
    leading: list[str]
    # kind -> every (approved_on, valid_until) of that kind
    assessments: dict[str, list[tuple[dt.date, dt.date | None]]]


@dataclass
class Reference:
    """The small reference tables a match needs, cached per data version."""

    zones: dict[int, ZoneInfo]
    policies: list[Policy]
    version: int
    zone_by_code: dict[str, int] = field(default_factory=dict)
    contexts: dict[tuple[Any, ...], list[Context]] = field(default_factory=dict)
    # Other results that depend only on this data version and a few request fields: where
    # each conditional policy reaches (``conditional_sql``), the policies of a site
    # (``landmatch.match.engine.site_policies``).
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)


def valid_assessments(zone: ZoneInfo | None, today: dt.date) -> list[str]:
    """Assessment kinds of ``zone`` that count on ``today`` (one of its assessments of that
    kind approved and not expired: :func:`landmatch.dates.in_force`, the SQL function
    ``landmatch.valid_assessments``'s twin)."""
    if zone is None:
        return []
    return sorted(
        kind
        for kind, periods in zone.assessments.items()
        if any(in_force(start, end, today) for start, end in periods)
    )


def zone_fit(zone: ZoneInfo | None, industry: str | None) -> float:
    """Zone industry fit: 1 when the project's division leads the zone, 0.5 for a zone whose
    leading industries share the project's broad kind (manufacturing vs services), 0.3 for
    another zone, 0 outside any zone; national zones get +0.1 (capped at 1)."""
    if zone is None:
        return 0.0
    bonus = 0.1 if zone.level == "national" else 0.0
    if industry is None:
        return min(1.0, 0.4 + bonus)
    leading = [c for c in zone.leading if not industry_codes.unknown([c])]
    if any(industry_codes.related(industry, c) for c in leading):
        return 1.0
    manu = industry_codes.is_manufacturing(industry)
    same_kind = any(industry_codes.is_manufacturing(c) == manu for c in leading)
    return min(1.0, (0.5 if same_kind else 0.3) + bonus)


def policy_value(
    pol: Policy, req: Requirement, price: float | None, area_mu: float
) -> float | None:
    """Estimated value in 万元, where it can be computed from the request and the parcel (one
    definition: ``landmatch.match.policy_values.estimate``, which also gives the formula)."""
    from landmatch.match.policy_values import estimate

    return estimate(pol, req, price, area_mu).value_wan


def _land_rate(pol: Policy, req: Requirement) -> float:
    """Share of the land price a land-price policy is worth (0 when not estimable)."""
    if pol.benefit_kind != "land_price_discount" or not pol.rate:
        return 0.0
    if policy_value(pol, req, 1.0, 1.0) is None:
        return 0.0
    return float(pol.rate)


@dataclass
class Context:
    """Per (city, zone) numbers joined into the ranking query."""

    city: str
    zone_id: int  # 0 = outside any zone
    zone_fit: float
    assess_share: float
    policy_count: int
    policy_fixed: float
    land_rate: float


def site_of(city: str, zone: ZoneInfo | None, **parcel: str | None) -> Site:
    """The policy site of a parcel of ``city`` in ``zone`` (county, status, land use given)."""
    return Site(
        city,
        zone_code=zone.code if zone else None,
        zone_level=zone.level if zone else None,
        **parcel,
    )


def _context_key(req: Requirement, today: dt.date, public: bool) -> tuple[Any, ...]:
    """What of a request the policy contexts depend on."""
    return (
        req.industry,
        req.investment_wan,
        req.rd_increase_wan,
        req.equipment_investment_wan,
        req.container_toll_wan,
        req.oversize_toll_wan,
        tuple(req.enterprise_types),
        today,
        public,
    )


def contexts(ref: Reference, req: Requirement, today: dt.date, public: bool) -> list[Context]:
    """Per (city, zone) context for ``req``; memoised on the reference data (it depends on the
    request only through the industry, the investment the inputs policies are valued from, and who asks)."""
    key = _context_key(req, today, public)
    hit = ref.contexts.get(key)
    if hit is None:
        hit = ref.contexts[key] = _contexts(ref, req, today, public)
    return hit


def _contexts(ref: Reference, req: Requirement, today: dt.date, public: bool) -> list[Context]:
    out = []
    keys: list[tuple[str, ZoneInfo | None]] = [(c, None) for c in vocab.CITIES]
    keys += [(z.city_code, z) for z in ref.zones.values()]
    # Policies that depend on the parcel (status, land use, county) are per-parcel terms
    # (conditional_sql); the rest are decided here per (city, zone), by the same rule.
    placed = [p for p in ref.policies if not parcel_conditional(p)]
    for city, zone in keys:
        site = site_of(city, zone)
        pols = [p for p in placed if applies(p, site, today, industry=req.industry, public=public)]
        fixed = 0.0
        rate = 0.0
        for p in pols:
            v = policy_value(p, req, None, 0.0) if p.benefit_kind != "land_price_discount" else None
            fixed += v or 0.0
            rate += _land_rate(p, req)
        out.append(
            Context(
                city,
                zone.id if zone else 0,
                zone_fit(zone, req.industry),
                len(valid_assessments(zone, today)) / len(PLAN_ASSESSMENTS),
                len(pols),
                fixed,
                rate,
            )
        )
    return out


def context_exprs(ctxs: list[Context], ps: Params) -> dict[str, str]:
    """SQL for each context value of a parcel: arrays indexed by zone id (parcels in a zone)
    or by city position (parcels outside any zone), so the ranking needs no join. A value that
    is the same in every zone, or in every city, is written as that constant."""
    zones = [c for c in ctxs if c.zone_id]
    cities = [c for c in ctxs if not c.zone_id]
    size = max((c.zone_id for c in zones), default=0)
    zone = "p.zone_key"
    city_pos: str | None = None
    out = {}
    for name, attr in (
        ("s_zone", "zone_fit"),
        ("assess", "assess_share"),
        ("npol", "policy_count"),
        ("pfixed", "policy_fixed"),
        ("prate", "land_rate"),
    ):
        zvals = {float(getattr(c, attr)) for c in zones}
        if len(zvals) <= 1:
            z = f"{zvals.pop() if zvals else 0.0}::float8"
        else:
            zarr: list[float | None] = [None] * size
            for c in zones:
                zarr[c.zone_id - 1] = getattr(c, attr)
            z = f"({ps.add(zarr, 'float8[]')})[{zone}]"
        cvals = [float(getattr(c, attr)) for c in cities]
        if len(set(cvals)) <= 1:
            cy = f"{cvals[0] if cvals else 0.0}::float8"
        else:
            if city_pos is None:
                codes = ps.add([c.city for c in cities], "text[]")
                city_pos = f"array_position({codes}, p.city_code::text)"
            cy = f"({ps.add(cvals, 'float8[]')})[{city_pos}]"
        out[name] = f"COALESCE(CASE WHEN {zone} IS NOT NULL THEN {z} ELSE {cy} END, 0)"
    return out


@dataclass(frozen=True)
class Reach:
    """Where a conditional policy applies for a request, and what it adds where it does."""

    pol: Policy
    county: str | None
    zones: list[int]
    cities: list[str]
    fixed: float | None
    rate: float


def conditional_reach(
    ref: Reference, req: Requirement, today: dt.date, public: bool
) -> list[Reach]:
    """The policies that depend on the parcel (status, land use, county), each with the zones
    and cities it reaches by :func:`landmatch.policies.applicability.applies` for a parcel
    meeting its own conditions; memoised on the reference data like :func:`contexts`."""
    key = ("reach", *_context_key(req, today, public))
    hit = ref.memo.get(key)
    if hit is None:
        hit = ref.memo[key] = _conditional_reach(ref, req, today, public)
    return hit  # type: ignore[no-any-return]


def _conditional_reach(
    ref: Reference, req: Requirement, today: dt.date, public: bool
) -> list[Reach]:
    out = []
    for pol in ref.policies:
        if not parcel_conditional(pol):
            continue
        county = pol.scope_code if pol.scope_level == "county" else None
        # Where it applies to a parcel meeting its own conditions, by the one rule; the SQL
        # adds those conditions (status, land use, county).
        own = {
            "county": county,
            "status": pol.statuses[0] if pol.statuses else None,
            "land_use": pol.land_uses[0] if pol.land_uses else None,
        }
        kw: dict[str, Any] = {"industry": req.industry, "public": public}
        zones = [
            z.id
            for z in ref.zones.values()
            if applies(pol, site_of(z.city_code, z, **own), today, **kw)
        ]
        cities = [c for c in vocab.CITIES if applies(pol, Site(c, **own), today, **kw)]
        if not zones and not cities:
            continue
        fixed = (
            policy_value(pol, req, None, 0.0) if pol.benefit_kind != "land_price_discount" else None
        )
        out.append(Reach(pol, county, zones, cities, fixed, _land_rate(pol, req)))
    return out


def conditional_sql(
    ref: Reference, req: Requirement, today: dt.date, public: bool, ps: Params
) -> dict[str, str]:
    """Per-parcel terms, added to the context values ``npol``, ``pfixed`` and ``prate``, for the
    policies that depend on the parcel (status, land use, county): each counts where
    :func:`landmatch.policies.applicability.applies` holds for the parcel. Where it reaches is
    decided in Python per (city, zone), as for the context (:func:`conditional_reach`); the
    parcel's own conditions are compared in SQL (``p`` = the ranking row)."""
    terms: dict[str, list[str]] = {"npol": [], "pfixed": [], "prate": []}
    for r in conditional_reach(ref, req, today, public):
        pol = r.pol
        cond = [
            f"CASE WHEN p.zone_key IS NOT NULL THEN p.zone_key = ANY({ps.add(r.zones, 'int[]')}) "
            f"ELSE p.city_code = ANY({ps.add(r.cities, 'text[]')}) END"
        ]
        if pol.statuses:
            cond.append(f"p.status = ANY({ps.add(list(pol.statuses), 'text[]')})")
        if pol.land_uses:
            cond.append(f"p.land_use = ANY({ps.add(list(pol.land_uses), 'text[]')})")
        if r.county is not None:
            cond.append(
                "EXISTS (SELECT 1 FROM landmatch.parcel g WHERE g.id = p.id AND "
                f"g.county_code = {ps.add(r.county, 'text')})"
            )
        hit = f"(CASE WHEN {' AND '.join(cond)} THEN 1::float8 ELSE 0::float8 END)"
        terms["npol"].append(hit)
        if r.fixed:
            terms["pfixed"].append(f"{hit} * {ps.add(r.fixed, 'float8')}")
        if r.rate:
            terms["prate"].append(f"{hit} * {ps.add(r.rate, 'float8')}")
    return {k: " + ".join(v) for k, v in terms.items() if v}


def score_bounds(
    ref: Reference, req: Requirement, ctxs: list[Context], price: str, ps: Params
) -> dict[str, str]:
    """Upper bounds, cheap per row, of the costliest scores of ``score_sql``: the policy
    score, whose per-parcel policy terms cost more than every other score together. The
    ranking prunes the parcels whose total, with these in place of the scores, cannot reach
    the top N (``landmatch.match.plan.Plan.select_top``).

    The bound takes the largest context anywhere, counts every conditional policy as applying
    and uses absolute values, so no sign of a rate or a price can break it; it is the score's
    own arithmetic with larger operands, so it holds in floating point too. ``price`` is the
    price expression the scores read (the caller's ``Plan.price``)."""
    conditional = [p for p in ref.policies if parcel_conditional(p)]
    npol = max((c.policy_count for c in ctxs), default=0) + len(conditional)
    fixed = max((abs(c.policy_fixed) for c in ctxs), default=0.0)
    rate = max((abs(c.land_rate) for c in ctxs), default=0.0)
    for pol in conditional:
        v = policy_value(pol, req, None, 0.0) if pol.benefit_kind != "land_price_discount" else None
        fixed += abs(v or 0.0)
        rate += abs(_land_rate(pol, req))
    scale = max(100.0, 0.02 * (req.investment_wan or 0))
    value = (
        f"({ps.add(fixed, 'float8')} + {ps.add(rate, 'float8')} * "
        f"abs(COALESCE({price}, 0)) * {AMU})"
    )
    return {
        "policy": (
            f"(0.5::float8 * {min(1.0, npol / 6.0)!r}::float8 + 0.5::float8 * LEAST(1::float8, "
            f"{value} / {ps.add(scale, 'float8')}))"
        ),
    }


def area_range(lo: float | None, hi: float | None) -> tuple[float, float, float, float] | None:
    """The requested area range as (low, high, middle, half-width) in 亩, a missing bound
    completed from the other (no upper bound: twice the lower; no lower: half the upper);
    None when neither is given. The area fit's curve, in SQL and in Python, is built on it."""
    if lo is None and hi is None:
        return None
    if hi is None:
        hi = 2 * lo if lo else 1.0  # type: ignore[operator]
    if lo is None:
        lo = hi / 2
    mid = (lo + hi) / 2
    return lo, hi, mid, max((hi - lo) / 2, 0.05 * mid, 1e-6)


def area_fit_sql(req: Requirement, ps: Params, area: str = AMU) -> str:
    """1 at the middle of the requested range, 0.7 at its edges, decaying outside."""
    rng = area_range(req.area_mu_min, req.area_mu_max)
    if rng is None:
        return "1.0"
    lo, hi, mid, half = rng
    lo_p, hi_p, mid_p, half_p = (ps.add(v, "float8") for v in (lo, hi, mid, half))
    return (
        f"(CASE WHEN {area} BETWEEN {lo_p} AND {hi_p} "
        f"THEN 1 - 0.3 * abs({area} - {mid_p}) / {half_p} "
        # exp() of a large negative number underflows to an error in PostgreSQL: clamp.
        f"ELSE 0.7 * exp(GREATEST(-50, -3 * LEAST(abs({area} - {lo_p}), abs({area} - {hi_p}))"
        f" / {half_p})) "
        "END)"
    )


def score_sql(
    req: Requirement,
    ps: Params,
    public: bool,
    today: dt.date,
    stale_after_days: int,
    cx: dict[str, str],
) -> dict[str, str]:
    """SQL for each criterion's score in [0, 1]; ``cx`` holds the context expressions."""
    kinds = req.distance_interest
    price = PRICE
    dist_parts = [
        f"GREATEST(0, 1 - COALESCE(f.dist_{k}_km, 1e9) / {ps.add(2 * m, 'float8')})"
        for k, m in kinds
    ]
    s_dist = f"(({' + '.join(dist_parts)}) / {len(dist_parts)})" if dist_parts else "1.0"
    u = req.utilities
    util = []
    for col, need in (
        ("power_kva", u.power_kva),
        ("water_m3d", u.water_m3d),
        ("gas_m3d", u.gas_m3d),
        ("heat_mw", u.heat_mw),
    ):
        if need is not None:
            util.append(f"(CASE WHEN p.{col} >= {ps.add(need, 'float8')} THEN 1 ELSE 0 END)")
    for col, wanted in (("telecom_5g", u.need_5g), ("fibre", u.need_fibre)):
        if wanted:
            util.append(f"(CASE WHEN p.{col} THEN 1 ELSE 0 END)")
    if not util:  # nothing asked: knowing the capacities is what counts
        util = [
            f"(CASE WHEN p.{c} IS NOT NULL THEN 1 ELSE 0 END)"
            for c in ("power_kva", "water_m3d", "gas_m3d")
        ]
    s_util = f"(({' + '.join(util)})::float8 / {len(util)})"
    s_ready = (
        f"((0.0625::float8 * cardinality(p.readiness) + 0.3::float8 * {cx['assess']} + 0.2::float8 * {s_util})"
        " * CASE WHEN f.penalised THEN 0.7::float8 ELSE 1::float8 END)"
    )
    ref_price = req.budget.max_wan_per_mu * 1.25 if req.budget.max_wan_per_mu else DEFAULT_PRICE_REF
    # PostgreSQL's LEAST/GREATEST skip NULLs, so an unknown price or date must be caught
    # first: unknown scores 0 (shown as unknown), never as a pass.
    s_price = (
        f"CASE WHEN {price} IS NULL THEN 0::float8 ELSE GREATEST(0, LEAST(1, 1 - {price} / "
        f"{ps.add(ref_price, 'float8')})) END"
    )
    scale = max(100.0, 0.02 * (req.investment_wan or 0))
    pol_value = f"({cx['pfixed']} + {cx['prate']} * COALESCE({price}, 0) * {AMU})"
    s_policy = (
        f"(0.5::float8 * LEAST(1::float8, {cx['npol']} / 6::float8) + 0.5::float8 * LEAST(1::float8, {pol_value} / "
        f"{ps.add(scale, 'float8')}))"
    )
    today_p = ps.add(today, "date")
    s_fresh = (
        f"CASE WHEN p.data_updated_on IS NULL THEN 0::float8 ELSE GREATEST(0, LEAST(1, "
        f"1 - ({today_p} - p.data_updated_on) / {ps.add(2.0 * stale_after_days, 'float8')}"
        f")) END"
    )
    return {
        "area_fit": area_fit_sql(req, ps),
        "distance": s_dist,
        "zone_fit": cx["s_zone"],
        "readiness": s_ready,
        "price": s_price,
        "policy": s_policy,
        "freshness": s_fresh,
    }


def total_sql(scores: dict[str, str], weights: dict[str, float], ps: Params) -> str:
    """Weighted total (0-100) in SQL, the same arithmetic as ``combine``."""
    wsum = sum(weights.values())
    parts = [
        f"{ps.add(100.0 * weights[c] / wsum, 'float8')} * {scores[c]}"
        for c in CRITERIA
        if weights[c] > 0
    ]
    return "(" + " + ".join(parts) + ")" if parts else "0.0"


def combine(scores: dict[str, float], weights: dict[str, float]) -> tuple[float, dict[str, float]]:
    """Contributions (each 100·wᵢ·sᵢ/Σw) and their sum, the total in [0, 100]."""
    wsum = sum(weights.values())
    contrib = {c: 100.0 * weights[c] * scores[c] / wsum for c in CRITERIA}
    return sum(contrib.values()), contrib


def time_to_start(
    status: str, assessments: list[str], readiness: list[str], utility_short: list[str]
) -> dict[str, Any]:
    """Estimated days to the start of works, with the parts that add up to it."""
    base = STATUS_DAYS.get(status, 365)
    missing = [k for k in PLAN_ASSESSMENTS if k not in assessments]
    assess_days = max((ASSESSMENT_DAYS[k] for k in missing), default=0)
    utility_missing = [k for k in ("power", "water", "sewage", "road") if k not in readiness]
    utility_missing += [k for k in utility_short if k not in utility_missing]
    util_days = max((UTILITY_DAYS.get(k, 30) for k in utility_missing), default=0)
    level_days = 0 if "levelled" in readiness else LEVELLING_DAYS
    total = base + assess_days + max(util_days, level_days)
    return {
        "days": total,
        "parts": {
            "status": base,
            "assessments_missing": missing,
            "assessment_days": assess_days,
            "utilities_missing": utility_missing,
            "utility_days": util_days,
            "levelling_days": level_days,
        },
        "note": "估算：状态基础周期 + 未覆盖区域评估中最长的一项 + 配套/场平中较长的一项",
    }
