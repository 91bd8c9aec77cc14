"""The pruned ranking (``Plan.select_top``) against the plain one that scores every passing
parcel, on the seeded inventory, for many random requests (hypothesis): the same response —
ranking, scores and explanations, why-not, near misses, assemblies — ties at the cut included,
and the exact count of passing parcels from the ranking's own pass."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from landmatch import auth
from landmatch.auth import Principal
from landmatch.match import engine, whynot
from landmatch.match.engine import Plan, _rank, _ranked, run_match
from landmatch.match.plan import NearScan
from landmatch.match.reference import data_version, load_reference
from landmatch.match.requirements import CRITERIA, Requirement
from landmatch.match.rules import MATCH_FROM
from tests.match.helpers import TODAY

PROMOTER = Principal(name="t", role="promoter")
PUBLIC = auth.PUBLIC
VOLATILE = ("match_id", "created_at", "timing_ms")

# Weights drawn from a few values, zeros included: a request weighing only the zone fit or
# the price ranks hundreds of parcels equal, so ties at the cut are common.
weight_st = st.sampled_from([0.0, 0.0, 0.5, 1.0, 3.0, 10.0])
weights_st = st.one_of(
    st.none(),
    st.fixed_dictionaries({c: weight_st for c in CRITERIA}).filter(lambda w: sum(w.values()) > 0),
)


@st.composite
def requirements(draw: Any) -> Requirement:
    lo = draw(st.one_of(st.none(), st.floats(1, 150)))
    span = draw(st.one_of(st.none(), st.floats(0, 400)))
    near = draw(st.one_of(st.none(), st.floats(2, 60)))
    soft = draw(
        st.lists(st.sampled_from(["port", "airport", "rail_freight"]), max_size=2, unique=True)
    )
    body: dict[str, Any] = {
        "industry": draw(st.sampled_from(["26", "36", "39", "59", "73", "13", "14", None])),
        "area_mu_min": lo,
        "area_mu_max": None if span is None or lo is None else lo + span,
        "investment_wan": draw(st.one_of(st.none(), st.floats(1000, 200000))),
        "annual_tax_wan": draw(st.one_of(st.none(), st.floats(10, 5000))),
        "budget": {
            "max_wan_per_mu": draw(st.one_of(st.none(), st.floats(10, 90))),
            "max_total_wan": draw(st.one_of(st.none(), st.floats(500, 50000))),
        },
        "utilities": {
            "power_kva": draw(st.one_of(st.none(), st.floats(500, 20000))),
            "need_5g": draw(st.booleans()),
        },
        "location": {
            "cities": draw(
                st.lists(st.sampled_from(["130100", "130200", "130600", "130900"]), max_size=2)
            ),
            "zone_levels": draw(st.lists(st.sampled_from(["national", "provincial"]), max_size=1)),
        },
        "supply_modes": draw(st.lists(st.sampled_from(["auction", "long_lease"]), max_size=1)),
        "include_coming": draw(st.booleans()),
        "proximity": (
            [{"kind": "highway_interchange", "max_km": near, "hard": True}] if near else []
        )
        + [{"kind": k, "max_km": 50} for k in soft],
        "preset": draw(st.sampled_from(["general_manufacturing", "logistics", "high_tech"])),
        "weights": draw(weights_st),
        "top": draw(st.sampled_from([1, 3, 10, 20, 60])),
    }
    return Requirement.model_validate(body)


def _stable(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k not in VOLATILE}


def _passing(session: Any, req: Requirement, public: bool) -> int:
    plan = Plan(session, req, public, load_reference(session, data_version(session)), TODAY, 365)
    where = " AND ".join([plan.scope] + [r.sql for r in plan.rules])
    return int(
        session.execute(
            text(f"SELECT count(*) {MATCH_FROM.format(sample='')} WHERE {where}"), plan.ps.values
        ).scalar_one()
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(requirements(), st.booleans())
def test_pruned_ranking_is_the_plain_one(session: Session, req: Requirement, public: bool) -> None:
    who = PUBLIC if public else PROMOTER
    pruned = run_match(session, req, who, store=False, today=TODAY, prune=True)
    plain = run_match(session, req, who, store=False, today=TODAY, prune=False)
    assert _stable(pruned) == _stable(plain)
    assert pruned["why_not"]["passed"] == _passing(session, req, public)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(requirements(), st.booleans(), st.sampled_from([1, 2, 3, whynot.NEAR_MISSES]))
def test_near_misses_from_the_ranking_scan(
    session: Session, req: Requirement, public: bool, keep: int
) -> None:
    """The pruned ranking's scan also finds the first near-miss pass's candidates
    (``whynot.near_scan``); the pass read from them is the standalone pass row for row, ties at
    the last place included, and so are the near misses. Few near misses are kept in most
    draws (``keep``), so that the first pass, not a later one, gives the answer."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(whynot, "NEAR_MISSES", keep)
        plan = Plan(
            session, req, public, load_reference(session, data_version(session)), TODAY, 365
        )
        near = whynot.near_scan(plan)
        ranked, passed, first = _rank(session, plan, req.top, prune=True, near=near)
        assert (ranked, passed) == _ranked(session, plan, req.top, prune=True)
        if near is None or not ranked:
            assert first is None
            return
        assert first is not None
        step = whynot.REL_STEPS[0]
        folded = [dict(r) for r in whynot._near_miss_rows(session, plan, step, first)]
        alone = [dict(r) for r in whynot._near_miss_rows(session, plan, step)]
        assert folded == alone
        assert whynot._near_misses(session, plan, first) == whynot._near_misses(session, plan)


