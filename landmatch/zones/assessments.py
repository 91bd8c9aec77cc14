"""Regional assessments (区域评估) of a zone. One definition of "counts as done on a date":
approved by then and not expired — :func:`landmatch.dates.in_force` (``approved_on``,
``valid_until``) in Python, whose SQL twin is ``landmatch.valid_assessments(zone, as_of)``
(tied to it in ``tests/zones/test_assessments.py``). Every SQL reader goes through that
function (:func:`valid_assessments`, :func:`all_assessments`, the card); the match's reference
data uses the Python rule (``landmatch.match.scores.valid_assessments``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db.engine import audited
from landmatch.db.locking import read_row
from landmatch.errors import NotFound, UnprocessableInput

KINDS: dict[str, str] = {**vocab.ASSESSMENTS, "OTHER": "其他评估"}
PLAN_KINDS = vocab.PLAN_ASSESSMENTS


def valid_assessments(
    db: Session | Connection, zone_id: int, as_of: dt.date | None = None
) -> list[dict[str, Any]]:
    """The zone's assessments that count on ``as_of`` (today by default): approved by then and
    not expired. An expired assessment is not done — for matching, time-to-start and the map."""
    rows = db.execute(
        text(
            "SELECT id, kind, name, approved_on, valid_until, doc_no "
            "FROM landmatch.valid_assessments(:z, :d) ORDER BY kind, approved_on"
        ),
        {"z": zone_id, "d": as_of or beijing_today()},
    ).mappings()
    return [dict(r) for r in rows]


def valid_kinds(db: Session | Connection, zone_id: int, as_of: dt.date | None = None) -> set[str]:
    return {a["kind"] for a in valid_assessments(db, zone_id, as_of)}


def _check(kind: str, name: str | None, approved_on: dt.date, valid_until: dt.date | None) -> str:
    if kind not in KINDS:
        raise UnprocessableInput(
            f"未知区域评估类型 {kind}；可选 {', '.join(KINDS)}",
            detail=[{"field": "kind", "reason": "取值不在允许范围内"}],
        )
    if kind == "OTHER" and not (name or "").strip():
        raise UnprocessableInput(
            "其他类型的区域评估需要填写名称", detail=[{"field": "name", "reason": "缺少必填项"}]
        )
    if valid_until is not None and valid_until < approved_on:
        raise UnprocessableInput(
            "有效期截止日期早于批复日期",
            detail=[{"field": "valid_until", "reason": "早于批复日期"}],
        )
    return name or KINDS[kind]


def _bump_zone(session: Session, zone_id: int) -> None:
    """An assessment is part of its zone: writing one is a new version of the zone (its ETag
    changes, and :func:`landmatch.zones.records.lock_zone` serialises the writers)."""
    session.execute(
        text(
            "UPDATE landmatch.dev_zone SET version = version + 1, updated_at = now() WHERE id = :z"
        ),
        {"z": zone_id},
    )


def add_assessment(
    session: Session,
    principal: Principal,
    zone: dict[str, Any],
    *,
    kind: str,
    approved_on: dt.date,
    valid_until: dt.date | None,
    doc_no: str | None,
    name: str | None = None,
) -> dict[str, Any]:
    principal.require_zone(zone["id"], zone["city_code"])
    label = _check(kind, name, approved_on, valid_until)
    with audited(session, principal.actor, "登记区域评估"):
        aid = session.execute(
            text(
                "INSERT INTO landmatch.zone_assessment (zone_id, kind, name, approved_on, "
                "valid_until, doc_no) VALUES (:z, :k, :n, :a, :v, :d) RETURNING id"
            ),
            {
                "z": zone["id"],
                "k": kind,
                "n": label,
                "a": approved_on,
                "v": valid_until,
                "d": doc_no,
            },
        ).scalar_one()
        _bump_zone(session, zone["id"])
    return {
        "id": aid,
        "kind": kind,
        "name": label,
        "approved_on": approved_on,
        "valid_until": valid_until,
        "doc_no": doc_no,
    }


def update_assessment(
    session: Session,
    principal: Principal,
    zone: dict[str, Any],
    assessment_id: int,
    changes: dict[str, Any],
) -> dict[str, Any]:
    principal.require_zone(zone["id"], zone["city_code"])
    row = read_row(
        session,
        "SELECT id, kind, name, approved_on, valid_until, doc_no FROM landmatch.zone_assessment "
        "WHERE id = :i AND zone_id = :z",
        {"i": assessment_id, "z": zone["id"]},
        f"未找到区域评估 {assessment_id}",
    )
    merged = dict(row) | {k: v for k, v in changes.items() if k in row and k != "id"}
    merged["name"] = _check(
        merged["kind"], merged["name"], merged["approved_on"], merged["valid_until"]
    )
    with audited(session, principal.actor, "修改区域评估"):
        session.execute(
            text(
                "UPDATE landmatch.zone_assessment SET kind = :kind, name = :name, "
                "approved_on = :approved_on, valid_until = :valid_until, doc_no = :doc_no "
                "WHERE id = :id"
            ),
            merged,
        )
        _bump_zone(session, zone["id"])
    return merged


def delete_assessment(
    session: Session, principal: Principal, zone: dict[str, Any], assessment_id: int
) -> None:
    principal.require_zone(zone["id"], zone["city_code"])
    with audited(session, principal.actor, "删除区域评估"):
        # A DML statement's result is a CursorResult (Session.execute is typed as Result).
        n = cast(
            "CursorResult[Any]",
            session.execute(
                text("DELETE FROM landmatch.zone_assessment WHERE id = :i AND zone_id = :z"),
                {"i": assessment_id, "z": zone["id"]},
            ),
        ).rowcount
        _bump_zone(session, zone["id"])
    if not n:
        raise NotFound(f"未找到区域评估 {assessment_id}")


def all_assessments(
    db: Session | Connection, zone_id: int, as_of: dt.date | None = None
) -> list[dict[str, Any]]:
    """Every assessment with a ``valid`` flag on ``as_of`` (staff view)."""
    rows = db.execute(
        text(
            "SELECT a.id, a.kind, a.name, a.approved_on, a.valid_until, a.doc_no, a.id IN "
            "(SELECT v.id FROM landmatch.valid_assessments(:z, :as_of) v) AS valid "
            "FROM landmatch.zone_assessment a WHERE a.zone_id = :z "
            "ORDER BY a.kind, a.approved_on"
        ),
        {"z": zone_id, "as_of": as_of or beijing_today()},
    ).mappings()
    return [dict(r) for r in rows]


def visible_assessments(
    db: Session | Connection,
    principal: Principal,
    zone_id: int,
    as_of: dt.date | None = None,
    *,
    valid_only: bool = False,
) -> list[dict[str, Any]]:
    """The zone's assessments as ``principal`` sees them: the public only those that count
    (:func:`valid_assessments`); staff every one with its ``valid`` flag, or only those that
    count when ``valid_only``."""
    if valid_only or principal.is_public:
        return valid_assessments(db, zone_id, as_of)
    return all_assessments(db, zone_id, as_of)
