"""Hard rules: a parcel failing one is out, and the rule is counted.

The rules are a table. Each entry says when it applies to a requirement, renders its pass test
as SQL over ``p`` (landmatch.parcel) and ``f`` (landmatch.parcel_fact), and, where the request
could be relaxed to admit the parcel, the signed gap and the Chinese change text for "why not".

Pass tests never evaluate to NULL: unknown data is decided explicitly. An unknown utility
capacity passes (it is flagged "unknown" in the explanation, never reported as met) unless the
request sets ``require_known_utilities``; an unknown distance never passes a hard proximity.
Status and location are the search scope (see ``scope_sql``) and are counted from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import shapely.geometry

from landmatch import industry_codes, vocab
from landmatch.confidential import PUBLISHED_PRICE_SQL
from landmatch.db.facts import COPIED
from landmatch.db.tables import MATCH_F8
from landmatch.geo.measure import M2_PER_MU
from landmatch.match import control
from landmatch.match.requirements import Requirement
from landmatch.numbers import num

AMU = "(p.area_m2 * 0.0015)"  # area in 亩 (1 亩 = 10000/15 m²)
INDUSTRIAL = ("100101", "100102", "100103")
LOGISTICS = ("110101", "110102", "110103")


# The match reads parcel_fact alone: ``p`` names the parcel columns copied into it, ``f`` the
# spatial facts (see landmatch.db.facts and migrations 0002_match, 0003_perfmatch). Numeric
# figures are read from their float8 copies under the parcel's column names, and ``p.zone_key``
# is the zone a match uses (the parcel's own, else the containing one). The control indicators
# and the bounding box come from their array in the match indexes (``MATCH_F8``, migration
# 0045_fact_control).
_P_FLOAT = (
    ("price_f8", "ref_price_wan_per_mu"),
    ("invest_f8", "invest_intensity_min"),
    ("tax_f8", "tax_per_mu_min"),
    ("energy_f8", "energy_per_value_max"),
    *((f"match_f8[{i}]", c) for i, c in enumerate(MATCH_F8, 1)),
)
_P_COLUMNS = tuple(
    c
    for c in COPIED
    if c not in ("parcel_zone_id", "bbox_f8") and c not in {name for _, name in _P_FLOAT}
)
MATCH_FROM = (
    "FROM landmatch.parcel_fact f {sample} CROSS JOIN LATERAL (SELECT f.parcel_id AS id, "
    "f.eff_zone_id AS zone_key, "
    + ", ".join(f"f.{c}" for c in _P_COLUMNS)
    + ", "
    + ", ".join(f"f.{a} AS {b}" for a, b in _P_FLOAT)
    + ") p"
)


class Params:
    """Collects bound parameters while SQL is rendered."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any, cast: str | None = None) -> str:
        name = f"m{len(self.values)}"
        self.values[name] = value
        return f"CAST(:{name} AS {cast})" if cast else f":{name}"


# The price a match ranks, filters and shows by (万元/亩), for every caller: the published
# reference price, NULL when unknown or unpublished (landmatch.confidential).
PRICE = PUBLISHED_PRICE_SQL


def by_class(classes: tuple[str, str, str], pollution_class: int | None) -> list[str]:
    """The sub-classes of a 一/二/三类 ladder (``INDUSTRIAL`` or ``LOGISTICS``) a project of
    ``pollution_class`` may use, docs/domain.md §3: 三类 only the 三类 land, 二类 the 二类 and
    三类 land, 一类 (or unknown) any of the three."""
    if pollution_class == 3:
        return [classes[2]]
    if pollution_class == 2:
        return list(classes[1:])
    return list(classes)


