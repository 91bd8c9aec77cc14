"""Each hard rule, from a table of (parcel, request, expected verdict) against real PostGIS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from tests.match.helpers import verdicts

# (case id, parcel attributes, fact overrides or None for "no fact row", request, rule, passes)
CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any], str, bool]] = [
    # Land use, docs/domain.md §3.
    ("三类 on 100103", {"land_use": "100103"}, {}, {"industry": "26"}, "land_use", True),
    ("三类 not on 100102", {"land_use": "100102"}, {}, {"industry": "26"}, "land_use", False),
    (
        "三类 by class on 100101",
        {"land_use": "100101"},
        {},
        {"industry": "36", "pollution_class": 3},
        "land_use",
        False,
    ),
    ("二类 on 100102", {"land_use": "100102"}, {}, {"industry": "36"}, "land_use", True),
    ("二类 on 100103", {"land_use": "100103"}, {}, {"industry": "36"}, "land_use", True),
    ("二类 not on 100101", {"land_use": "100101"}, {}, {"industry": "36"}, "land_use", False),
    ("一类 on 100101", {"land_use": "100101"}, {}, {"industry": "39"}, "land_use", True),
    ("一类 on 100103", {"land_use": "100103"}, {}, {"industry": "39"}, "land_use", True),
    ("一类 not on logistics", {"land_use": "110101"}, {}, {"industry": "39"}, "land_use", False),
    ("logistics on 110102", {"land_use": "110102"}, {}, {"industry": "59"}, "land_use", True),
    (
        "logistics not on plain industrial",
        {"land_use": "100102"},
        {},
        {"industry": "59"},
        "land_use",
        False,
    ),
    (
        "logistics on industrial compatible with logistics",
        {"land_use": "100102", "compatible_uses": ["110101"]},
        {},
        {"industry": "59"},
        "land_use",
        True,
    ),
    # Logistics on the same 一/二/三类 ladder (三类 storage: hazardous goods).
    (
        "三类 logistics on 110103",
        {"land_use": "110103"},
        {},
        {"industry": "59", "pollution_class": 3},
        "land_use",
        True,
    ),
    (
        "三类 logistics not on 110101",
        {"land_use": "110101"},
        {},
        {"industry": "59", "pollution_class": 3},
        "land_use",
        False,
    ),
    (
        "三类 logistics not on 110102",
        {"land_use": "110102"},
        {},
        {"industry": "59", "pollution_class": 3},
        "land_use",
        False,
    ),
    (
        "二类 logistics on 110102",
        {"land_use": "110102"},
        {},
        {"industry": "59", "pollution_class": 2},
        "land_use",
        True,
    ),
    (
        "二类 logistics not on 110101",
        {"land_use": "110101"},
        {},
        {"industry": "59", "pollution_class": 2},
        "land_use",
        False,
    ),
    (
        "hazardous storage (5942) not on 110102",
        {"land_use": "110102"},
        {},
        {"industry": "5942"},
        "land_use",
        False,
    ),
    (
        "三类 logistics on industrial compatible with 110103",
        {"land_use": "100102", "compatible_uses": ["110103"]},
        {},
        {"industry": "59", "pollution_class": 3},
        "land_use",
        True,
    ),
    (
        "三类 logistics not on industrial compatible with 110101 only",
        {"land_use": "100102", "compatible_uses": ["110101"]},
        {},
        {"industry": "59", "pollution_class": 3},
        "land_use",
        False,
    ),
    # 兼容用途 物流仓储用地 / 1101 is stored as its default sub-class 110102 (as 用途 is).
    (
        "二类 logistics on industrial compatible with 1101 (110102)",
        {"land_use": "100101", "compatible_uses": ["110102"]},
        {},
        {"industry": "59", "pollution_class": 2},
        "land_use",
        True,
    ),
    (
        "三类 logistics not on industrial compatible with 1101 (110102)",
        {"land_use": "100101", "compatible_uses": ["110102"]},
        {},
        {"industry": "59", "pollution_class": 3},
        "land_use",
        False,
    ),
    ("R&D on 0802", {"land_use": "0802"}, {}, {"industry": "73"}, "land_use", True),
    ("R&D not on commerce", {"land_use": "0901"}, {}, {"industry": "73"}, "land_use", False),
    ("explicit land uses", {"land_use": "0901"}, {}, {"land_uses": ["0901"]}, "land_use", True),
    # Area (the test parcel is ≈ 15 亩).
    ("area inside", {}, {}, {"area_mu_min": 10, "area_mu_max": 20}, "area", True),
    ("area below min", {}, {}, {"area_mu_min": 20}, "area", False),
    ("area above max", {}, {}, {"area_mu_max": 10}, "area", False),
    # 标准地 on the parcel's own area: 300 万元/亩 × 15 亩 ≈ 4 500 万元.
    (
        "intensity met",
        {"invest_intensity_min": 300},
        {},
        {"investment_wan": 5000},
        "invest_intensity",
        True,
    ),
    (
        "intensity short",
        {"invest_intensity_min": 300},
        {},
        {"investment_wan": 4000},
        "invest_intensity",
        False,
    ),
    ("intensity not set", {}, {}, {"investment_wan": 10}, "invest_intensity", True),
    # The floor is 固定资产投资强度: the fixed-asset investment, not the total, when given.
    (
        "fixed-asset intensity short, the total would pass",
        {"invest_intensity_min": 300},
        {},
        {"investment_wan": 6000, "fixed_asset_investment_wan": 4000},
        "invest_intensity",
        False,
    ),
    (
        "fixed-asset intensity met",
        {"invest_intensity_min": 300},
        {},
        {"investment_wan": 8000, "fixed_asset_investment_wan": 5000},
        "invest_intensity",
        True,
    ),
    (
        "fixed-asset investment alone",
        {"invest_intensity_min": 300},
        {},
        {"fixed_asset_investment_wan": 4000},
        "invest_intensity",
        False,
    ),
    # Control indicators (docs/domain.md §8): the parcel's own, else the national defaults
    # on industrial land (landmatch.match.control: 建筑系数 ≥ 30 %, 绿地率 ≤ 20 %, admin ≤ 7 %,
    # FAR by division).
    (
        "building coeff below the parcel's",
        {"building_coeff_min": 40},
        {},
        {"planned_building_coeff_pct": 35},
        "building_coeff",
        False,
    ),
    (
        "building coeff at the parcel's",
        {"building_coeff_min": 40},
        {},
        {"planned_building_coeff_pct": 40},
        "building_coeff",
        True,
    ),
    (
        "building coeff below the default",
        {},
        {},
        {"planned_building_coeff_pct": 25},
        "building_coeff",
        False,
    ),
    (
        "building coeff within the default",
        {},
        {},
        {"planned_building_coeff_pct": 35},
        "building_coeff",
        True,
    ),
    (
        "no default off industrial land",
        {"land_use": "0901"},
        {},
        {"land_uses": ["0901"], "planned_building_coeff_pct": 25},
        "building_coeff",
        True,
    ),
    (
        "green over the parcel's",
        {"green_ratio_max": 15},
        {},
        {"planned_green_ratio_pct": 18},
        "green_ratio",
        False,
    ),
    ("green over the default", {}, {}, {"planned_green_ratio_pct": 25}, "green_ratio", False),
    ("green within the default", {}, {}, {"planned_green_ratio_pct": 18}, "green_ratio", True),
    ("admin share over 7 %", {}, {}, {"planned_admin_ratio_pct": 8}, "admin_ratio", False),
    ("admin share within 7 %", {}, {}, {"planned_admin_ratio_pct": 7}, "admin_ratio", True),
    ("FAR below the parcel's", {"far_min": 1.2}, {}, {"planned_far": 1.0}, "far", False),
    ("FAR above the parcel's", {"far_max": 2.0}, {}, {"planned_far": 2.5}, "far", False),
    (
        "FAR within the parcel's",
        {"far_min": 1.0, "far_max": 2.0},
        {},
        {"planned_far": 1.5},
        "far",
        True,
    ),
    (
        "FAR below the division's default",
        {},
        {},
        {"industry": "26", "planned_far": 0.5},
        "far",
        False,
    ),
    ("FAR at the division's default", {}, {}, {"industry": "26", "planned_far": 0.6}, "far", True),
    ("FAR with no default", {}, {}, {"industry": "59", "planned_far": 0.3}, "far", True),
    ("tax met", {"tax_per_mu_min": 20}, {}, {"annual_tax_wan": 400}, "tax_per_mu", True),
    ("tax short", {"tax_per_mu_min": 20}, {}, {"annual_tax_wan": 200}, "tax_per_mu", False),
    (
        "energy met",
        {"energy_per_value_max": 0.5},
        {},
        {"energy_tce": 100, "value_added_wan": 1000},
        "energy",
        True,
    ),
    (
        "energy over",
        {"energy_per_value_max": 0.5},
        {},
        {"energy_tce": 800, "value_added_wan": 1000},
        "energy",
        False,
    ),
    # Utilities: unknown is not a failure unless the request says so (and is never "met").
    ("power met", {"power_kva": 1000}, {}, {"utilities": {"power_kva": 500}}, "power", True),
    ("power short", {"power_kva": 1000}, {}, {"utilities": {"power_kva": 2000}}, "power", False),
    ("power unknown", {}, {}, {"utilities": {"power_kva": 2000}}, "power", True),
    (
        "power unknown, known required",
        {},
        {},
        {"utilities": {"power_kva": 2000}, "require_known_utilities": True},
        "power",
        False,
    ),
    ("water short", {"water_m3d": 100}, {}, {"utilities": {"water_m3d": 200}}, "water", False),
    ("gas met", {"gas_m3d": 1000}, {}, {"utilities": {"gas_m3d": 1000}}, "gas", True),
    ("heat short", {"heat_mw": 1}, {}, {"utilities": {"heat_mw": 5}}, "heat", False),
    ("5G missing", {"telecom_5g": False}, {}, {"utilities": {"need_5g": True}}, "telecom", False),
    ("5G unknown", {}, {}, {"utilities": {"need_5g": True}}, "telecom", True),
    (
        "5G unknown, known required",
        {},
        {},
        {"utilities": {"need_5g": True}, "require_known_utilities": True},
        "telecom",
        False,
    ),
    # Exclusion constraints: three states.
    ("excluded", {}, {"excluded": True}, {}, "excluded", False),
    ("checked clear", {}, {"excluded": False}, {}, "excluded", True),
    ("not checked", {}, None, {}, "excluded", True),
    # Budget.
    (
        "price within",
        {"ref_price_wan_per_mu": 40},
        {},
        {"budget": {"max_wan_per_mu": 45}},
        "budget_per_mu",
        True,
    ),
    (
        "price over",
        {"ref_price_wan_per_mu": 40},
        {},
        {"budget": {"max_wan_per_mu": 35}},
        "budget_per_mu",
        False,
    ),
    (
        "total within",
        {"ref_price_wan_per_mu": 40},
        {},
        {"budget": {"max_total_wan": 700}},
        "budget_total",
        True,
    ),
    (
        "total over",
        {"ref_price_wan_per_mu": 40},
        {},
        {"budget": {"max_total_wan": 500}},
        "budget_total",
        False,
    ),
    # Supply mode.
    (
        "mode offered",
        {"supply_modes": ["auction", "long_lease"]},
        {},
        {"supply_modes": ["long_lease"]},
        "supply_mode",
        True,
    ),
    (
        "mode not offered",
        {"supply_modes": ["auction"]},
        {},
        {"supply_modes": ["long_lease"]},
        "supply_mode",
        False,
    ),
    # Hard proximity.
    (
        "port near enough",
        {},
        {"dist_port_km": 50},
        {"proximity": [{"kind": "port", "max_km": 60, "hard": True}]},
        "near_port",
        True,
    ),
    (
        "port too far",
        {},
        {"dist_port_km": 50},
        {"proximity": [{"kind": "port", "max_km": 40, "hard": True}]},
        "near_port",
        False,
    ),
    (
        "port distance unknown",
        {},
        {"dist_port_km": None},
        {"proximity": [{"kind": "port", "max_km": 400, "hard": True}]},
        "near_port",
        False,
    ),
]


@pytest.mark.parametrize(
    ("req", "main", "compat"),
    [
        ({"industry": "26"}, ["100103"], []),
        ({"industry": "36"}, ["100102", "100103"], []),
        ({"industry": "39"}, ["100101", "100102", "100103"], []),
        ({"industry": "59"}, ["110101", "110102", "110103"], ["110101", "110102", "110103"]),
        ({"industry": "59", "pollution_class": 2}, ["110102", "110103"], ["110102", "110103"]),
        ({"industry": "59", "pollution_class": 3}, ["110103"], ["110103"]),
        ({"industry": "5942"}, ["110103"], ["110103"]),
        ({"industry": "73"}, ["0802", "100101", "100102", "100103"], ["0802"]),
    ],
)
def test_allowed_land_uses_one_ladder(
    req: dict[str, Any], main: list[str], compat: list[str]
) -> None:
    """Industry and logistics read the same 一/二/三类 ladder (docs/domain.md §3)."""
    from landmatch.match.requirements import Requirement
    from landmatch.match.rules import allowed_land_uses

    assert allowed_land_uses(Requirement(**req)) == (main, compat)


@pytest.mark.parametrize(
    ("case", "attrs", "facts", "req", "rule", "passes"), CASES, ids=[c[0] for c in CASES]
)
def test_rule(
    session: Session,
    make_parcel: Callable[..., int],
    case: str,
    attrs: dict[str, Any],
    facts: dict[str, Any] | None,
    req: dict[str, Any],
    rule: str,
    passes: bool,
) -> None:
    pid = make_parcel(facts=facts is not None, **attrs)
    if facts:
        sets = ", ".join(f"{k} = :{k}" for k in facts)
        session.execute(
            text(f"UPDATE landmatch.parcel_fact SET {sets} WHERE parcel_id = :id"),
            {**facts, "id": pid},
        )
    v = verdicts(session, req, pid)
    assert v["scope"] is True
    assert v[rule] is passes, case
    # The candidate query applies the same rules: the parcel ranks iff every rule passes.
    rules = [k for k in v if k not in ("scope", "candidate")]
    assert v["candidate"] is all(v[k] for k in rules)


def test_soft_proximity_is_not_a_rule(session: Session, make_parcel: Callable[..., int]) -> None:
    pid = make_parcel()
    session.execute(
        text("UPDATE landmatch.parcel_fact SET dist_port_km = 500 WHERE parcel_id = :id"),
        {"id": pid},
    )
    v = verdicts(session, {"proximity": [{"kind": "port", "max_km": 10}]}, pid)
    assert "near_port" not in v
    assert v["candidate"] is True


def test_budget_uses_published_price_only(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    """An unpublished price is nobody's to filter by (landmatch.confidential): unknown, not a
    failure (flagged in the explanation), for staff and public alike — a budget that failed on
    it would let a promoter narrow it down."""
    hidden = make_parcel(ref_price_wan_per_mu=90, price_public=False)
    shown = make_parcel(ref_price_wan_per_mu=90, price_public=True)
    req = {"budget": {"max_wan_per_mu": 45}}
    for public in (False, True):
        assert verdicts(session, req, hidden, public=public)["budget_per_mu"] is True
        assert verdicts(session, req, shown, public=public)["budget_per_mu"] is False


@pytest.mark.parametrize(
    ("attrs", "req", "in_scope"),
    [
        ({"status": "idle"}, {}, False),
        ({"status": "idle"}, {"include_coming": True}, True),
        ({"status": "unsupplied"}, {"include_coming": True}, True),
        ({"status": "supplied"}, {"include_coming": True}, False),
        ({"city_code": "130100"}, {"location": {"cities": ["130600"]}}, False),
        ({"city_code": "130100"}, {"location": {"cities": ["130100"]}}, True),
        ({}, {"location": {"bbox": [114.0, 37.5, 115.5, 38.5]}}, True),
        ({}, {"location": {"bbox": [116.0, 39.0, 117.0, 40.0]}}, False),
        (
            {},
            {
                "location": {
                    "polygon": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [114.0, 37.5],
                                [115.5, 37.5],
                                [115.5, 38.5],
                                [114.0, 38.5],
                                [114.0, 37.5],
                            ]
                        ],
                    }
                }
            },
            True,
        ),
        ({}, {"location": {"in_zone_only": True}}, False),
    ],
)
def test_status_and_location_scope(
    session: Session,
    make_parcel: Callable[..., int],
    attrs: dict[str, Any],
    req: dict[str, Any],
    in_scope: bool,
) -> None:
    pid = make_parcel(**attrs)
    assert verdicts(session, req, pid)["scope"] is in_scope


def test_zone_filters(session: Session, make_parcel: Callable[..., int]) -> None:
    zone = session.execute(
        text(
            "SELECT id, code, level, ST_AsText(ST_PointOnSurface(geom)), city_code "
            "FROM landmatch.dev_zone ORDER BY id LIMIT 1"
        )
    ).one()
    x, y = (float(v) for v in zone[3][6:-1].split())
    from tests.match.conftest import square

    # A parcel is in a zone of its own city only (landmatch.db.membership).
    pid = make_parcel(wkt=square(x - 0.0002, y - 0.0002, 0.0004, 0.0004), city_code=zone[4])
    assert verdicts(session, {"location": {"zones": [zone.code]}}, pid)["scope"] is True
    assert verdicts(session, {"location": {"in_zone_only": True}}, pid)["scope"] is True
    other = "provincial" if zone.level == "national" else "national"
    assert verdicts(session, {"location": {"zone_levels": [other]}}, pid)["scope"] is False
    assert verdicts(session, {"location": {"zone_levels": [zone.level]}}, pid)["scope"] is True


def test_reserved_for_another_project(
    session: Session, make_parcel: Callable[..., int], make_project: Callable[..., int]
) -> None:
    pid = make_parcel()
    mine, theirs = make_project("我的项目"), make_project("别人的项目")
    session.execute(
        text("INSERT INTO landmatch.reservation (parcel_id, project_id) VALUES (:p, :pr)"),
        {"p": pid, "pr": theirs},
    )
    assert verdicts(session, {"project_id": mine}, pid)["reserved"] is False
    assert verdicts(session, {"project_id": theirs}, pid)["reserved"] is True
    assert verdicts(session, {}, pid)["reserved"] is False


def test_unknown_price_and_freshness_score_zero_not_full(
    client: TestClient, tokens: dict[str, str], conn: Connection
) -> None:
    """PostgreSQL's LEAST() ignores NULL: an unknown price must not read as the best price."""
    from sqlalchemy import text

    from tests.conftest import auth

    code = conn.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE status = 'ready' AND deleted_at IS NULL "
            "AND land_use = '100102' AND city_code = '130100' ORDER BY id LIMIT 1"
        )
    ).scalar()
    conn.execute(
        text(
            "UPDATE landmatch.parcel SET ref_price_wan_per_mu = NULL, "
            "data_updated_on = NULL WHERE code = :c"
        ),
        {"c": code},
    )
    area_mu = conn.execute(
        text("SELECT area_m2 * 15 / 10000 FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    req = {
        "industry": "34",
        "area_mu_min": float(area_mu) - 1,
        "area_mu_max": float(area_mu) + 1,
        "location": {"cities": ["130100"]},
        "top": 200,
        "assemblies": False,
    }
    r = client.post("/api/match", json=req, headers=auth(tokens["promoter"]))
    assert r.status_code == 200, r.text
    feat = next(f for f in r.json()["features"] if f["properties"]["code"] == code)
    parts = {b["criterion"]: b for b in feat["properties"]["breakdown"]}
    assert parts["price"]["score"] == 0 and parts["price"]["contribution"] == 0
    assert parts["freshness"]["score"] == 0


def test_a_search_area_reads_a_parcel_geometry_only_across_its_edge(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    """A drawn search area is decided first on the parcel's bounding box, read from the match
    index (migration 0045_fact_control); a box across the area's edge is settled by the
    geometry itself: a triangle whose box overlaps the area's corner but which stays outside
    is out, a parcel across the edge is in, and a parcel moved out is out at once."""
    x, y = 114.80, 38.30
    area = {"location": {"bbox": [x, y, x + 0.01, y + 0.01]}}
    ring = [[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]
    drawn = {"location": {"polygon": {"type": "Polygon", "coordinates": [ring]}}}

    def poly(*pts: tuple[float, float]) -> str:
        return f"MULTIPOLYGON((({', '.join(f'{x + a} {y + b}' for a, b in (*pts, pts[0]))})))"

    inside = make_parcel(wkt=poly((0.002, 0.002), (0.004, 0.002), (0.004, 0.004)))
    across = make_parcel(wkt=poly((0.008, 0.004), (0.012, 0.004), (0.012, 0.006), (0.008, 0.006)))
    beside = make_parcel(wkt=poly((0.009, 0.013), (0.013, 0.013), (0.013, 0.009)))
    for req in (area, drawn):
        assert verdicts(session, req, inside)["scope"] is True
        assert verdicts(session, req, across)["scope"] is True
        assert verdicts(session, req, beside)["scope"] is False
    session.execute(
        text("UPDATE landmatch.parcel SET geom = ST_Translate(geom, 0.05, 0) WHERE id = :id"),
        {"id": inside},
    )
    assert verdicts(session, area, inside)["scope"] is False
    assert verdicts(session, drawn, inside)["scope"] is False
