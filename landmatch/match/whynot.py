"""Why not: what removed the parcels a match considered, and the near misses.

Counts: per rule, how many considered parcels (status, visibility and location scope) fail
it; a parcel failing two rules counts under both. When the scope holds more than
``EXACT_LIMIT`` parcels, the counts come from a repeatable page sample of the parcel table
(``TABLESAMPLE SYSTEM … REPEATABLE``), scaled up and marked ``estimated`` — exact counting
would read the whole inventory on every request.

Near misses are always exact: one indexed pass over the scope — bounded by the request's area
range widened by a factor 1.5 — keeps the parcels failing exactly one rule, that rule one the
request could relax, ordered by the relative change that would admit them, the change in words
("面积上限提高至 92 亩（放宽 12 亩）", "预算提高至 38 万元/亩（放宽 3 万元/亩）": rules.moved).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.match.plan import NearScan, Plan, statement
from landmatch.match.rules import AMU, M2_PER_MU, MATCH_FROM, RULE_LABELS

NEAR_MISSES = 10
EXACT_LIMIT = 10_000
SAMPLE_ROWS = 5_000  # rows of the whole table a sample aims at
SAMPLE_SEED = 7
REL_STEPS = (0.01, 0.1)  # near misses looked for first within these changes (1 %, then 10 %)
FROM = MATCH_FROM


def _counts(session: Session, plan: Plan, sample_pct: float | None) -> tuple[int, int, list[int]]:
    rules = plan.rules
    fails = [f"count(*) FILTER (WHERE NOT ({r.sql}))" for r in rules]
    passed = " AND ".join(r.sql for r in rules) or "true"
    sample = (
        f"TABLESAMPLE SYSTEM ({sample_pct:.6f}) REPEATABLE ({SAMPLE_SEED})"
        if sample_pct is not None
        else ""
    )
    row = session.execute(
        statement(
            f"SELECT count(*), count(*) FILTER (WHERE {passed}){''.join(', ' + f for f in fails)} "
            f"{FROM.format(sample=sample)} WHERE {plan.scope}"
        ),
        plan.ps.values,
    ).one()
    return int(row[0]), int(row[1]), [int(x) for x in row[2:]]


def _near_misses(
    session: Session, plan: Plan, first: list[int] | None = None
) -> list[dict[str, Any]]:
    """One indexed pass over the scope (bounded by the area window when the request has an
    area range): the parcels failing exactly one rule, that rule relaxable, by relative change.

    The passes look at changes up to 1 %, then 10 % (``REL_STEPS``; the area window narrowed to
    match, so fewer index entries are read and fewer rows are worked on); the first pass that
    finds ``NEAR_MISSES`` gives exactly the first ones, as every other near miss needs a larger
    change. Otherwise the full window is read.

    ``first``: the first pass's candidates found by the ranking's own scan (``near_scan``), so
    that pass reads only those rows instead of the window again.
    """
    rules = plan.rules
    relax = [(i, r) for i, r in enumerate(rules) if r.gap is not None]
    if not relax:
        return []
    rows: list[Any] = []
    for step in (*REL_STEPS, None):
        if step == REL_STEPS[0] and first is not None:
            rows = _near_miss_rows(session, plan, step, first) if first else []
        else:
            rows = _near_miss_rows(session, plan, step)
        if len(rows) >= NEAR_MISSES:
            break
    out = []
    for x in rows:
        i = next(i for i, _r in relax if x[f"f{i}"] == 1)
        r = rules[i]
        gap = float(x[f"g{i}"])
        out.append(
            {
                "code": x["code"],
                "rule": r.name,
                "label": r.label,
                "gap": round(gap, 3),
                "change": r.change(gap, dict(x)) if r.change else r.label,
                "relax": r.relax(gap, dict(x)) if r.relax else None,
                "area_mu": round(x["amu"], 2),
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class _NearParts:
    where: list[str]  # scope, windows, the rules that cannot be relaxed
    prefilter: str  # the row fails some relaxable rule (within the step's change)
    refs: dict[int, str]  # relaxable rule index → its reference figure (parameter)
    cut: str | None  # the step's largest relative change (parameter), None: no limit


def _near_parts(plan: Plan, max_rel: float | None) -> _NearParts:
    rules = plan.rules
    relax = [(i, r) for i, r in enumerate(rules) if r.gap is not None]
    refs = {i: plan.ps.add(max(abs(r.ref), 1e-9), "float8") for i, r in relax}
    window = [r.window for r in rules if r.window]
    cut = None
    # Cheap test first: the row fails some relaxable rule (within max_rel of it). Most rows in
    # scope pass them all, and are dropped before their flags and gaps are computed.
    if max_rel is None:
        some = [f"NOT ({r.sql})" for _i, r in relax]
    else:
        some = [
            f"(NOT ({r.sql}) AND abs({r.gap}) <= {plan.ps.add(max_rel * max(abs(r.ref), 1e-9), 'float8')})"
            for _i, r in relax
        ]
    prefilter = "(" + " OR ".join(some) + ")"
    if max_rel is not None:
        cut = plan.ps.add(max_rel, "float8")
        area = next((r for r in rules if r.name == "area"), None)
        if area is not None:  # |gap| / ref <= max_rel bounds the area itself
            lo = (plan.req.area_mu_min or 0.0) - max_rel * area.ref
            window.append(f"p.area_m2 >= {plan.ps.add(lo * M2_PER_MU, 'float8')}")
            if plan.req.area_mu_max is not None:
                hi = plan.req.area_mu_max + max_rel * area.ref
                window.append(f"p.area_m2 <= {plan.ps.add(hi * M2_PER_MU, 'float8')}")
    # A near miss fails one relaxable rule, so every other rule passes: the rules that cannot
    # be relaxed (land use among them) bound the scan on the index as well.
    fixed = [r.sql for r in rules if r.gap is None]
    return _NearParts([plan.scope, *window, *fixed], prefilter, refs, cut)


def near_scan(plan: Plan) -> NearScan | None:
    """The first near-miss pass (changes up to ``REL_STEPS[0]``) folded into the pruned
    ranking's scan (``Plan.select_top``): its rows are the ranking's plus the candidates of
    that pass, and the pass's rows are later read by id (``_near_misses(first=…)``) with the
    very expressions of the standalone pass — the same near misses, one scan fewer. None when
    no rule can be relaxed (there is no near miss)."""
    rules = plan.rules
    relax = [(i, r) for i, r in enumerate(rules) if r.gap is not None]
    if not relax:
        return None
    parts = _near_parts(plan, REL_STEPS[0])
    ok = " AND ".join(r.sql for _i, r in relax)
    nfail = " + ".join(f"(NOT ({r.sql}))::int" for r in rules)
    rel = (
        "CASE "
        + " ".join(
            f"WHEN (NOT ({r.sql}))::int = 1 THEN abs(({r.gap})::float8) / {parts.refs[i]}"
            for i, r in relax
        )
        + " END"
    )
    return NearScan(
        where=" AND ".join([*parts.where, f"(({ok}) OR {parts.prefilter})"]),
        ok=ok,
        rel=f"CASE WHEN {parts.prefilter} AND ({nfail}) = 1 AND ({rel}) <= {parts.cut} "
        f"THEN ({rel}) END",
        keep=NEAR_MISSES,
    )


def _near_miss_rows(
    session: Session, plan: Plan, max_rel: float | None, ids: list[int] | None = None
) -> list[Any]:
    rules = plan.rules
    relax = [(i, r) for i, r in enumerate(rules) if r.gap is not None]
    parts = _near_parts(plan, max_rel)
    fails = ", ".join(f"(NOT ({r.sql}))::int AS f{i}" for i, r in enumerate(rules))
    gaps = ", ".join(f"({r.gap})::float8 AS g{i}" for i, r in relax)
    rel = (
        "CASE "
        + " ".join(f"WHEN f{i} = 1 THEN abs(g{i}) / {parts.refs[i]}" for i, _r in relax)
        + " END"
    )
    nfail = " + ".join(f"f{i}" for i in range(len(rules)))
    cut = "" if parts.cut is None else f" AND rel <= {parts.cut}"
    where = [*parts.where, parts.prefilter]
    if ids is not None:
        where.append(f"f.parcel_id = ANY({plan.ps.add(ids, 'bigint[]')})")
    return list(
        session.execute(
            statement(
                f"SELECT * FROM (SELECT s.*, {rel} AS rel FROM (SELECT p.code, p.supply_modes, "
                f"{AMU} AS amu, {fails}, {gaps} {FROM.format(sample='')} "
                f"WHERE {' AND '.join(where)} OFFSET 0) s "
                f"WHERE {nfail} = 1) n WHERE rel IS NOT NULL{cut} ORDER BY rel, code "
                f"LIMIT {NEAR_MISSES}"
            ),
            plan.ps.values,
        ).mappings()
    )


def why_not(
    session: Session,
    plan: Plan,
    *,
    inventory: dict[tuple[str, bool], int],
    statuses: list[str],
    public: bool,
    location_active: bool,
    passed: int | None = None,
    near_first: list[int] | None = None,
) -> dict[str, Any]:
    """Counts per failed rule (exact or sampled) and up to 10 exact near misses. ``passed``
    is the ranking's own exact count of the parcels passing every rule (reported as such
    even where the rule counts are sampled); without it, it is counted here too."""
    total_live = sum(inventory.values())
    if public:
        in_status = inventory.get(("ready", True), 0)
        status_out = 0
    else:
        in_status = sum(v for (s, _pub), v in inventory.items() if s in statuses)
        status_out = total_live - in_status
    sample_pct = None
    if in_status > EXACT_LIMIT and total_live:
        sample_pct = min(100.0, 100.0 * SAMPLE_ROWS / total_live)
    considered, sample_passed, per_rule = _counts(session, plan, sample_pct)
    scale = 1.0 if sample_pct is None else 100.0 / sample_pct
    if sample_pct is not None and not location_active:
        # Without a location filter the scope is the status set, whose size is known exactly.
        scale = in_status / considered if considered else scale
    considered_est = (
        in_status if (sample_pct is not None and not location_active) else round(considered * scale)
    )
    scaled_passed = round(sample_passed * scale)
    failed = [
        {"rule": r.name, "label": r.label, "count": round(c * scale)}
        for r, c in zip(plan.rules, per_rule, strict=True)
        if c
    ]
    location_out = max(0, in_status - considered_est) if location_active else 0
    if status_out:
        failed.append(
            {
                "rule": "status",
                "label": RULE_LABELS["status"],
                "count": status_out,
                "statuses": [vocab.label(vocab.PARCEL_STATUS, s) for s in statuses],
            }
        )
    if location_out:
        failed.append({"rule": "location", "label": RULE_LABELS["location"], "count": location_out})
    return {
        "considered": considered_est,
        "passed": scaled_passed if passed is None else passed,
        "estimated": sample_pct is not None,
        "sample": None
        if sample_pct is None
        else {"rows": considered, "pages_percent": round(sample_pct, 3)},
        "failed": sorted(failed, key=lambda d: (-d["count"], d["rule"])),
        "near_misses": _near_misses(session, plan, near_first),
    }
