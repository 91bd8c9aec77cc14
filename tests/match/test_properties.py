"""Properties of the ranking, with hypothesis, on the seeded inventory."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.match.assemblies import area_fit
from landmatch.match.engine import run_match
from landmatch.match.requirements import CRITERIA, Requirement
from landmatch.match.rules import Params
from landmatch.match.scores import area_fit_sql, combine
from tests.match.helpers import TODAY

PROMOTER = Principal(name="t", role="promoter")
M2_PER_MU = 10000 / 15

weights_st = st.fixed_dictionaries({c: st.floats(0, 10) for c in CRITERIA}).filter(
    lambda w: sum(w.values()) > 0.01
)
scores_st = st.fixed_dictionaries({c: st.floats(0, 1) for c in CRITERIA})


@given(scores_st, weights_st)
def test_contributions_sum_to_total(scores: dict[str, float], weights: dict[str, float]) -> None:
    total, contrib = combine(scores, weights)
    assert abs(sum(contrib.values()) - total) < 1e-9
    assert -1e-9 <= total <= 100 + 1e-9


@given(scores_st, weights_st, st.sampled_from(CRITERIA), st.floats(0.001, 50))
def test_raising_a_weight_never_lowers_its_contribution(
    scores: dict[str, float], weights: dict[str, float], criterion: str, more: float
) -> None:
    _, before = combine(scores, weights)
    _, after = combine(scores, {**weights, criterion: weights[criterion] + more})
    assert after[criterion] >= before[criterion] - 1e-9


ranges = st.tuples(st.floats(1, 500), st.floats(0, 500)).map(lambda t: (t[0], t[0] + t[1]))


@given(ranges, st.floats(0, 2000))
def test_area_fit_peaks_inside_the_range(rng: tuple[float, float], area: float) -> None:
    lo, hi = rng
    best_inside = area_fit((lo + hi) / 2, lo, hi)
    assert best_inside == 1.0
    assert area_fit(area, lo, hi) <= best_inside
    if not lo <= area <= hi:  # outside is always below any point inside
        assert area_fit(area, lo, hi) <= min(area_fit(lo, lo, hi), area_fit(hi, lo, hi)) + 1e-12


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ranges, st.floats(0, 1500))
def test_sql_area_fit_matches_python(
    conn: Connection, rng: tuple[float, float], area: float
) -> None:
    lo, hi = rng
    ps = Params()
    req = Requirement(area_mu_min=lo, area_mu_max=hi)
    sql = area_fit_sql(req, ps, area=ps.add(area, "float8"))
    got = conn.execute(text(f"SELECT {sql}"), ps.values).scalar_one()
    assert abs(got - area_fit(area, lo, hi)) < 1e-9


def _compatible(land_use: str, compat: list[str], req: Requirement) -> bool:
    """Independent oracle for docs/domain.md §3."""
    if req.industry in vocab.LOGISTICS_INDUSTRIES:
        return land_use.startswith("1101") or (
            land_use.startswith("1001") and any(c.startswith("1101") for c in compat)
        )
    pc = req.effective_pollution
    by_class: dict[int | None, bool] = {
        3: land_use == "100103",
        2: land_use in ("100102", "100103"),
    }
    ok = by_class.get(pc, land_use.startswith("1001"))
    if req.industry in vocab.RESEARCH_INDUSTRIES:
        ok = ok or land_use == "0802" or (land_use.startswith("1001") and "0802" in compat)
    return ok


def _check(props: dict[str, Any], req: Requirement) -> None:
    amu = props["area_m2"] / M2_PER_MU
    assert props["status"] in req.statuses
    assert _compatible(props["land_use"], props["compatible_uses"], req)
    if req.area_mu_min is not None:
        assert amu >= req.area_mu_min - 1e-6
    if req.area_mu_max is not None:
        assert amu <= req.area_mu_max + 1e-6
    price = props["ref_price_wan_per_mu"]
    if req.budget.max_wan_per_mu is not None and price is not None:
        assert price <= req.budget.max_wan_per_mu + 1e-6
    if req.utilities.power_kva is not None and props["power_kva"] is not None:
        assert props["power_kva"] >= req.utilities.power_kva
    if req.investment_wan is not None and props["invest_intensity_min"] is not None:
        assert props["invest_intensity_min"] * amu <= req.investment_wan + 1e-6
    if req.location.cities:
        assert props["city_code"] in req.location.cities
    if req.supply_modes:
        assert set(props["supply_modes"]) & set(req.supply_modes)
    for p in req.proximity:
        if p.hard:
            assert props["distances_km"][p.kind] is not None
            assert props["distances_km"][p.kind] <= p.max_km + 1e-9


requirements_st = st.builds(
    lambda industry, lo, span, budget, power, inv, cities, modes, coming, near: Requirement(
        industry=industry,
        area_mu_min=lo,
        area_mu_max=None if span is None else lo + span,
        budget={"max_wan_per_mu": budget},
        utilities={"power_kva": power},
        investment_wan=inv,
        location={"cities": cities},
        supply_modes=modes,
        include_coming=coming,
        proximity=[{"kind": "highway_interchange", "max_km": near, "hard": True}] if near else [],
        top=30,
    ),
    st.sampled_from(["26", "36", "39", "59", "73", "13"]),
    st.floats(5, 150),
    st.one_of(st.none(), st.floats(1, 300)),
    st.one_of(st.none(), st.floats(15, 80)),
    st.one_of(st.none(), st.floats(500, 20000)),
    st.one_of(st.none(), st.floats(1000, 100000)),
    st.lists(st.sampled_from(["130100", "130200", "130600", "130900", "131000"]), max_size=2),
    st.lists(st.sampled_from(["auction", "flexible_term", "long_lease"]), max_size=2),
    st.booleans(),
    st.one_of(st.none(), st.floats(3, 40)),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(requirements_st)
def test_no_ranked_parcel_breaks_a_hard_rule(session: Session, req: Requirement) -> None:
    result = run_match(session, req, PROMOTER, store=False, today=TODAY)
    for f in result["features"]:
        if f["properties"]["kind"] == "parcel":
            _check(f["properties"], req)
    scores = [
        f["properties"]["score"] for f in result["features"] if f["properties"]["kind"] == "parcel"
    ]
    assert scores == sorted(scores, reverse=True)
    for f in result["features"]:
        b = f["properties"]["breakdown"]
        assert abs(sum(x["contribution"] for x in b) - f["properties"]["score"]) < 1e-2
        assert all(0 <= x["score"] <= 1 for x in b)


def test_same_request_same_ranking(session: Session) -> None:
    req = Requirement(industry="36", area_mu_min=20, area_mu_max=200, top=40, include_coming=True)
    runs = [run_match(session, req, PROMOTER, store=False, today=TODAY) for _ in range(3)]
    orders = [[f["id"] for f in r["features"]] for r in runs]
    assert orders[0] and orders[0] == orders[1] == orders[2]
    assert [r["why_not"] for r in runs][0] == runs[2]["why_not"]
