"""Why not: what removed the parcels a match considered, and the near misses.

One pass over the considered parcels (status, visibility and location scope) computes, per
rule, how many parcels fail it (a parcel failing two rules counts under both), and the parcels
that fail exactly one relaxable rule, ranked by the smallest relative change to the request
that would admit them ("面积上限 +12 亩", "预算 +3 万元/亩").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.match.rules import RULE_LABELS, Params, Rendered

NEAR_MISSES = 10


def why_not(session: Session, scope: str, rules: list[Rendered], ps: Params, *,
            inventory: dict[tuple[str, bool], int], statuses: list[str], public: bool,
            location_active: bool, joins: str) -> dict[str, Any]:
    """Counts per failed rule and up to 10 near misses."""
    if not rules:
        rules = [Rendered("none", "", "true")]
    fails = ", ".join(f"(NOT ({r.sql}))::int AS f{i}" for i, r in enumerate(rules))
    gaps = ", ".join(f"({r.gap})::float8 AS g{i}" for i, r in enumerate(rules) if r.gap)
    nfail = " + ".join(f"f{i}" for i in range(len(rules)))
    rel_cases = " ".join(
        f"WHEN f{i} = 1 THEN abs(g{i}) / {ps.add(max(abs(r.ref), 1e-9), 'float8')}"
        for i, r in enumerate(rules) if r.gap)
    rel = f"(CASE {rel_cases} END)" if rel_cases else "NULL::float8"
    counts = ", ".join(f"count(*) FILTER (WHERE f{i} = 1)" for i in range(len(rules)))
    gap_cols = ", ".join(f"g{i}" for i, r in enumerate(rules) if r.gap)
    sql = f"""
WITH s AS MATERIALIZED (
  SELECT p.id, p.code, p.supply_modes, p.area_m2, {fails}{', ' + gaps if gaps else ''}
  FROM landmatch.parcel p LEFT JOIN landmatch.parcel_fact f ON f.parcel_id = p.id {joins}
  WHERE {scope}
), n AS (
  SELECT *, {nfail} AS nfail FROM s
)
SELECT json_build_array(count(*), count(*) FILTER (WHERE nfail = 0), {counts}) AS counts,
  (SELECT json_agg(x) FROM (
     SELECT id, code, supply_modes, area_m2, {rel} AS rel,
            {', '.join(f'f{i}' for i in range(len(rules)))}{', ' + gap_cols if gap_cols else ''}
     FROM n WHERE nfail = 1 AND {rel} IS NOT NULL
     ORDER BY {rel}, code LIMIT {NEAR_MISSES}) x) AS near
FROM n
"""
    row = session.execute(text(sql), ps.values).one()
    considered, passed, *per_rule = row.counts
    failed = [
        {"rule": r.name, "label": r.label, "count": int(c)}
        for r, c in zip(rules, per_rule, strict=True) if c and r.name != "none"
    ]
    if public:
        in_status = inventory.get(("ready", True), 0)
        status_out = 0
    else:
        in_status = sum(v for (s, _pub), v in inventory.items() if s in statuses)
        status_out = sum(inventory.values()) - in_status
    location_out = max(0, in_status - considered) if location_active else 0
    scope_counts = []
    if status_out:
        scope_counts.append({"rule": "status", "label": RULE_LABELS["status"],
                             "count": status_out,
                             "statuses": [vocab.label(vocab.PARCEL_STATUS, s) for s in statuses]})
    if location_out:
        scope_counts.append({"rule": "location", "label": RULE_LABELS["location"],
                             "count": location_out})
    near = []
    for x in row.near or []:
        i = next(i for i in range(len(rules)) if x[f"f{i}"] == 1)
        r = rules[i]
        gap = float(x[f"g{i}"])
        near.append({
            "code": x["code"],
            "rule": r.name,
            "label": r.label,
            "gap": round(gap, 3),
            "change": r.change(gap, x) if r.change else r.label,
            "area_mu": round(x["area_m2"] / (10000 / 15), 2),
        })
    return {
        "considered": int(considered),
        "passed": int(passed),
        "failed": sorted(scope_counts + failed, key=lambda d: (-d["count"], d["rule"])),
        "near_misses": near,
    }
