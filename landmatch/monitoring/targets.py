"""Annual disposal targets per city (area) and progress against them.

Progress counts the area of disposal cases closed in the target year, on or before the
deadline, by a disposing decision: for 批而未供 supply, withdrawal and adjustment all count
(自然资办发〔2019〕3号 lets withdrawn/adjusted approvals count as disposed); for idle land every
decision except the fee alone (the land stays idle until work starts). The plan's deadline is
30 September of the year.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.engine import audited
from landmatch.db.locking import check_version, etag, require_if_match
from landmatch.errors import Forbidden, InvalidInput
from landmatch.geo.measure import M2_PER_MU
from landmatch.monitoring.scope import city_scope
from landmatch.monitoring.terms import CASE_KINDS, NOT_DISPOSING_DECISIONS


def default_deadline(year: int) -> dt.date:
    return dt.date(year, 9, 30)


def target_key(city_code: str, year: int, kind: str) -> str:
    """The key of a target's ETag (one target: a city's year and kind)."""
    return f"{city_code}-{year}-{kind}"


def _check_target(city_code: str, kind: str) -> None:
    if city_code not in vocab.CITIES:
        raise InvalidInput(vocab.unknown_city(city_code), detail={"field": "city_code"})
    if kind not in CASE_KINDS:
        raise InvalidInput(f"目标类型应为 {', '.join(CASE_KINDS)}", detail={"field": "kind"})


def get_target(
    session: Session, principal: Principal, city_code: str, year: int, kind: str
) -> dict[str, Any]:
    """One target as set (not its progress), with its version: 0 while it is not set (its
    values are then None), the version a first setting names."""
    _check_target(city_code, kind)
    city_scope(principal, city_code)
    row = (
        session.execute(
            text(
                "SELECT target_area_m2, deadline, source, version, updated_at "
                "FROM landmatch.disposal_target WHERE city_code = :c AND year = :y AND kind = :k"
            ),
            {"c": city_code, "y": year, "k": kind},
        )
        .mappings()
        .first()
    )
    return {
        "city_code": city_code,
        "city_name": vocab.CITIES[city_code],
        "year": year,
        "kind": kind,
        "kind_label": CASE_KINDS[kind],
        "target_area_m2": row["target_area_m2"] if row else None,
        "deadline": row["deadline"].isoformat() if row else None,
        "default_deadline": default_deadline(year).isoformat(),
        "source": row["source"] if row else None,
        "version": row["version"] if row else 0,
        "updated_at": row["updated_at"] if row else None,
    }


def set_target(
    session: Session,
    principal: Principal,
    *,
    city_code: str,
    year: int,
    kind: str,
    target_area_m2: float,
    deadline: dt.date | None = None,
    source: str | None = None,
    if_match: str | None,
) -> int:
    """Set one target against the version ``if_match`` names (``landmatch.db.locking``: 428
    without it, 412 when someone changed the target since; a target not yet set is version 0;
    ``ANY`` for the CLI), checked under the row's lock. Returns the new version."""
    principal.require("admin", "bureau")
    _check_target(city_code, kind)
    if not principal.can_edit_city(city_code):
        raise Forbidden(f"无权设定 {vocab.CITIES[city_code]} 的处置目标")
    if target_area_m2 < 0:
        raise InvalidInput("目标面积不能为负数", detail={"field": "target_area_m2"})
    deadline = deadline or default_deadline(year)
    if deadline.year != year:
        raise InvalidInput("截止日期应在目标年度内", detail={"field": "deadline"})
    key = target_key(city_code, year, kind)
    params = {"c": city_code, "y": year, "k": kind, "a": target_area_m2, "d": deadline, "s": source}
    require_if_match(if_match, "设定处置目标")
    with audited(session, principal.actor, f"处置目标 {city_code} {year} {kind}"):
        while True:
            current = session.execute(
                text(
                    "SELECT version FROM landmatch.disposal_target "
                    "WHERE city_code = :c AND year = :y AND kind = :k FOR UPDATE"
                ),
                {"c": city_code, "y": year, "k": kind},
            ).scalar()
            check_version(if_match, key, current or 0, what="处置目标")
            if current is not None:
                return int(
                    session.execute(
                        text(
                            "UPDATE landmatch.disposal_target SET target_area_m2 = :a, "
                            "deadline = :d, source = :s, version = version + 1, "
                            "updated_at = now() "
                            "WHERE city_code = :c AND year = :y AND kind = :k RETURNING version"
                        ),
                        params,
                    ).scalar_one()
                )
            # Not set yet: of two first settings, the second finds the first's row (the
            # unique key waits for it to commit) and is checked against it.
            created = session.execute(
                text(
                    "INSERT INTO landmatch.disposal_target (city_code, year, kind, "
                    "target_area_m2, deadline, source) VALUES (:c, :y, :k, :a, :d, :s) "
                    "ON CONFLICT (city_code, year, kind) DO NOTHING RETURNING version"
                ),
                params,
            ).scalar()
            if created is not None:
                return int(created)


