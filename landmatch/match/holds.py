"""What a change of a held parcel's status does to its hold (预留).

A bureau (or a zone committee, an admin) that changes the status of a parcel a promotion team
holds is told so with the edit's warnings: which team holds it and until when. A status no hold
survives (:data:`landmatch.db.holds.ENDS_HOLD`: 已供应, 已撤回) ends the hold in the same
transaction, and the project's timeline says who ended it, when and why — the team learns of it
where it follows its project, as a 流失 project's released holds are said on its timeline.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.holds import ENDS_HOLD, in_force, seen
from landmatch.match import pipeline


def _held_by(hold: dict[str, Any]) -> str:
    who = f"招商团队“{hold['team']}”" if hold.get("team") else "招商团队"
    what = f"的项目“{hold['project']}”" if hold.get("project") else "的项目"
    until = f"（至 {hold['until']}）" if hold["until"] else "（未定截止日期）"
    return f"{who}{what}预留{until}"


def on_status_change(
    session: Session | Connection,
    principal: Principal,
    changes: dict[int, tuple[str, str]],
    *,
    planned: bool = False,
) -> list[dict[str, Any]]:
    """For the parcels whose status the caller's write changes (``changes``: parcel id →
    (old, new) status), under way in the caller's transaction: a warning per held parcel
    (``{"code", "field": "status", "message"}``), and the end of its hold when the new status
    is one of :data:`ENDS_HOLD`, said on the project's timeline. ``planned``: the caller rolls
    its write back (a dry run), so the warning says what the write would do."""
    moved = {pid: c for pid, c in changes.items() if c[0] != c[1]}
    out: list[dict[str, Any]] = []
    for row in in_force(session, list(moved), lock=True):
        old, new = moved[row.parcel_id]
        label = vocab.label(vocab.PARCEL_STATUS, new)
        said = f"地块 {row.parcel_code} 正由{_held_by(seen(row, principal))}"
        if new not in ENDS_HOLD:
            message = f"{said}，状态已改为{label}，请告知该团队"
            out.append({"code": row.parcel_code, "field": "status", "message": message})
            continue
        _end(
            session,
            principal,
            row,
            f"状态由{vocab.label(vocab.PARCEL_STATUS, old)}改为{label}（{principal.actor}）",
        )
        out.append(
            {
                "code": row.parcel_code,
                "field": "status",
                "message": f"{said}；状态改为{label}后预留"
                + (
                    "将结束（导入后记入该项目的进展记录）"
                    if planned
                    else "已结束，已记入该项目的进展记录"
                ),
            }
        )
    return out


def on_delete(
    session: Session | Connection, principal: Principal, parcel_id: int
) -> list[dict[str, Any]]:
    """A held parcel deleted (restorable, but no project can be offered it meanwhile): its
    hold ends as for :data:`ENDS_HOLD`, said on the project's timeline, and the deleting
    caller is told (``{"code", "field", "message"}``, as :func:`on_status_change`)."""
    out: list[dict[str, Any]] = []
    for row in in_force(session, [parcel_id], lock=True):
        said = f"地块 {row.parcel_code} 原由{_held_by(seen(row, principal))}"
        _end(session, principal, row, f"已删除（{principal.actor}）")
        message = f"{said}；删除后预留已结束，已记入该项目的进展记录"
        out.append({"code": row.parcel_code, "field": "status", "message": message})
    return out


def _end(session: Session | Connection, principal: Principal, row: Any, what: str) -> None:
    """End the hold ``row`` in the caller's transaction, said on its project's timeline."""
    session.execute(
        text("UPDATE landmatch.reservation SET released_at = now() WHERE id = :id"),
        {"id": row.id},
    )
    pipeline.record_note(
        session,
        principal,
        row.project_id,
        f"地块 {row.parcel_code} {what}，本项目对该地块的预留已结束",
    )
