"""What a match memoises to spend less Python per request (issue #20 item 2): the policy
entries of a match's explanations (``Explainer.policy_entry``: estimated once per match for the
policies whose value does not depend on the site) and its statements (``plan.statement``). The
responses are the ones computed without either, for many random requests (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import auth
from landmatch.auth import Principal
from landmatch.match import engine, plan
from landmatch.match.engine import run_match
from landmatch.match.policy_values import estimate
from landmatch.match.requirements import Requirement
from tests.match.helpers import TODAY
from tests.match.test_pruning import VOLATILE, requirements

PROMOTER = Principal(name="t", role="promoter")


def _stable(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k not in VOLATILE}


def _estimated_every_time(
    self: engine.Explainer, p: Any, price: float | None, area_mu: float
) -> dict[str, Any]:
    """The entry as the explanation built it before the memo: estimated for every site."""
    return engine.policy_listing(p, estimate(p, self.req, price, area_mu))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(requirements(), st.booleans(), st.booleans())
def test_memoised_explanations_are_the_computed_ones(
    session: Session, req: Requirement, public: bool, price_policies: bool
) -> None:
    who = auth.PUBLIC if public else PROMOTER
    if price_policies:  # every policy valued: land-price discounts (per site) and the rest
        req = req.model_copy(
            update={
                "investment_wan": 50_000.0,
                "rd_increase_wan": 800.0,
                "equipment_investment_wan": 5e3,
            }
        )
    memoised = run_match(session, req, who, store=False, today=TODAY)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine.Explainer, "policy_entry", _estimated_every_time)
        plan.statement.cache_clear()
        computed = run_match(session, req, who, store=False, today=TODAY)
    assert _stable(memoised) == _stable(computed)
    assert engine.encode(_stable(memoised)) == engine.encode(_stable(computed))


def test_sites_do_not_share_policy_entries(session: Session) -> None:
    """Each site's explanation has its own policy entries: changing one leaves the others."""
    req = Requirement.model_validate({"industry": "36", "top": 20})
    res = run_match(session, req, PROMOTER, store=False, today=TODAY)
    lists = [f["properties"]["policies"] for f in res["features"]]
    lists = [pols for pols in lists if pols]
    assert len(lists) >= 2
    first, second = lists[0][0], lists[1][0]
    assert first is not second
    before = dict(second)
    first["title"] = "changed"
    assert second == before


def test_statements_are_memoised_on_their_text(session: Session) -> None:
    sql = "SELECT CAST(:a AS int) + CAST(:b AS int) AS s"
    one, two = plan.statement(sql), plan.statement(str(sql + " "))
    assert plan.statement(sql) is one
    assert two is not one
    assert session.execute(one, {"a": 1, "b": 2}).scalar_one() == 3
    assert session.execute(one, {"a": 4, "b": 5}).scalar_one() == 9
    assert session.execute(text(sql), {"a": 4, "b": 5}).scalar_one() == 9
