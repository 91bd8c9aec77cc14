"""Holds (预留) on parcels as the parcel's keepers see them: which are in force, what each
caller is shown of one, and the statuses that end one.

A promotion team holds a parcel for one of its projects (``landmatch.match.projects.reserve``).
What a caller sees of a hold (:func:`seen`) is one rule for the parcel page, the parcel list
and its 熟地 export, and the warnings of an edit: the holding team and admins see the project;
the bureau of the parcel's city, who keeps the parcel and must know whom to ask, sees the team
and the date; everyone else (another team, another city's bureau, a zone committee) only that
the parcel is held and until when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch.dates import beijing_today
from landmatch.viewer import Viewer

#: A hold in force on ``p`` (a parcel): not released and not past its date (``r`` the hold),
#: on the day bound as ``:hold_day`` (:func:`day`: Beijing's today, as every date rule counts).
IN_FORCE = "r.released_at IS NULL AND (r.until IS NULL OR r.until >= :hold_day)"

#: ``p`` is held (the parcel list's 预留 filter); binds ``:hold_day`` (:func:`day`).
HELD_SQL = f"EXISTS (SELECT 1 FROM landmatch.reservation r WHERE r.parcel_id = p.id AND {IN_FORCE})"

#: The statuses a held parcel cannot keep its hold in (a reservation of one is refused; a
#: parcel set to one of them ends its hold).
ENDS_HOLD = ("supplied", "withdrawn")

COLUMNS = (
    "r.id, r.parcel_id, p.code AS parcel_code, p.city_code, r.project_id, pr.name AS project, "
    "r.reserved_by, r.owner_team, r.until, r.note, r.created_at"
)
FROM = (
    "FROM landmatch.reservation r JOIN landmatch.parcel p ON p.id = r.parcel_id "
    "JOIN landmatch.project pr ON pr.id = r.project_id"
)


#: How much of a hold a caller sees (:func:`shown`).
Shown = Literal["project", "team", "date"]


def day(today: dt.date | None = None) -> dict[str, dt.date]:
    """The parameter :data:`IN_FORCE` and :data:`HELD_SQL` read: the day a hold must last
    to (Beijing's today unless given)."""
    return {"hold_day": today or beijing_today()}


def shown(viewer: Viewer, owner_team: str | None, city_code: str) -> Shown:
    """The one rule of what ``viewer`` is shown of a hold of ``owner_team`` on a parcel of
    ``city_code``: ``"project"`` (the holding team and admins: the team, the project, who
    and why, the date), ``"team"`` (the bureau that keeps the parcel's city: the team and
    the date) or ``"date"`` (anyone else: that the parcel is held, and until when)."""
    if viewer.owns(owner_team):
        return "project"
    if viewer.role == "bureau" and viewer.can_edit_city(city_code):
        return "team"
    return "date"


def seen(row: Any, viewer: Viewer) -> dict[str, Any]:
    """What ``viewer`` is shown of the hold ``row`` (a row of :func:`in_force`'s columns), by
    :func:`shown`: ``until`` (ISO date or None) and ``own`` always; ``team`` for the owner and
    the bureau of the parcel's city; ``project``, ``reserved_by`` and ``note`` for the owner."""
    d = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    until = d["until"].isoformat() if d["until"] is not None else None
    level = shown(viewer, d["owner_team"], d["city_code"])
    out: dict[str, Any] = {"until": until, "own": level == "project"}
    if level != "date":
        out["team"] = d["owner_team"]
    if out["own"]:
        out |= {"project": d["project"], "reserved_by": d["reserved_by"], "note": d["note"]}
        out["created_at"] = d["created_at"].isoformat()
    return out


def hold_text(hold: dict[str, Any] | None) -> str:
    """A hold as a list's cell or an export's says it (:func:`seen`'s shape), "" for none."""
    if hold is None:
        return ""
    parts = []
    if hold.get("team"):
        parts.append(f"招商团队 {hold['team']}")
    if hold.get("project"):
        parts.append(f"项目“{hold['project']}”")
    parts.append(f"至 {hold['until']}" if hold["until"] else "未定截止日期")
    return f"已预留（{'，'.join(parts)}）"


def in_force(
    session: Session | Connection, parcel_ids: Sequence[int], *, lock: bool = False
) -> list[Any]:
    """The holds in force on the parcels ``parcel_ids`` (rows of the columns :func:`seen`
    reads, with ``id``, ``parcel_id``, ``parcel_code``, ``project_id``); ``lock``: the holds
    locked for an update until the transaction ends."""
    if not parcel_ids:
        return []
    return list(
        session.execute(
            text(
                f"SELECT {COLUMNS} {FROM} WHERE r.parcel_id = ANY(:ids) AND {IN_FORCE} "
                f"ORDER BY p.code{' FOR UPDATE OF r' if lock else ''}"
            ),
            {"ids": list(parcel_ids), **day()},
        )
    )


def seen_by_code(session: Session, viewer: Viewer) -> dict[str, dict[str, Any]]:
    """:func:`seen` of every hold in force, by parcel code (holds are few: an export of any
    size reads them once)."""
    rows = session.execute(text(f"SELECT {COLUMNS} {FROM} WHERE {IN_FORCE}"), day())
    return {r.parcel_code: seen(r, viewer) for r in rows}


def seen_by_parcel(
    session: Session, parcel_ids: Sequence[int], viewer: Viewer
) -> dict[int, dict[str, Any]]:
    """:func:`seen` of the hold in force on each of ``parcel_ids`` that has one, by parcel id."""
    return {r.parcel_id: seen(r, viewer) for r in in_force(session, parcel_ids)}