def allowed_land_uses(req: Requirement) -> tuple[list[str], list[str]]:
    """Land-use compatibility, docs/domain.md §3: (main uses accepted, compatible uses that
    admit an industrial 1001xx parcel).

    The 一/二/三类 ladder (:func:`by_class`) holds for industry and for logistics alike: 三类
    only on 100103 (110103), 二类 on 100102/100103 (110102/110103), 一类 on any 1001xx
    (1101xx). Logistics goes on its ladder's 1101xx or on industrial land whose compatible
    uses include one of them; R&D on 0802 or on industrial land compatible with R&D (and, by
    its class, on 1001xx). Explicit land-use codes in the request replace the table.
    """
    if req.land_uses:
        return list(req.land_uses), list(req.land_uses)
    pc = req.effective_pollution
    kind = industry_codes.kind(req.industry)
    if kind == "logistics":
        logistics = by_class(LOGISTICS, pc)
        return logistics, logistics
    main = by_class(INDUSTRIAL, pc)
    compat: list[str] = []
    if kind == "research":
        main = ["0802", *main]
        compat = ["0802"]
    return sorted(main), compat


@dataclass(frozen=True)
class Rendered:
    name: str
    label: str
    sql: str  # pass test, never NULL
    gap: str | None = None  # signed numeric gap for near misses (SQL), NULL if not relaxable
    change: Callable[[float, dict[str, Any]], str] | None = None
    ref: float = 1.0  # the request's own figure: near misses rank by |gap| / ref
    window: str | None = None  # bounds the near-miss search for this rule (indexable)
    # The requirement change that lets a near miss pass: a patch of nested fields (a
    # proximity entry by kind), applied by ``landmatch.match.readable.relaxed``.
    relax: Callable[[float, dict[str, Any]], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    applies: Callable[[Requirement], bool]
    render: Callable[[Requirement, Params, bool], Rendered]
    doc: str = field(default="")


def _up(x: float) -> float:
    """Rounded up to 0.01 (an upper bound that admits the near miss)."""
    return math.ceil(round(x * 100, 6)) / 100


def _down(x: float) -> float:
    """Rounded down to 0.01, not below 0 (a lower bound that admits the near miss)."""
    return max(0.0, math.floor(round(x * 100, 6)) / 100)


def _fmt(x: float) -> str:
    return f"{x:,.1f}".rstrip("0").rstrip(".") if abs(x) < 100 else f"{x:,.0f}"


def moved(
    what: str, old: float, new: float, unit: str = "", *, bound: bool = False, by_unit: str = ""
) -> str:
    """A near miss's change as a person says it: the figure's new value (the one ``relax``
    writes) and how far it moves, never a signed delta of a bound ("面积下限 -0.94 亩"). A
    bound of the request is 放宽; a figure of the project is 增加/减少. Figures as
    landmatch.numbers writes them (to 0.01, thousands separators); ``by_unit`` for the
    difference where it differs (percentage points).

    >>> moved("面积下限", 10, 9.05, " 亩", bound=True)
    '面积下限降至 9.05 亩（放宽 0.95 亩）'
    >>> moved("规划绿地率", 16, 15, "%", by_unit=" 个百分点")
    '规划绿地率降至 15%（减少 1 个百分点）'
    """
    up = new > old
    how = "放宽" if bound else ("增加" if up else "减少")
    d = num(abs(new - old), 2)
    d = "不足 0.01" if d == "0" else d
    return f"{what}{'提高至' if up else '降至'} {num(new, 2)}{unit}（{how} {d}{by_unit or unit}）"


def _land_use(req: Requirement, ps: Params, public: bool) -> Rendered:
    main, compat = allowed_land_uses(req)
    if not compat:
        return Rendered("land_use", "用地性质不兼容", f"p.land_use = ANY({ps.add(main, 'text[]')})")
    # The leading "= ANY(all codes)" is redundant but lets the index range-scan.
    every = sorted(set(main) | set(INDUSTRIAL))
    sql = (
        f"(p.land_use = ANY({ps.add(every, 'text[]')}) AND "
        f"(p.land_use = ANY({ps.add(main, 'text[]')}) OR (p.land_use LIKE '1001%' AND "
        f"p.compatible_uses && {ps.add(compat, 'text[]')})))"
    )
    return Rendered("land_use", "用地性质不兼容", sql)


def _area(req: Requirement, ps: Params, public: bool) -> Rendered:
    # Compared in m² so that the (status, land_use, area_m2) index can range-scan.
    lo = req.area_mu_min or 0.0
    hi = req.area_mu_max
    lo_p = ps.add(lo, "float8")
    lo_m2 = ps.add(lo * M2_PER_MU, "float8")
    if hi is None:
        sql = f"p.area_m2 >= {lo_m2}"
        gap = f"{AMU} - {lo_p}"
    else:
        hi_p = ps.add(hi, "float8")
        sql = f"(p.area_m2 >= {lo_m2} AND p.area_m2 <= {ps.add(hi * M2_PER_MU, 'float8')})"
        gap = f"(CASE WHEN {AMU} < {lo_p} THEN {AMU} - {lo_p} ELSE {AMU} - {hi_p} END)"

    def change(g: float, row: dict[str, Any]) -> str:
        # The change ``relax`` makes, in words.
        if g < 0:
            return moved("面积下限", lo, relax(g, row)["area_mu_min"], " 亩", bound=True)
        return moved("面积上限", hi or 0.0, relax(g, row)["area_mu_max"], " 亩", bound=True)

    # Near misses on area: within a factor 1.5 of the range (keeps the search on the index).
    window = f"p.area_m2 >= {ps.add(lo * M2_PER_MU / 1.5, 'float8')}"
    if hi is not None:
        window += f" AND p.area_m2 <= {ps.add(hi * M2_PER_MU * 1.5, 'float8')}"

    def relax(g: float, row: dict[str, Any]) -> dict[str, Any]:
        return {"area_mu_min": _down(lo + g)} if g < 0 else {"area_mu_max": _up((hi or 0) + g)}

    return Rendered(
        "area", "面积不符", sql, gap, change, float(hi or lo or 1.0), window, relax=relax
    )


def _floor_per_mu(name: str, label: str, column: str, own: str, change: str) -> Rule:
    """A standard-land floor per mu (``p.<column>``, 万元/亩) the project's own figure
    (``req.<own>``, 万元) must reach over the whole parcel."""

    def render(req: Requirement, ps: Params, public: bool) -> Rendered:
        figure = getattr(req, own)
        v = ps.add(figure, "float8")
        return Rendered(
            name,
            label,
            f"(p.{column} IS NULL OR p.{column} * {AMU} <= {v})",
            f"(p.{column} * {AMU} - {v})",
            lambda g, r: moved(change, figure or 0, _up((figure or 0) + g), " 万元"),
            float(figure or 1),
            relax=lambda g, r: {own: _up((figure or 0) + g)},
        )

    return Rule(name, label, lambda r: getattr(r, own) is not None, render)


# What the 投资强度 floor is tested with (Requirement.investment_basis): its label in texts.
INVESTMENT_BASIS_LABELS = {
    "fixed_asset_investment_wan": "固定资产投资",
    "investment_wan": "总投资",
}


def _invest_intensity(req: Requirement, ps: Params, public: bool) -> Rendered:
    """固定资产投资强度 (万元/亩, docs/domain.md §8): the parcel's floor over its whole area
    against the project's fixed-asset investment; without one, against the total investment,
    an upper bound (a parcel failing it fails on any fixed-asset figure; one passing it is
    unconfirmed, as its explanation says: ``landmatch.match.engine``)."""
    basis = req.investment_basis
    assert basis is not None
    own, figure = basis
    v = ps.add(figure, "float8")
    words = INVESTMENT_BASIS_LABELS[own]

    def relax(g: float, r: dict[str, Any]) -> dict[str, Any]:
        more = _up(figure + g)
        if own == "fixed_asset_investment_wan" and (req.investment_wan or 0) < more:
            # The fixed-asset investment stays within the total.
            return {own: more, "investment_wan": more}
        return {own: more}

    return Rendered(
        "invest_intensity",
        "投资强度未达标准地要求",
        f"(p.invest_intensity_min IS NULL OR p.invest_intensity_min * {AMU} <= {v})",
        f"(p.invest_intensity_min * {AMU} - {v})",
        lambda g, r: moved(words, figure, relax(g, r)[own], " 万元"),
        float(figure),
        relax=relax,
    )


INDUSTRIAL_LAND = "p.land_use LIKE '1001%'"


def _default_on_industrial(value: str) -> str:
    """A national default (control.py) that holds on industrial land only."""
    return f"(CASE WHEN {INDUSTRIAL_LAND} THEN {value} END)"


def _published_or_default(column: str, default: float, ps: Params) -> str:
    """The parcel's published bound ``column``, else the national ``default`` on industrial
    land (NULL elsewhere: no bound)."""
    return f"COALESCE(p.{column}, {_default_on_industrial(ps.add(default, 'float8'))})"


PP = " 个百分点"  # a percentage's change (moved's by_unit)


def _building_coeff(req: Requirement, ps: Params, public: bool) -> Rendered:
    """规划建筑系数 ≥ the parcel's 建筑系数下限, else the national hard floor (industrial land)."""
    planned = req.planned_building_coeff_pct
    assert planned is not None
    v = ps.add(planned, "float8")
    floor = _published_or_default("building_coeff_min", control.building_coeff_min().hard, ps)
    return Rendered(
        "building_coeff",
        "建筑系数低于控制指标",
        f"COALESCE({v} >= {floor}, true)",
        f"({floor} - {v})",
        lambda g, r: moved("规划建筑系数", planned, min(100.0, _up(planned + g)), "%", by_unit=PP),
        max(planned, 1.0),
        relax=lambda g, r: {"planned_building_coeff_pct": min(100.0, _up(planned + g))},
    )


def _green_ratio(req: Requirement, ps: Params, public: bool) -> Rendered:
    """规划绿地率 ≤ the parcel's 绿地率上限, else the national hard ceiling (industrial land)."""
    planned = req.planned_green_ratio_pct
    assert planned is not None
    v = ps.add(planned, "float8")
    ceiling = _published_or_default("green_ratio_max", control.green_ratio_max().hard, ps)
    return Rendered(
        "green_ratio",
        "绿地率超过控制指标",
        f"COALESCE({v} <= {ceiling}, true)",
        f"({v} - {ceiling})",
        lambda g, r: moved("规划绿地率", planned, _down(planned - g), "%", by_unit=PP),
        max(planned, 1.0),
        relax=lambda g, r: {"planned_green_ratio_pct": _down(planned - g)},
    )


def _admin_ratio(req: Requirement, ps: Params, public: bool) -> Rendered:
    """行政办公及生活服务设施用地比例 ≤ 7 % on industrial land (no parcel publishes its own)."""
    planned = req.planned_admin_ratio_pct
    assert planned is not None
    v = ps.add(planned, "float8")
    most = ps.add(control.ADMIN_RATIO_MAX_PCT, "float8")
    return Rendered(
        "admin_ratio",
        "行政办公及生活服务设施用地比例超过 7%",
        f"(NOT ({INDUSTRIAL_LAND}) OR {v} <= {most})",
        f"({v} - {most})",
        lambda g, r: moved(
            "行政办公及生活服务设施用地比例", planned, _down(planned - g), "%", by_unit=PP
        ),
        max(planned, 1.0),
        relax=lambda g, r: {"planned_admin_ratio_pct": _down(planned - g)},
    )


def _far(req: Requirement, ps: Params, public: bool) -> Rendered:
    """规划容积率 within the parcel's 容积率 range; without a published floor, the 2008 floor of
    the project's division (industrial land)."""
    planned = req.planned_far
    assert planned is not None
    v = ps.add(planned, "float8")
    default = control.far_min(req.industry)
    floor = "p.far_min" if default is None else _published_or_default("far_min", default, ps)
    cap = "p.far_max"
    sql = f"(COALESCE({v} >= {floor}, true) AND COALESCE({v} <= {cap}, true))"
    # Signed: > 0 the plan is below the floor by that much, < 0 above the cap.
    gap = f"(CASE WHEN {v} < {floor} THEN {floor} - {v} ELSE {cap} - {v} END)"

    def relax(g: float, r: dict[str, Any]) -> dict[str, Any]:
        return {"planned_far": _up(planned + g) if g > 0 else _down(planned + g)}

    def change(g: float, r: dict[str, Any]) -> str:
        return moved("规划容积率", planned, relax(g, r)["planned_far"])

    return Rendered("far", "容积率不符合控制指标", sql, gap, change, planned, relax=relax)


def _energy(req: Requirement, ps: Params, public: bool) -> Rendered:
    assert req.energy_tce is not None and req.value_added_wan is not None
    per = ps.add(req.energy_tce / req.value_added_wan, "float8")
    va = ps.add(req.value_added_wan, "float8")
    sql = f"(p.energy_per_value_max IS NULL OR {per} <= p.energy_per_value_max)"
    gap = f"(({per} - p.energy_per_value_max) * {va})"
    return Rendered(
        "energy",
        "单位增加值能耗超过标准地要求",
        sql,
        gap,
        lambda g, r: moved(
            "年综合能耗", req.energy_tce or 0, _down((req.energy_tce or 0) - g), " 吨标煤"
        ),
        float(req.energy_tce or 1),
        relax=lambda g, r: {"energy_tce": _down((req.energy_tce or 0) - g)},
    )


def _capacity(column: str, name: str, label: str, unit: str, need_label: str) -> Rule:
    """A utility's capacity on the parcel (``p.<column>``) against the project's need
    (``req.utilities.<column>``); unknown capacities pass unless known ones are required."""

    def render(req: Requirement, ps: Params, public: bool) -> Rendered:
        need = ps.add(getattr(req.utilities, column), "float8")
        if req.require_known_utilities:
            sql = f"COALESCE(p.{column} >= {need}, false)"
        else:
            sql = f"(p.{column} IS NULL OR p.{column} >= {need})"
        gap = f"({need} - p.{column})"
        return Rendered(
            name,
            label,
            sql,
            gap,
            lambda g, r: moved(
                need_label,
                getattr(req.utilities, column) or 0,
                _down((getattr(req.utilities, column) or 0) - g),
                f" {unit}",
            ),
            float(getattr(req.utilities, column) or 1),
            relax=lambda g, r: {
                "utilities": {column: _down((getattr(req.utilities, column) or 0) - g)}
            },
        )

    return Rule(name, label, lambda r: getattr(r.utilities, column) is not None, render)


def _telecom(req: Requirement, ps: Params, public: bool) -> Rendered:
    parts = []
    for col, wanted in (("telecom_5g", req.utilities.need_5g), ("fibre", req.utilities.need_fibre)):
        if wanted:
            parts.append(
                f"COALESCE(p.{col}, false)"
                if req.require_known_utilities
                else f"p.{col} IS NOT FALSE"
            )
    return Rendered("telecom", "通信条件不满足", "(" + " AND ".join(parts) + ")")


def _excluded(req: Requirement, ps: Params, public: bool) -> Rendered:
    return Rendered("excluded", "位于禁止建设的管控区", "f.excluded IS NOT TRUE")


def _budget(name: str, label: str, limit: str, per: str, change: str, unit: str) -> Rule:
    """The published price (万元/亩) times ``per`` within the budget ``req.budget.<limit>``
    (unknown and unpublished prices pass)."""

    def render(req: Requirement, ps: Params, public: bool) -> Rendered:
        most = getattr(req.budget, limit)
        b = ps.add(most, "float8")
        return Rendered(
            name,
            label,
            f"({PRICE} IS NULL OR {PRICE}{per} <= {b})",
            f"({PRICE}{per} - {b})",
            lambda g, r: moved(change, most or 0, _up((most or 0) + g), unit, bound=True),
            float(most or 1),
            relax=lambda g, r: {"budget": {limit: _up((most or 0) + g)}},
        )

    return Rule(name, label, lambda r: getattr(r.budget, limit) is not None, render)


def _supply(req: Requirement, ps: Params, public: bool) -> Rendered:
    def change(g: float, row: dict[str, Any]) -> str:
        modes = [vocab.label(vocab.SUPPLY_MODES, m) for m in row.get("supply_modes") or []]
        return "接受供地方式：" + "、".join(m for m in modes if m)

    return Rendered(
        "supply_mode",
        "供地方式不符",
        f"p.supply_modes && {ps.add(list(req.supply_modes), 'text[]')}",
        "1",
        change,
        relax=lambda g, r: {
            "supply_modes": sorted(set(req.supply_modes) | set(r.get("supply_modes") or []))
        },
    )


def _near(kind: str) -> Rule:
    label = vocab.FACILITY_KINDS[kind]

    def applies(req: Requirement) -> bool:
        return any(p.kind == kind and p.hard for p in req.proximity)

    def render(req: Requirement, ps: Params, public: bool) -> Rendered:
        max_km = next(p.max_km for p in req.proximity if p.kind == kind)
        m = ps.add(max_km, "float8")
        col = f"f.dist_{kind}_km"
        return Rendered(
            f"near_{kind}",
            f"距{label}超过 {_fmt(max_km)} 公里",
            f"COALESCE({col} <= {m}, false)",
            f"({col} - {m})",
            lambda g, r: moved(
                f"距{label}的距离上限", max_km, _up(max_km + g), " 公里", bound=True
            ),
            float(max_km),
            relax=lambda g, r: {"proximity": {"kind": kind, "max_km": _up(max_km + g)}},
        )

    return Rule(f"near_{kind}", f"距{label}过远", applies, render)


def _reserved(req: Requirement, ps: Params, public: bool) -> Rendered:
    # Active holds are few; the engine passes the reserved parcel ids (other projects only).
    return Rendered(
        "reserved", "已被其他项目预留", "NOT (p.id = ANY(CAST(:reserved_ids AS bigint[])))"
    )


RULES: tuple[Rule, ...] = (
    Rule("land_use", "用地性质不兼容", lambda r: True, _land_use),
    Rule(
        "area", "面积不符", lambda r: r.area_mu_min is not None or r.area_mu_max is not None, _area
    ),
    Rule(
        "invest_intensity",
        "投资强度未达标准地要求",
        lambda r: r.investment_basis is not None,
        _invest_intensity,
    ),
    _floor_per_mu(
        "tax_per_mu", "亩均税收未达标准地要求", "tax_per_mu_min", "annual_tax_wan", "年税收"
    ),
    Rule(
        "energy",
        "单位增加值能耗超标",
        lambda r: r.energy_tce is not None and r.value_added_wan is not None,
        _energy,
    ),
    Rule("far", "容积率不符合控制指标", lambda r: r.planned_far is not None, _far),
    Rule(
        "building_coeff",
        "建筑系数低于控制指标",
        lambda r: r.planned_building_coeff_pct is not None,
        _building_coeff,
    ),
    Rule(
        "green_ratio",
        "绿地率超过控制指标",
        lambda r: r.planned_green_ratio_pct is not None,
        _green_ratio,
    ),
    Rule(
        "admin_ratio",
        "行政办公及生活服务设施用地比例超过 7%",
        lambda r: r.planned_admin_ratio_pct is not None,
        _admin_ratio,
    ),
    _capacity("power_kva", "power", "供电容量不足", "kVA", "用电需求"),
    _capacity("water_m3d", "water", "供水能力不足", "m³/日", "用水需求"),
    _capacity("gas_m3d", "gas", "供气能力不足", "m³/日", "用气需求"),
    _capacity("heat_mw", "heat", "供热能力不足", "MW", "用热需求"),
    Rule(
        "telecom",
        "通信条件不满足",
        lambda r: r.utilities.need_5g or r.utilities.need_fibre,
        _telecom,
    ),
    Rule("excluded", "位于禁止建设的管控区", lambda r: True, _excluded),
    _budget("budget_per_mu", "地价超出单价预算", "max_wan_per_mu", "", "预算", " 万元/亩"),
    _budget("budget_total", "土地总价超出预算", "max_total_wan", f" * {AMU}", "总预算", " 万元"),
    Rule("supply_mode", "供地方式不符", lambda r: bool(r.supply_modes), _supply),
    *(_near(k) for k in vocab.FACILITY_KINDS),
    Rule("reserved", "已被其他项目预留", lambda r: True, _reserved),
)
RULE_LABELS: dict[str, str] = {r.name: r.label for r in RULES} | {
    "status": "地块状态不在范围内",
    "location": "不在指定区位内",
}


def render_rules(req: Requirement, ps: Params, public: bool) -> list[Rendered]:
    """The rules that apply to ``req``, rendered to SQL."""
    return [r.render(req, ps, public) for r in RULES if r.applies(req)]


def scope_sql(req: Requirement, ps: Params, public: bool, zone_ids: list[int] | None) -> str:
    """Status, visibility and location: the parcels a match considers."""
    where = ["p.deleted_at IS NULL"]
    if public:
        where.append("p.status = 'ready' AND p.visibility = 'public'")
    else:
        where.append(f"p.status = ANY({ps.add(req.statuses, 'text[]')})")
    where.extend(location_sql(req, ps, zone_ids))
    return " AND ".join(where)


def location_sql(req: Requirement, ps: Params, zone_ids: list[int] | None) -> list[str]:
    loc = req.location
    out = []
    if loc.cities:
        out.append(f"p.city_code = ANY({ps.add(loc.cities, 'text[]')})")
    if zone_ids is not None:
        z = ps.add(zone_ids, "int[]")
        # Never NULL, and the "= ANY" stays a qual the zone index can scan by.
        out.append(f"(p.zone_key IS NOT NULL AND p.zone_key = ANY({z}))")
    elif loc.in_zone_only:
        out.append("p.zone_key IS NOT NULL")
    if loc.bbox:
        x0, y0, x1, y1 = (ps.add(v, "float8") for v in loc.bbox)
        env = f"ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4490)"
        # A parcel whose box lies inside the area is in it: only one across its edge is read.
        inside = (
            f"p.bbox_xmin >= {x0} AND p.bbox_xmax <= {x1} "
            f"AND p.bbox_ymin >= {y0} AND p.bbox_ymax <= {y1}"
        )
        out.append(f"({_boxes_meet((x0, y0, x1, y1))} AND ({inside} OR {_parcel_meets(env)}))")
    if loc.polygon:
        import json

        g = f"ST_SetSRID(ST_GeomFromGeoJSON({ps.add(json.dumps(loc.polygon), 'text')}), 4490)"
        x0, y0, x1, y1 = shapely.geometry.shape(loc.polygon).bounds
        box = (
            ps.add(x0, "float8"),
            ps.add(y0, "float8"),
            ps.add(x1, "float8"),
            ps.add(y1, "float8"),
        )
        out.append(f"({_boxes_meet(box)} AND {_parcel_meets(g)})")
    return out


def _boxes_meet(box: tuple[str, str, str, str]) -> str:
    """The parcel's bounding box (from the match index) meets ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    return (
        f"p.bbox_xmin <= {x1} AND p.bbox_xmax >= {x0} "
        f"AND p.bbox_ymin <= {y1} AND p.bbox_ymax >= {y0}"
    )


def _parcel_meets(area: str) -> str:
    """The parcel's geometry meets ``area`` (read from ``parcel``, one row by id)."""
    return (
        "EXISTS (SELECT 1 FROM landmatch.parcel g WHERE g.id = p.id AND "
        f"ST_Intersects(g.geom, {area}))"
    )
