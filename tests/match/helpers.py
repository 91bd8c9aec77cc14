"""Evaluate the engine's rendered rules for one parcel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.db.tables import FACT_BBOX, MATCH_F8
from landmatch.match.plan import Plan
from landmatch.match.reference import data_version, load_reference
from landmatch.match.requirements import Requirement

TODAY = dt.date(2026, 11, 26)


def verdicts(
    session: Session, req: Requirement | dict[str, Any], pid: int, public: bool = False
) -> dict[str, Any]:
    """Each applicable rule's pass/fail for parcel ``pid``, the scope test, and whether the
    candidate query returns the parcel."""
    if isinstance(req, dict):
        req = Requirement.model_validate(req)
    ref = load_reference(session, data_version(session))
    plan = Plan(session, req, public, ref, TODAY, 365)
    cols = ", ".join(f"({r.sql}) AS {r.name}" for r in plan.rules)
    row = (
        session.execute(
            text(
                f"SELECT ({plan.scope}) AS scope, {cols} FROM (SELECT q.*, "
                # The zone a match uses: the parcel's own, else the one containing it.
                "COALESCE(q.zone_id, g.zone_id) AS zone_key, "
                # The parcel's bounding box, as the match reads it (its index array).
                + ", ".join(
                    f"g.match_f8[{i}] AS {c}" for i, c in enumerate(MATCH_F8, 1) if c in FACT_BBOX
                )
                + " FROM landmatch.parcel q "
                "LEFT JOIN landmatch.parcel_fact g ON g.parcel_id = q.id) p "
                "LEFT JOIN landmatch.parcel_fact f ON f.parcel_id = p.id "
                "WHERE p.id = :target"
            ),
            {**plan.ps.values, "target": pid},
        )
        .mappings()
        .one()
    )
    out = dict(row)
    out["candidate"] = (
        session.execute(
            text(plan.select(extra="AND p.id = :target")), {**plan.ps.values, "target": pid}
        ).first()
        is not None
    )
    return out
