"""Run a match: hard rules → scores → explanation, assemblies, why-not; store the run.

The database does the filtering and ranking in one indexed query over ``parcel`` and
``parcel_fact`` (the candidate query); only the top N rows come back to Python to be explained.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.confidential import CONFIDENTIAL_FIELDS
from landmatch.dates import beijing_today
from landmatch.db.geometry import geojson_sql
from landmatch.db.membership import zone_label
from landmatch.db.parcels import INTERNAL_COLUMNS, PUBLIC_COLUMNS
from landmatch.db.values import json_value
from landmatch.errors import NotFound, UnprocessableInput
from landmatch.geo.measure import M2_PER_MU
from landmatch.match import assemblies as asm
from landmatch.match import control, ownership, runs
from landmatch.match.plan import NearScan, Plan, statement
from landmatch.match.policy_values import Estimate, estimate
from landmatch.match.reference import data_version, inventory_counts, load_reference, scope_size
from landmatch.match.requirements import CRITERIA, CRITERION_LABELS, Requirement
from landmatch.match.rules import AMU, INVESTMENT_BASIS_LABELS, PRICE
from landmatch.match.scores import (
    Reference,
    combine,
    site_of,
    time_to_start,
    valid_assessments,
)
from landmatch.match.whynot import near_scan, why_not
from landmatch.numbers import mu, num
from landmatch.policies.applicability import applicable
from landmatch.publication import public_hits

if TYPE_CHECKING:
    from typing_extensions import Unpack

OVERFETCH = 3  # rows fetched beyond N so float ties at the cut cannot change the order
# Below this many parcels in the status and city scope the plain query is as fast (planning
# the pruned one costs a few milliseconds): the ranking prunes only above it.
PRUNE_MIN_SCOPE = 20_000
RANK_WORK_MEM = "32MB"  # per sort or materialised scan of a match's statements (transaction)


def site_policies(
    ref: Reference, site: Any, today: dt.date, industry: str | None, public: bool
) -> list[Any]:
    """``applicable`` for a ranked parcel's site, memoised on the reference data (per data
    version): the explanation of every feature asks it, and sites repeat."""
    key = ("site", site, today, industry, public)
    hit = ref.memo.get(key)
    if hit is None:
        hit = ref.memo[key] = applicable(
            ref.policies, site, today, industry=industry, public=public
        )
    return hit  # type: ignore[no-any-return]


def _project_team(session: Session, principal: Principal, project_id: int | None) -> str | None:
    """A requirement bound to a project names one of the caller's team's (another team's
    reads as not existing); the run then belongs to that team. Returns the project's team."""
    if project_id is None:
        return None
    row = session.execute(
        text(f"SELECT owner_team FROM landmatch.project WHERE id = :p AND {ownership.LIVE}"),
        {"p": project_id},
    ).first()
    if row is None or not principal.owns(row.owner_team):
        raise UnprocessableInput(
            f"项目 {project_id} 不存在",
            detail=[{"field": "project_id", "reason": "项目不存在"}],
        )
    return row.owner_team  # type: ignore[no-any-return]


@functools.cache
def _detail_sql(public: bool) -> str:
    # A stored match run is read back by anyone it was shared with: it never carries the
    # confidential fields (landmatch.confidential).
    cols = PUBLIC_COLUMNS if public else PUBLIC_COLUMNS + INTERNAL_COLUMNS
    parts = [f"p.{c}" for c in cols if c != "ref_price_wan_per_mu" and c not in CONFIDENTIAL_FIELDS]
    parts.append(f"{PRICE}::float8 AS ref_price_wan_per_mu")
    dists = ", ".join(f"f.dist_{k}_km" for k in vocab.FACILITY_KINDS)
    return (
        f"SELECT p.id AS _id, {', '.join(parts)}, {dists}, f.excluded AS _excluded, "
        "f.constraint_hits AS _hits, (f.parcel_id IS NOT NULL) AS _has_facts, "
        "p.zone_id AS _zone_id, p.zone_share::float8 AS _zone_share, a.name AS city_name, "
        f"{geojson_sql('p.geom', 7)} AS _geometry "
        "FROM landmatch.parcel p LEFT JOIN landmatch.parcel_fact f ON f.parcel_id = p.id "
        "LEFT JOIN landmatch.admin_division a ON a.code = p.city_code WHERE p.id = ANY(:ids)"
    )