@pytest.mark.parametrize("keep", [1, 2])
def test_a_full_first_near_miss_pass_is_the_standalone_one(
    session: Session, monkeypatch: pytest.MonkeyPatch, keep: int
) -> None:
    """A request whose first pass (changes up to 1 %) fills the near misses by itself: the
    pass read from the ranking scan's candidates is the standalone pass, row for row."""
    monkeypatch.setattr(whynot, "NEAR_MISSES", keep)
    req = Requirement(industry="14", area_mu_min=5, area_mu_max=40, top=5)
    plan = Plan(session, req, False, load_reference(session, data_version(session)), TODAY, 365)
    _ranked_rows, _passed, first = _rank(
        session, plan, req.top, prune=True, near=whynot.near_scan(plan)
    )
    assert first is not None
    step = whynot.REL_STEPS[0]
    alone = [dict(r) for r in whynot._near_miss_rows(session, plan, step)]
    assert len(alone) == keep  # the first pass alone gives the answer
    assert [dict(r) for r in whynot._near_miss_rows(session, plan, step, first)] == alone


def test_a_pruned_match_reads_the_near_miss_window_once(session: Session) -> None:
    """With pruning, the first near-miss pass reads only the candidates the ranking's scan
    found (by id), not the area window again."""
    req = Requirement(industry="14", area_mu_min=5, area_mu_max=40, top=5)
    seen: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", spy)
    try:
        out = run_match(session, req, PROMOTER, store=False, today=TODAY, prune=True)
    finally:
        event.remove(bind, "before_cursor_execute", spy)
    assert out["features"] and out["why_not"]["near_misses"]
    passes = [s for s in seen if "ORDER BY rel, code" in s]
    assert passes and "f.parcel_id = ANY(" in passes[0]
    assert any("AS near_ids" in s for s in seen)


def test_ties_across_the_cut(session: Session) -> None:
    """Only the zone fit weighs: parcels of a zone score alike, so the N-th place is shared
    by many; both paths cut by (total to 6 places, code) and agree row for row."""
    req = Requirement(
        industry="36",
        include_coming=True,
        weights={c: (1.0 if c == "zone_fit" else 0.0) for c in CRITERIA},
        top=15,
    )
    plan = Plan(session, req, False, load_reference(session, data_version(session)), TODAY, 365)
    pruned, n_pruned = _ranked(session, plan, req.top, prune=True)
    plain, n_plain = _ranked(session, plan, req.top, prune=False)
    totals = [round(float(r["total"]), 6) for r in plain]
    assert len(set(totals)) < len(totals)  # the request does make ties
    assert [r["code"] for r in pruned] == [r["code"] for r in plain]
    assert n_pruned == n_plain == _passing(session, req, False)


def test_pruning_scores_few_rows(session: Session) -> None:
    """Pruning is real: on a broad request most passing parcels are never scored (counted from
    the pruned query's own survivors)."""
    req = Requirement(industry="14", include_coming=True, top=5)
    plan = Plan(session, req, False, load_reference(session, data_version(session)), TODAY, 365)
    sql = plan.select_top(req.top, "")
    survivors = session.execute(text(f"SELECT count(*) FROM ({sql}) x"), plan.ps.values)
    n = survivors.scalar_one()
    passing = _passing(session, req, False)
    assert passing > 200 and n < passing / 4, (n, passing)


def test_auto_mode_prunes_large_scopes_only(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    real = engine._rank

    def spy(
        session: Session, plan: Plan, top: int, *, prune: bool = True, near: NearScan | None = None
    ) -> tuple[list[dict[str, Any]], int, list[int] | None]:
        seen.append(prune)
        return real(session, plan, top, prune=prune, near=near)

    monkeypatch.setattr(engine, "_rank", spy)
    req = Requirement(industry="36", top=5)
    run_match(session, req, PROMOTER, store=False, today=TODAY)
    monkeypatch.setattr(engine, "PRUNE_MIN_SCOPE", 10)
    run_match(session, req, PROMOTER, store=False, today=TODAY)
    assert seen == [False, True]


def test_a_match_plans_its_statements_for_their_values(session: Session) -> None:
    """psycopg prepares a statement run five times on a connection, and PostgreSQL may then
    settle on one generic plan for every later run, costed without the bound values (at 1M
    province-wide it expected 171 rows of 82,690 and scanned serially, 1.5× slower). A match
    plans each of its statements for the values at hand: after a dozen runs on one
    connection the ranking's prepared statement has been planned only that way."""
    req = Requirement(industry="14", area_mu_min=5, area_mu_max=60, top=5)
    for _ in range(12):
        run_match(session, req, PUBLIC, store=False, today=TODAY, prune=True)
    plans = session.execute(
        text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH c AS MATERIALIZED%'"
        )
    ).all()
    assert plans, "the ranking was not prepared: psycopg's prepare threshold changed?"
    assert [(g, c >= 6) for g, c in plans] == [(0, True)] * len(plans)
