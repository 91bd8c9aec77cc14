"""The SQL of one match (``Plan``): the scope, the hard rules and the scores rendered once, with
their bound parameters, for the candidate query (``landmatch.match.engine``), the why-not counts
and near misses (``landmatch.match.whynot``) and the assemblies, so that all apply exactly the
same rules. It imports neither of its readers.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from landmatch.db import holds
from landmatch.errors import InvalidInput
from landmatch.match.requirements import Requirement
from landmatch.match.rules import AMU, MATCH_FROM, PRICE, Params, render_rules, scope_sql
from landmatch.match.scores import (
    Reference,
    conditional_sql,
    context_exprs,
    contexts,
    score_bounds,
    score_sql,
    total_sql,
)

# Pruning (``Plan.select_top``): the threshold is the N-th best exact total among the
# PRUNE_FETCH·N + 20 rows of highest bound; rows bounded below it (less this margin, far above
# float error and the 6-place rounding of the rank key) cannot reach the top N.
PRUNE_FETCH = 4
PRUNE_MARGIN = 1e-4


# Statements memoised by ``statement``: a match's SQL depends on the request's shape (the
# values are bound parameters), so requests of one shape share it.
STATEMENT_CACHE = 256


@functools.lru_cache(maxsize=STATEMENT_CACHE)
def statement(sql: str) -> TextClause:
    """``text(sql)``, memoised on the SQL text. Parsing a match's statements for their bound
    parameters (up to ~40 KB and 300 parameters each) was about a tenth of the Python CPU of a
    match; a ``TextClause`` is immutable and reused as is. Nothing in it depends on the data."""
    return text(sql)


@dataclass(frozen=True, slots=True)
class NearScan:
    """A near-miss pass folded into the pruned ranking's scan (``Plan.select_top``), built by
    ``landmatch.match.whynot.near_scan``: the scan's rows are those of ``where``; a row passing
    ``ok`` (the rules ``where`` leaves out) is ranked, a row with ``rel`` not NULL is a
    candidate of the pass (``rel`` its relative change); the ids of the ``keep`` candidates of
    smallest ``rel``, ties included, come back with the ranking as ``near_ids``."""

    where: str
    ok: str
    rel: str
    keep: int


def _zone_ids(ref: Reference, req: Requirement) -> list[int] | None:
    loc = req.location
    if not loc.zones and not loc.zone_levels:
        return None
    ids = set(ref.zones)
    if loc.zones:
        unknown = [c for c in loc.zones if c not in ref.zone_by_code]
        if unknown:
            raise InvalidInput(
                f"未知开发区编码：{', '.join(unknown)}",
                detail=[{"field": "location.zones", "reason": "未知开发区"}],
            )
        ids &= {ref.zone_by_code[c] for c in loc.zones}
    if loc.zone_levels:
        ids &= {z.id for z in ref.zones.values() if z.level in loc.zone_levels}
    return sorted(ids)


def _reserved_ids(session: Session, project_id: int | None, today: dt.date) -> list[int]:
    return [
        r[0]
        for r in session.execute(
            text(
                f"SELECT r.parcel_id FROM landmatch.reservation r WHERE {holds.IN_FORCE} "
                "AND r.project_id IS DISTINCT FROM :p"
            ),
            {**holds.day(today), "p": project_id},
        )
    ]


class Plan:
    """The SQL of one match, rendered once and shared by the candidate, why-not and assembly
    queries so that all three apply exactly the same rules."""

    def __init__(
        self,
        session: Session,
        req: Requirement,
        public: bool,
        ref: Reference,
        today: dt.date,
        stale_after_days: int,
    ) -> None:
        self.req = req
        self.public = public
        self._bound: str | None = None  # the total's upper bound (``select_top``)
        self.ps = Params()
        self.ps.values["reserved_ids"] = _reserved_ids(session, req.project_id, today)
        self.zone_ids = _zone_ids(ref, req)
        self.scope = scope_sql(req, self.ps, public, self.zone_ids)
        self.rules = render_rules(req, self.ps, public)
        ctxs = contexts(ref, req, today, public)
        self.ref, self.ctxs = ref, ctxs
        cx = context_exprs(ctxs, self.ps)
        for name, term in conditional_sql(ref, req, today, public, self.ps).items():
            cx[name] = f"({cx[name]} + {term})"
        self.scores = score_sql(req, self.ps, public, today, stale_after_days, cx)
        self.weights = req.effective_weights
        # The total over the inner query's score columns (see ``select``).
        self.total = total_sql({c: f"s.s_{c}" for c in self.scores}, self.weights, self.ps)
        self.price = PRICE

    def select(self, rules: list[str] | None = None, extra: str = "", order: str = "") -> str:
        """Rows passing ``rules`` (all when None) with their scores and total. ``extra`` is
        added to the WHERE clause, ``order`` (ORDER BY / LIMIT over the output columns) after.

        The scores are computed once per row in an inner query that the planner keeps apart
        (``OFFSET 0``); the total is summed from them outside, where the top-N sort runs.
        """
        chosen = [r for r in self.rules if rules is None or r.name in rules]
        where = " AND ".join([self.scope] + [r.sql for r in chosen])
        cols = ", ".join(f"{sql} AS s_{c}" for c, sql in self.scores.items())
        return (
            f"SELECT s.*, {self.total} AS total FROM (SELECT p.id, p.code, p.city_code, p.status, "
            f"{AMU} AS amu, {self.price} AS price, {cols} "
            f"{MATCH_FROM.format(sample='')} WHERE {where} {extra} OFFSET 0) s {order}"
        )

    def select_top(self, top: int, order: str, near: NearScan | None = None) -> str:
        """``select()`` for the ranking, pruned: one index scan computes each passing row's
        bound (``score_bounds``) — not its scores — into ``c``; the exact totals of the
        ``PRUNE_FETCH``·N + 20 rows of highest bound give a threshold (the N-th best of them,
        a lower bound of the true N-th total); only rows whose bound reaches it are scored.
        A row pruned has total <= bound < threshold - margin <= the N-th total - margin, so
        it can neither enter the top N nor tie the N-th at the rank key's 6 places. Each
        output row also carries ``passed``: how many rows pass every rule (exact), and with
        ``near`` the near-miss candidates the same scan found (``near_ids``)."""
        where = " AND ".join([self.scope] + [r.sql for r in self.rules])
        cols = ", ".join(f"{sql} AS s_{c}" for c, sql in self.scores.items())
        if self._bound is None:
            # An upper bound of the total, cheap per row: the costliest scores bounded
            # (``score_bounds``), the others exact — term by term the same float arithmetic,
            # so bound >= total holds in floating point too.
            bounds = score_bounds(self.ref, self.req, self.ctxs, self.price, self.ps)
            self._bound = total_sql(self.scores | bounds, self.weights, self.ps)

        def scored(ids: str) -> str:
            return (
                f"SELECT s.*, {self.total} AS total FROM (SELECT p.id, p.code, p.city_code, "
                f"p.status, {AMU} AS amu, {self.price} AS price, {cols} "
                f"{MATCH_FROM.format(sample='')} WHERE f.parcel_id = ANY(ARRAY({ids})) "
                "OFFSET 0) s"
            )

        ranked = "c"
        if near is None:
            c = f"SELECT p.id, {self._bound} AS ub {MATCH_FROM.format(sample='')} WHERE {where}"
            near_ids = ""
        else:  # the scan also finds the near-miss pass's candidates (``NearScan``)
            c = (
                f"SELECT p.id, CASE WHEN {near.ok} THEN {self._bound} END AS ub, "
                f"{near.rel} AS rel {MATCH_FROM.format(sample='')} WHERE {near.where}"
            )
            ranked = "(SELECT id, ub FROM c WHERE ub IS NOT NULL) c"
            last = (
                f"(SELECT rel FROM c WHERE rel IS NOT NULL ORDER BY rel "
                f"OFFSET {near.keep - 1} LIMIT 1)"
            )
            near_ids = (
                ", (SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM c "
                f"WHERE rel <= COALESCE({last}, 'Infinity'::float8)) AS near_ids"
            )
        best = f"SELECT id FROM {ranked} ORDER BY ub DESC, id LIMIT {PRUNE_FETCH * top + 20}"
        threshold = (
            f"(SELECT t.total FROM ({scored(best)}) t ORDER BY t.total DESC "
            f"OFFSET {top - 1} LIMIT 1)"
        )
        keep = (
            f"SELECT id FROM {ranked} WHERE "
            f"ub >= COALESCE({threshold}, '-Infinity'::float8) - {PRUNE_MARGIN!r}"
        )
        return (
            f"WITH c AS MATERIALIZED ({c}) "
            f"SELECT r.*, (SELECT count(*) FROM {ranked}) AS passed{near_ids} "
            f"FROM ({scored(keep)}) r {order}"
        )