# Column values ``json_value`` returns unchanged (it converts dates and decimals only).
_AS_IS = frozenset({str, int, float, bool, type(None), list, dict})


# The states of a 标准地 indicator check at a ranked site, in words.
INDICATOR_STATES = {"met": "满足", "short": "不满足", "unconfirmed": "未确认"}


def _met(ok: bool) -> str:
    return "met" if ok else "short"


def _round(x: float | None, n: int = 4) -> float | None:
    return None if x is None else round(float(x), n)


def policy_listing(p: Any, est: Estimate) -> dict[str, Any]:
    """A policy as an explanation lists it, with ``est``, its estimated value at the site."""
    return {
        "code": p.code,
        "title": p.title,
        "benefit_kind": vocab.label(vocab.BENEFIT_KINDS, p.benefit_kind),
        "value_wan": est.value_wan,
        "value_note": est.note,
        "formula": est.formula,
        "missing": est.missing,
    }


@dataclass(slots=True)
class Explainer:
    """Turns a ranked row and its parcel detail into feature properties."""

    req: Requirement
    ref: Reference
    today: dt.date
    stale_days: int
    public: bool = True
    # Per match, not per site: the weights, and the policy entries whose estimate does not
    # depend on the site (every policy but a land-price discount): a site lists ≈ 38 policies
    # and the 20 sites of a match mostly the same ones.
    weights: dict[str, float] = field(init=False)
    _policy_entries: dict[int, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.weights = self.req.effective_weights
        self._policy_entries = {}

    def policy_entry(self, p: Any, price: float | None, area_mu: float) -> dict[str, Any]:
        """A policy as a site's explanation lists it, with its estimated value there."""
        per_site = p.benefit_kind == "land_price_discount" and p.rate is not None
        hit = None if per_site else self._policy_entries.get(id(p))
        if hit is None:
            hit = policy_listing(p, estimate(p, self.req, price, area_mu))
            if not per_site:
                self._policy_entries[id(p)] = hit
        return dict(hit)

    def utilities(self, d: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
        u = self.req.utilities
        checks, short = [], []
        for col, need, name, unit, key in (
            ("power_kva", u.power_kva, "供电", "kVA", "power"),
            ("water_m3d", u.water_m3d, "供水", "m³/日", "water"),
            ("gas_m3d", u.gas_m3d, "供气", "m³/日", "gas"),
            ("heat_mw", u.heat_mw, "供热", "MW", "heat"),
        ):
            if need is None:
                continue
            have = d.get(col)
            state = "unknown" if have is None else ("met" if float(have) >= need else "short")
            if state != "met":
                short.append(key)
            checks.append(
                {
                    "utility": key,
                    "label": name,
                    "need": need,
                    "capacity": json_value(have),
                    "unit": unit,
                    "state": state,
                    "state_label": {"met": "满足", "short": "不足", "unknown": "未知"}[state],
                }
            )
        for col, wanted, name in (("telecom_5g", u.need_5g, "5G"), ("fibre", u.need_fibre, "光纤")):
            if wanted:
                have = d.get(col)
                state = "unknown" if have is None else ("met" if have else "short")
                checks.append(
                    {
                        "utility": col,
                        "label": name,
                        "state": state,
                        "state_label": {"met": "满足", "short": "不足", "unknown": "未知"}[state],
                    }
                )
        return checks, short

    def indicators(self, d: dict[str, Any], area_mu: float) -> list[dict[str, Any]]:
        """The 标准地 indicators checked at this site, each with the figures a person can
        check: the parcel's requirement, the project's figure, how it is got, and the state
        (met, or unconfirmed where the investment test used the total investment)."""
        out: list[dict[str, Any]] = []
        basis = self.req.investment_basis
        floor = d.get("invest_intensity_min")
        if basis is not None and floor is not None:
            own, figure = basis
            words = INVESTMENT_BASIS_LABELS[own]
            planned = figure / area_mu
            confirmed = own == "fixed_asset_investment_wan"
            state = ("met" if confirmed else "unconfirmed") if planned >= float(floor) else "short"
            how = f"{words} {num(figure, 2)} 万元 ÷ {mu(area_mu)} 亩 = {num(planned, 2)} 万元/亩"
            if not confirmed:
                how += "（总投资是固定资产投资的上限，未填写固定资产投资）"
            out.append(
                {
                    "indicator": "invest_intensity",
                    "label": "固定资产投资强度",
                    "required": f"≥ {num(float(floor), 2)} 万元/亩",
                    "planned": round(planned, 2),
                    "unit": "万元/亩",
                    "how": how,
                    "state": state,
                    "state_label": INDICATOR_STATES[state],
                }
            )
        out.extend(self.controls(d))
        return out

    def controls(self, d: dict[str, Any]) -> list[dict[str, Any]]:
        """The planned control indicators (docs/domain.md §8) against the parcel's published
        values, else the national defaults on industrial land (landmatch.match.control)."""
        req = self.req
        industrial = str(d.get("land_use") or "").startswith("1001")
        out: list[dict[str, Any]] = []

        def add(key: str, label: str, planned: float, unit: str, required: str, state: str) -> None:
            shown = f"{num(planned, 2)}{unit}"
            out.append(
                {
                    "indicator": key,
                    "label": label,
                    "required": required,
                    "planned": planned,
                    "unit": unit,
                    "how": f"规划{label} {shown}",
                    "state": state,
                    "state_label": INDICATOR_STATES[state],
                }
            )

        def banded(
            key: str, label: str, planned: float, own: Any, band: control.Band, at_least: bool
        ) -> None:
            sign = "≥" if at_least else "≤"

            def ok(limit: float) -> bool:
                return planned >= limit if at_least else planned <= limit

            if own is not None:
                limit = float(own)
                add(
                    key,
                    label,
                    planned,
                    "%",
                    f"{sign} {num(limit, 2)}%（地块公布）",
                    _met(ok(limit)),
                )
            elif industrial:
                required = f"{sign} {num(band.hard, 2)}%（国家控制指标默认值"
                if band.advisory != band.hard:
                    required += f"；2023 版 {sign} {num(band.advisory, 2)}% 待核实"
                state = (
                    "met" if ok(band.advisory) else ("unconfirmed" if ok(band.hard) else "short")
                )
                add(key, label, planned, "%", required + "）", state)

        if req.planned_far is not None:
            lo, hi = d.get("far_min"), d.get("far_max")
            default = lo is None and industrial and control.far_min(req.industry) is not None
            if default:
                lo = control.far_min(req.industry)
            if lo is not None or hi is not None:
                parts = []
                if lo is not None:
                    parts.append(f"≥ {num(float(lo), 2)}")
                if default:
                    parts[-1] += "（2008 版控制指标行业默认值）"
                if hi is not None:
                    parts.append(f"≤ {num(float(hi), 2)}")
                required = "，".join(parts)
                if not default or hi is not None:
                    required += "（地块公布）"
                within = (lo is None or req.planned_far >= float(lo)) and (
                    hi is None or req.planned_far <= float(hi)
                )
                add("far", "容积率", req.planned_far, "", required, _met(within))
        if req.planned_building_coeff_pct is not None:
            banded(
                "building_coeff",
                "建筑系数",
                req.planned_building_coeff_pct,
                d.get("building_coeff_min"),
                control.building_coeff_min(),
                True,
            )
        if req.planned_green_ratio_pct is not None:
            banded(
                "green_ratio",
                "绿地率",
                req.planned_green_ratio_pct,
                d.get("green_ratio_max"),
                control.green_ratio_max(),
                False,
            )
        if req.planned_admin_ratio_pct is not None and industrial:
            most = control.ADMIN_RATIO_MAX_PCT
            add(
                "admin_ratio",
                "行政办公及生活服务设施用地比例",
                req.planned_admin_ratio_pct,
                "%",
                f"≤ {num(most, 2)}%（国家控制指标）",
                _met(req.planned_admin_ratio_pct <= most),
            )
        return out

    def warnings(
        self,
        d: dict[str, Any],
        util_checks: list[dict[str, Any]],
        indicator_checks: Sequence[dict[str, Any]] = (),
    ) -> list[str]:
        out = []
        for c in indicator_checks:
            if c["state"] != "unconfirmed":
                continue
            if c["indicator"] == "invest_intensity":
                out.append(
                    "投资强度按总投资核验（总投资是固定资产投资的上限），结果未确认："
                    "请填写固定资产投资"
                )
            else:
                out.append(f"{c['how']}：要求 {c['required']}，结果未确认")
        updated = d.get("data_updated_on")
        if updated is None:
            out.append("数据更新日期未知")
        elif (self.today - updated).days > self.stale_days:
            out.append(f"数据已 {(self.today - updated).days} 天未更新，请核实")
        for c in util_checks:
            if c["state"] == "unknown":
                out.append(f"{c['label']}容量未知，未按满足计")
        for col, label in (("power_as_of", "供电"), ("water_as_of", "供水"), ("gas_as_of", "供气")):
            as_of = d.get(col)
            if as_of is not None and (self.today - as_of).days > self.stale_days:
                out.append(f"{label}容量确认于 {as_of.isoformat()}，已超过 {self.stale_days} 天")
        if d.get("ref_price_wan_per_mu") is None:
            out.append("地价未公开或未知")
        if not d["_has_facts"]:
            out.append("地块区位事实尚未计算（距离、管控区未核验）")
        elif d.get("_excluded") is None:
            out.append("管控区未核验")
        for h in d.get("_hits") or []:
            if h.get("severity") == "penalises":
                # The public learns the kind of area, not its name (landmatch.publication).
                what = (
                    vocab.label(vocab.CONSTRAINT_KINDS, h.get("kind"))
                    if self.public
                    else h.get("name")
                )
                out.append(f"涉及{what}（限制类管控区）")
        return out

    def properties(self, rank: int, row: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
        req = self.req
        zone = self.ref.zones.get(d["_zone_id"]) if d["_zone_id"] else None
        area_mu = d["area_m2"] / M2_PER_MU
        price = None if d.get("ref_price_wan_per_mu") is None else float(d["ref_price_wan_per_mu"])
        scores = {c: float(row[f"s_{c}"]) for c in CRITERIA}
        weights = self.weights
        total, contrib = combine(scores, weights)
        assess = valid_assessments(zone, self.today)
        util_checks, short = self.utilities(d)
        indicator_checks = self.indicators(d, area_mu)
        site = site_of(
            d["city_code"],
            zone,
            county=d.get("county_code"),
            status=d["status"],
            land_use=d["land_use"],
        )
        pols = [
            self.policy_entry(p, price, area_mu)
            for p in site_policies(self.ref, site, self.today, req.industry, self.public)
        ]
        pol_total = round(sum(p["value_wan"] or 0 for p in pols), 2)
        raw = {
            "area_fit": {
                "area_mu": round(area_mu, 2),
                "range_mu": [req.area_mu_min, req.area_mu_max],
            },
            "distance": {k: _round(d.get(f"dist_{k}_km"), 2) for k, _m in req.distance_interest},
            "zone_fit": {
                "zone": zone.name if zone else None,
                "leading_industries": zone.leading if zone else [],
                "industry": req.industry,
            },
            "readiness": {
                "readiness": len(d.get("readiness") or []),
                "of": 8,
                "assessments_valid": len(assess),
                "utilities": [c["state"] for c in util_checks],
            },
            "price": {"wan_per_mu": price},
            "policy": {"policies": len(pols), "value_wan": pol_total},
            "freshness": {"data_updated_on": json_value(d.get("data_updated_on"))},
        }
        wsum = sum(weights.values())
        breakdown = [
            {
                "criterion": c,
                "label": CRITERION_LABELS[c],
                "raw": raw[c],
                "score": round(scores[c], 4),
                "weight": round(weights[c] / wsum, 4),
                "contribution": round(contrib[c], 4),
            }
            for c in CRITERIA
        ]
        props = {
            k: v if type(v) in _AS_IS else json_value(v)
            for k, v in d.items()
            if k[0] != "_" and not k.startswith("dist_")
        }
        props.update(
            {
                "rank": rank,
                "kind": "parcel",
                "members": [d["code"]],
                "score": round(total, 4),
                "breakdown": breakdown,
                "policies": pols,
                "policy_value_wan": pol_total,
                "time_to_start": time_to_start(
                    d["status"], assess, d.get("readiness") or [], short
                ),
                "utility_checks": util_checks,
                "indicator_checks": indicator_checks,
                "warnings": self.warnings(d, util_checks, indicator_checks),
                "coming_available": d["status"] != "ready",
                "status_label": vocab.label(vocab.PARCEL_STATUS, d["status"]),
                "zone_code": zone.code if zone else None,
                "zone_name": zone.name if zone else None,
                "zone_share": d["_zone_share"] if zone else None,
                "zone_label": zone_label(zone.name, d["_zone_share"]) if zone else None,
                "area_mu": round(area_mu, 2),
                "area_ha": round(d["area_m2"] / 10000, 4),
                "distances_km": {k: _round(d.get(f"dist_{k}_km"), 2) for k in vocab.FACILITY_KINDS},
                "constraint_hits": public_hits(d.get("_hits")) if self.public else d.get("_hits"),
            }
        )
        return props


def _rank_key(plan: Plan, row: dict[str, Any]) -> tuple[float, str]:
    total = combine({c: float(row[f"s_{c}"]) for c in CRITERIA}, plan.weights)[0]
    return (-round(total, 6), row["code"])


def _ranked(
    session: Session, plan: Plan, top: int, *, prune: bool = True
) -> tuple[list[dict[str, Any]], int]:
    """The top rows by (total rounded to 6 places desc, code) and the count of rows passing
    every rule: ``_rank`` without the near-miss candidates."""
    ranked, passed, _near = _rank(session, plan, top, prune=prune)
    return ranked, passed


def _rank(
    session: Session, plan: Plan, top: int, *, prune: bool = True, near: NearScan | None = None
) -> tuple[list[dict[str, Any]], int, list[int] | None]:
    """The top rows by (total rounded to 6 places desc, code): the database sorts by the float
    total (cheap), Python re-sorts the few rows fetched by the exact key. The cut is exact when
    the last row fetched rounds strictly below the N-th; otherwise (ties across the cut, rare)
    the database sorts by the exact key itself.

    With ``prune`` the rows are ranked by ``Plan.select_top``, which scores only the rows
    whose bound can reach the top N; without, by the plain query that scores every passing
    row (the reference the equivalence test compares with). Either way the count of rows
    passing every rule comes back with them, exactly (second item). With ``prune`` and
    ``near`` the pruned scan also finds the first near-miss pass's candidates (third item;
    None when not found here: no ``near``, no pruning, or no row ranked)."""
    k = top + OVERFETCH

    def fetch(order: str) -> list[dict[str, Any]]:
        if prune:
            sql = plan.select_top(top, order, near)
        else:  # every passing row scored; counted by the window before the cut
            sql = f"SELECT q.*, count(*) OVER () AS passed FROM ({plan.select()}) q {order}"
        return [dict(r) for r in session.execute(statement(sql), plan.ps.values).mappings()]

    rows = fetch(f"ORDER BY total DESC, code LIMIT {k}")
    ranked = sorted(rows, key=lambda r: _rank_key(plan, r))
    if (
        len(rows) == k
        and not round(float(rows[-1]["total"]) + 1e-9, 6) < -_rank_key(plan, ranked[top - 1])[0]
    ):
        rows = fetch(f"ORDER BY round(total::numeric, 6) DESC, code LIMIT {k}")
        ranked = sorted(rows, key=lambda r: _rank_key(plan, r))
    passed = int(rows[0]["passed"]) if rows else 0
    near_ids = list(rows[0]["near_ids"]) if rows and "near_ids" in rows[0] else None
    for r in rows:
        del r["passed"]
        r.pop("near_ids", None)
    return ranked[:top], passed, near_ids


def _default(v: Any) -> Any:
    out = json_value(v)
    if out is v:
        raise TypeError(f"not JSON serialisable: {type(v).__name__}")
    return out


def encode(response: dict[str, Any]) -> bytes:
    """The response as compact UTF-8 JSON (the bytes returned and stored)."""
    return orjson.dumps(response, default=_default)


class MatchOptions(TypedDict, total=False):
    """The options of :func:`match_encoded` that :func:`run_match` passes on."""

    stale_after_days: int
    store: bool
    today: dt.date | None
    prune: bool | None


def run_match(
    session: Session, req: Requirement, principal: Principal, **options: Unpack[MatchOptions]
) -> dict[str, Any]:
    """Rank parcels for ``req``; returns the response (a GeoJSON FeatureCollection with the
    why-not summary and ``match_id``) and stores it as a match run. The ranking is pruned
    (``Plan.select_top``) when the scope is large (``prune=None``), always (True) or never
    (False: the reference path every passing parcel is scored on, for tests and benchmarks)."""
    return match_encoded(session, req, principal, **options)[0]


def match_encoded(
    session: Session,
    req: Requirement,
    principal: Principal,
    *,
    stale_after_days: int = 365,
    store: bool = True,
    today: dt.date | None = None,
    prune: bool | None = None,
    store_in: Session | None = None,
) -> tuple[dict[str, Any], bytes]:
    """``run_match`` with the response also encoded once: the same bytes are stored as the run
    and returned to the caller, so serialising is not done twice. With ``store_in`` the run is
    stored through that session (the primary) while the match reads ``session`` (a read
    replica: ``landmatch.api.reads``)."""
    t0 = time.perf_counter()
    today = today or beijing_today()
    public = principal.is_public
    owner_team = _project_team(session, principal, req.project_id)
    version = data_version(session)
    ref = load_reference(session, version)
    plan = Plan(session, req, public, ref, today, stale_after_days)
    # Short queries: compiling costs more than it saves (jit). The pruned ranking materialises
    # one row per passing parcel (≈ 90,000 at 1M province-wide, 4.5 MB): the default 4 MB of
    # work_mem spilled it to a temporary file, re-read by every scan of it. Parallel query stays
    # at the server's default (2 workers per Gather): a serial match (max_parallel_workers_per_
    # gather 0) served 6-10 % fewer matches/s at c = 4 and 8 with a p95 13-31 % higher
    # (scripts/bench_load.py on lm_1m, 2026-12-07, 4 alternating rounds, load 3.1-6.1); on a
    # faster machine the same day it served 12 % more at c = 8, but one province-wide match
    # took 110 ms instead of 84 (its scan shared by the workers).
    # The match's statements from here on are planned for their values (``force_custom_plan``):
    # psycopg prepares a statement run five times on a connection (until a rollback there
    # clears them), and PostgreSQL then settles on a generic plan, costed with default
    # selectivities for the bound area window, budget and scope. For the province-wide ranking
    # that plan expects 171 rows where 82,690 come, and scans serially: 103-112 ms against
    # 66-72 ms planned for its values (the ranking alone, medians of 10, lm_1m, 2026-12-07);
    # the generic plan was never the faster one.
    session.execute(
        text(
            "SELECT set_config('jit', 'off', true), "
            f"set_config('work_mem', '{RANK_WORK_MEM}', true), "
            "set_config('plan_cache_mode', 'force_custom_plan', true)"
        )
    )

    if prune is None:
        cities = list(req.location.cities or [])
        prune = scope_size(session, version, req.statuses, public, cities) > PRUNE_MIN_SCOPE
    t1 = time.perf_counter()
    # The pruned scan also finds the first near-miss pass's candidates (one scan fewer).
    near = near_scan(plan) if prune else None
    ranked, passed, near_first = _rank(session, plan, req.top, prune=prune, near=near)
    candidate_ms = (time.perf_counter() - t1) * 1000

    explainer = Explainer(req, ref, today, stale_after_days, public)
    features = []
    if ranked:
        details = {
            r["_id"]: dict(r)
            for r in session.execute(
                statement(_detail_sql(public)), {"ids": [r["id"] for r in ranked]}
            ).mappings()
        }
        for i, row in enumerate(ranked, start=1):
            d = details[row["id"]]
            geometry = orjson.loads(d["_geometry"])
            props = explainer.properties(i, row, d)
            features.append(
                {"type": "Feature", "id": d["code"], "geometry": geometry, "properties": props}
            )

    t2 = time.perf_counter()
    inventory = inventory_counts(session, version)
    summary = why_not(
        session,
        plan,
        inventory=inventory,
        statuses=req.statuses,
        public=public,
        location_active=req.location.active,
        passed=passed,
        near_first=near_first,
    )
    whynot_ms = (time.perf_counter() - t2) * 1000

    assembly_features = []
    if req.assemblies and not ranked and req.area_mu_min is not None:
        relaxed = [r.name for r in plan.rules if r.name not in ("area", "budget_total")]
        cap = f" AND {AMU} < {plan.ps.add(req.area_mu_min, 'float8')}"
        pieces_sql = plan.select(relaxed, extra=cap, order="ORDER BY total DESC, code")
        for j, a in enumerate(
            asm.find_assemblies(
                session, req, pieces_sql=pieces_sql, params=plan.ps.values, price_col=plan.price
            ),
            start=1,
        ):
            wsum = sum(plan.weights.values())
            assembly_features.append(
                {
                    "type": "Feature",
                    "id": "+".join(a["members"]),
                    "geometry": asm.assembly_geometry(session, a["member_ids"]),
                    "properties": {
                        "rank": j,
                        "kind": "assembly",
                        "name": runs.ASSEMBLY_NAME,
                        "members": a["members"],
                        "score": round(a["score"], 4),
                        "area_mu": a["area_mu"],
                        "status": a["status"],
                        "city_code": a["city_code"],
                        "total_price_wan": a["total_price_wan"],
                        "coming_available": a["status"] != "ready",
                        "breakdown": [
                            {
                                "criterion": c,
                                "label": CRITERION_LABELS[c],
                                "score": round(a["scores"][c], 4),
                                "weight": round(plan.weights[c] / wsum, 4),
                                "contribution": round(a["contributions"][c], 4),
                            }
                            for c in CRITERIA
                        ],
                        "warnings": ["组合地块：需分别办理供地手续，相邻间距不超过 30 米"],
                    },
                }
            )

    run_warnings = []
    if req.investment_basis is None:
        run_warnings.append("未填写固定资产投资或总投资：未核验标准地投资强度")
    elif req.fixed_asset_investment_wan is None:
        run_warnings.append(
            "未填写固定资产投资：标准地投资强度按总投资（固定资产投资的上限）核验，"
            "达标的地块标为“未确认”"
        )
    if req.annual_tax_wan is None:
        run_warnings.append("未填写年税收：未核验亩均税收")
    used_policies = {q["code"] for f in features for q in f["properties"]["policies"]}
    match_id = str(uuid.uuid4())
    req_json = req.model_dump(mode="json")
    response = {
        "type": "FeatureCollection",
        "match_id": match_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "as_of": today.isoformat(),
        "public": public,
        "data_version": version[0],
        "requirement": req_json,
        "weights": {c: round(w / sum(plan.weights.values()), 4) for c, w in plan.weights.items()},
        "features": features + assembly_features,
        "numberReturned": len(features),
        "assemblies": len(assembly_features),
        "why_not": summary,
        # Each policy's text once (features list the policies that apply by code).
        "policy_texts": {p.code: p.summary for p in ref.policies if p.code in used_policies},
        "warnings": run_warnings,
        "timing_ms": {
            "candidate_query": round(candidate_ms, 2),
            "why_not": round(whynot_ms, 2),
            "total": round((time.perf_counter() - t0) * 1000, 2),
        },
    }
    if store_in is not None:  # the run is kept on the primary, the match read the replica
        session = store_in
    body = encode(response)
    if store:
        runs.store(
            session,
            match_id=match_id,
            project_id=req.project_id,
            request=req_json,
            body=body,
            returned=len(features),
            actor=principal.actor,
            owner_team=owner_team,
            public=public,
            data_version=version[0],
        )
    return response, body


def get_run(session: Session, match_id: str, principal: Principal) -> dict[str, Any]:
    """A stored run as it was returned (an old run brought to the current shape of its sites:
    :func:`runs.current_shape`). Internal runs are not shown to the public; a run made for a
    project (it carries the investor's requirement) only to the project's team and admins.
    Its sites are as ``principal`` may see them now (:func:`runs.as_seen_now`)."""
    run = runs.current_shape(orjson.loads(_stored_body(session, match_id, principal)))
    return runs.as_seen_now(session, run, principal)


def get_run_body(session: Session, match_id: str, principal: Principal) -> bytes:
    """The stored run's response bytes, as returned when it ran (older runs: from jsonb),
    unless a site changed since for ``principal`` (:func:`runs.as_seen_now`): then the run as
    it may see it now."""
    body = _stored_body(session, match_id, principal)
    run = runs.current_shape(orjson.loads(body))
    seen = runs.as_seen_now(session, run, principal)
    return body if seen is run else encode(seen)


def _stored_body(session: Session, match_id: str, principal: Principal) -> bytes:
    """The stored run's bytes, if ``principal`` may open it."""
    try:
        uuid.UUID(match_id)
    except ValueError:
        raise NotFound(f"未找到匹配记录 {match_id}") from None
    row = session.execute(
        text(
            f"SELECT {runs.BODY_COLUMNS}, public, owner_team, "
            "request->>'project_id' IS NOT NULL AS for_project "
            "FROM landmatch.match_run WHERE id = :id"
        ),
        {"id": match_id},
    ).first()
    if (
        row is None
        or (principal.is_public and not row.public)
        or (row.for_project and not principal.owns(row.owner_team))
    ):
        raise NotFound(f"未找到匹配记录 {match_id}")
    if row.body is None:
        return encode(row.response)
    return runs.unpack(bytes(row.body), row.compressed)