def progress(
    session: Session,
    principal: Principal,
    as_of: dt.date,
    year: int | None = None,
    city: str | None = None,
) -> dict[str, Any]:
    city = city_scope(principal, city)
    year = year or as_of.year
    rows = (
        session.execute(
            text(
                "SELECT t.city_code, t.year, t.kind, t.target_area_m2, t.deadline, t.source, "
                "t.version, "
                "COALESCE(sum(c.area_m2), 0) AS done_m2, count(c.id) AS cases "
                "FROM landmatch.disposal_target t "
                "LEFT JOIN landmatch.disposal_case c ON c.city_code = t.city_code AND c.kind = t.kind "
                " AND c.status = 'closed' AND NOT (c.decision = ANY(:nd)) "
                " AND c.closed_on >= make_date(t.year, 1, 1) AND c.closed_on <= LEAST(t.deadline, :as_of) "
                "WHERE t.year = :y AND (CAST(:city AS text) IS NULL OR t.city_code = CAST(:city AS text)) "
                "GROUP BY t.id ORDER BY t.city_code, t.kind"
            ),
            {"y": year, "as_of": as_of, "city": city, "nd": list(NOT_DISPOSING_DECISIONS)},
        )
        .mappings()
        .all()
    )
    out = []
    for r in rows:
        start = dt.date(r["year"], 1, 1)
        span = max((r["deadline"] - start).days, 1)
        elapsed = min(max((as_of - start).days, 0) / span, 1.0)
        ratio = r["done_m2"] / r["target_area_m2"] if r["target_area_m2"] else 1.0
        if ratio >= 1:
            state = "done"
        elif as_of > r["deadline"]:
            state = "missed"
        elif ratio < elapsed:
            state = "behind"
        else:
            state = "on_track"
        out.append(
            {
                "city_code": r["city_code"],
                "city_name": vocab.CITIES.get(r["city_code"]),
                "year": r["year"],
                "kind": r["kind"],
                "kind_label": CASE_KINDS[r["kind"]],
                "target_area_m2": r["target_area_m2"],
                "done_area_m2": r["done_m2"],
                "target_mu": round(r["target_area_m2"] / M2_PER_MU, 2),
                "done_mu": round(r["done_m2"] / M2_PER_MU, 2),
                "cases": r["cases"],
                "progress": round(ratio, 4),
                "time_elapsed": round(elapsed, 4),
                "deadline": r["deadline"].isoformat(),
                "days_left": (r["deadline"] - as_of).days,
                "state": state,
                "source": r["source"],
                "version": r["version"],
                "etag": etag(target_key(r["city_code"], r["year"], r["kind"]), r["version"]),
            }
        )
    return {"as_of": as_of.isoformat(), "year": year, "targets": out}
