"""Projects (an incoming investment and its pipeline), reservations, and the reverse match."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db import holds
from landmatch.db.engine import audited
from landmatch.db.holds import ENDS_HOLD
from landmatch.db.locking import check_version, require_if_match
from landmatch.errors import Conflict, InvalidInput, NotFound
from landmatch.inventory.listing import own_city
from landmatch.match import ownership, pipeline
from landmatch.match.plan import Plan
from landmatch.match.reference import data_version, load_reference
from landmatch.match.requirements import CRITERIA, Key, Requirement
from landmatch.match.scores import combine

Pipeline = Literal["new", "matching", "shortlisted", "visiting", "signed", "landed", "lost"]
#: The largest request body of a project (``POST``/``PATCH /api/projects``): its requirement
#: (``requirements.MAX_BODY``) and its texts.
MAX_BODY = 96 * 1024
OPEN_PIPELINE = ("new", "matching", "shortlisted", "visiting")
STAFF = ("admin", "promoter")


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="项目名称")
    investor: str | None = Field(None, max_length=200, description="投资方")
    notes: str | None = Field(None, max_length=4000)
    pipeline_status: Pipeline = "new"
    requirement: Requirement
    team: str | None = Field(
        None,
        max_length=64,
        description="所属招商团队：推介账号为本团队（可省略）；管理员可指定任一团队",
    )


class ProjectPatch(BaseModel):
    """Fields to change; ``investor`` and ``notes`` may be cleared with null, the others not."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    investor: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=4000)
    pipeline_status: Pipeline | None = None
    requirement: Requirement | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> ProjectPatch:
        cleared = [
            k
            for k in ("name", "pipeline_status", "requirement")
            if k in self.model_fields_set and getattr(self, k) is None
        ]
        if cleared:
            raise ValueError(f"{'、'.join(_LABELS[k] for k in cleared)}是必填项，不能清空")
        return self


_LABELS = {
    "name": "项目名称（name）",
    "pipeline_status": "项目状态（pipeline_status）",
    "requirement": "用地需求（requirement）",
}


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parcel_code: str = Field(min_length=3, max_length=64)
    project_id: Key
    until: dt.date | None = Field(None, description="预留截止日期（含）")
    note: str | None = Field(None, max_length=2000)


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500, description="恢复原因（记入项目历史）")


def _project(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    for k in ("created_at", "updated_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat()
    d["pipeline_label"] = vocab.label(vocab.PROJECT_PIPELINE, d["pipeline_status"])
    return d


_COLS = (
    "id, name, industry_code, requirement, pipeline_status, investor, owner, owner_team, notes, "
    "version, created_at, updated_at"
)


def list_projects(
    session: Session, principal: Principal, status: str | None = None
) -> list[dict[str, Any]]:
    """The caller's team's projects (an admin: all)."""
    principal.require(*STAFF)
    params: dict[str, Any] = {}
    where = ownership.visible_sql(principal, "owner_team", params) + f" AND {ownership.LIVE}"
    if status:
        if status not in vocab.PROJECT_PIPELINE:
            raise InvalidInput(f"未知项目状态 {status}；可选 {', '.join(vocab.PROJECT_PIPELINE)}")
        where += " AND pipeline_status = :s"
        params["s"] = status
    rows = session.execute(
        text(f"SELECT {_COLS} FROM landmatch.project WHERE {where} ORDER BY id"), params
    )
    return [_project(r) for r in rows]


def get_project(session: Session, principal: Principal, project_id: int) -> dict[str, Any]:
    """One project of the caller's team (another team's: 404, as if it did not exist)."""
    principal.require(*STAFF)
    return _project(ownership.owned_project(session, principal, _COLS, project_id))


def _locked(
    session: Session, principal: Principal, project_id: int, if_match: str | None, action: str
) -> dict[str, Any]:
    """The project locked for a write against the version ``if_match`` names (428, 412), if
    the caller's team owns it (404 otherwise), checked under the lock."""
    principal.require(*STAFF)
    require_if_match(if_match, f"{action}项目")
    row = ownership.lock_owned(
        session,
        principal,
        "SELECT id, name, version, owner_team, pipeline_status FROM landmatch.project "
        f"WHERE id = :id AND {ownership.LIVE}",
        {"id": project_id},
        f"未找到项目 {project_id}",
    )
    check_version(if_match, project_id, row["version"], what="项目", action=action)
    return row


def create_project(session: Session, principal: Principal, body: ProjectIn) -> dict[str, Any]:
    principal.require(*STAFF)
    team = ownership.team_for_new(principal, body.team)
    with audited(session, principal.actor, "新建项目"):
        pid = _insert(session, principal, body, team)
    return get_project(session, principal, pid)


def _insert(session: Session, principal: Principal, body: ProjectIn, team: str | None) -> int:
    return session.execute(
        text(
            "INSERT INTO landmatch.project (name, industry_code, requirement, pipeline_status, "
            "investor, owner, owner_team, notes) "
            "VALUES (:n, :i, CAST(:r AS jsonb), :s, :inv, :o, :team, :notes) RETURNING id"
        ),
        {
            "n": body.name,
            "i": body.requirement.industry,
            "r": json.dumps(body.requirement.model_dump(mode="json"), ensure_ascii=False),
            "s": body.pipeline_status,
            "inv": body.investor,
            "o": principal.actor,
            "team": team,
            "notes": body.notes,
        },
    ).scalar_one()


def update_project(
    session: Session,
    principal: Principal,
    project_id: int,
    body: ProjectPatch,
    *,
    if_match: str | None,
) -> dict[str, Any]:
    """Change the fields given; each write is a version (the history trigger) and a change of
    stage is on the project's timeline as the workbench's (``pipeline.record_stage``)."""
    row = _locked(session, principal, project_id, if_match, "修改")
    sets: list[str] = []
    params: dict[str, Any] = {"id": project_id}
    data = body.model_dump(exclude_unset=True)
    if "pipeline_status" in data:
        pipeline.check_move(row["pipeline_status"], data["pipeline_status"], "pipeline_status")
    for k in ("name", "investor", "notes", "pipeline_status"):
        if k in data:
            sets.append(f"{k} = :{k}")
            params[k] = data[k]
    if body.requirement is not None:
        sets += ["requirement = CAST(:req AS jsonb)", "industry_code = :ind"]
        params["req"] = json.dumps(body.requirement.model_dump(mode="json"), ensure_ascii=False)
        params["ind"] = body.requirement.industry
    if sets:
        sets += ["version = version + 1", "updated_at = now()"]
        with audited(session, principal.actor, "修改项目"):
            session.execute(
                text(f"UPDATE landmatch.project SET {', '.join(sets)} WHERE id = :id"), params
            )
        if "pipeline_status" in data:
            pipeline.record_stage(
                session, principal, project_id, row["pipeline_status"], data["pipeline_status"]
            )
    return get_project(session, principal, project_id)


def delete_project(
    session: Session, principal: Principal, project_id: int, *, if_match: str | None
) -> dict[str, Any]:
    """Delete the project: it is kept, with who deleted it and when, and left out of every
    read until :func:`restore_project` brings it back. Its holds are released and its
    proposals' links ended at that moment (a restore leaves them so). Answers the parcels
    whose holds were released and how many links were ended."""
    _locked(session, principal, project_id, if_match, "删除")
    params = {"id": project_id, "by": principal.actor}
    with audited(session, principal.actor, "删除项目"):
        at = session.execute(
            text(
                "UPDATE landmatch.project SET deleted_at = now(), deleted_by = :by, "
                "version = version + 1, updated_at = now() WHERE id = :id RETURNING deleted_at"
            ),
            params,
        ).scalar_one()
    released = session.execute(
        text(
            "UPDATE landmatch.reservation r SET released_at = :at FROM landmatch.parcel p "
            "WHERE p.id = r.parcel_id AND r.project_id = :id AND r.released_at IS NULL "
            "RETURNING p.code"
        ),
        {"id": project_id, "at": at},
    ).scalars()
    codes = sorted(released)
    ended = session.execute(
        text(
            "UPDATE landmatch.proposal SET revoked_at = :at "
            "WHERE project_id = :id AND revoked_at IS NULL AND expires_at > :at RETURNING id"
        ),
        {"id": project_id, "at": at},
    ).all()
    return {"released": codes, "revoked": len(ended)}


_DELETED = (
    "id, name, industry_code, requirement, pipeline_status, investor, owner, owner_team, "
    "notes, version, created_at, updated_at, deleted_at, deleted_by"
)


def _ended_at_delete(session: Session, project_id: int, at: dt.datetime) -> dict[str, Any]:
    """What the delete at ``at`` ended: the parcels whose holds it released, and how many
    proposal links it ended (both were stamped with the delete's time)."""
    codes = session.execute(
        text(
            "SELECT p.code FROM landmatch.reservation r JOIN landmatch.parcel p "
            "ON p.id = r.parcel_id WHERE r.project_id = :id AND r.released_at = :at ORDER BY 1"
        ),
        {"id": project_id, "at": at},
    ).scalars()
    revoked = session.execute(
        text("SELECT count(*) FROM landmatch.proposal WHERE project_id = :id AND revoked_at = :at"),
        {"id": project_id, "at": at},
    ).scalar_one()
    return {"released": list(codes), "revoked": int(revoked)}


def deleted_projects(
    session: Session, principal: Principal, limit: int = 100
) -> list[dict[str, Any]]:
    """The caller's team's deleted projects (an admin: all), last deleted first, each as it
    was when deleted, with who deleted it, when, and what the delete released."""
    principal.require(*STAFF)
    params: dict[str, Any] = {"lim": limit}
    where = ownership.visible_sql(principal, "owner_team", params)
    rows = session.execute(
        text(
            f"SELECT {_DELETED} FROM landmatch.project WHERE deleted_at IS NOT NULL AND {where} "
            "ORDER BY deleted_at DESC, id DESC LIMIT :lim"
        ),
        params,
    )
    out = []
    for r in rows:
        d = _project(r)
        at = r.deleted_at
        d["deleted_at"] = at.isoformat()
        d |= _ended_at_delete(session, r.id, at)
        out.append(d)
    return out


def restore_project(
    session: Session,
    principal: Principal,
    project_id: int,
    *,
    if_match: str | None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Bring back a deleted project of the caller's team (another team's: 404, as if it did
    not exist) as it was deleted, with its requirement, timeline and match runs; checked
    under the row lock against the version ``if_match`` names. The restore is a version with
    who and why. Holds released and links ended by the delete stay so: the answer names
    them (``released``, ``revoked``) so the caller can say so."""
    principal.require(*STAFF)
    require_if_match(if_match, "恢复项目")
    row = ownership.lock_owned(
        session,
        principal,
        "SELECT id, name, version, owner_team, deleted_at FROM landmatch.project WHERE id = :id",
        {"id": project_id},
        f"未找到项目 {project_id}",
    )
    check_version(if_match, project_id, row["version"], what="项目", action="恢复")
    if row["deleted_at"] is None:
        raise Conflict(f"项目“{row['name']}”未被删除，无需恢复")
    ended = _ended_at_delete(session, project_id, row["deleted_at"])
    why = (reason or "").strip() or "恢复已删除项目"
    with audited(session, principal.actor, why):
        session.execute(
            text(
                "UPDATE landmatch.project SET deleted_at = NULL, deleted_by = NULL, "
                "version = version + 1, updated_at = now() WHERE id = :id"
            ),
            {"id": project_id},
        )
    return get_project(session, principal, project_id) | ended


def ended_note(ended: dict[str, Any]) -> str:
    """What a restore did not bring back, in words ("" when nothing)."""
    parts = []
    if ended.get("released"):
        codes = ended["released"]
        listed = "、".join(codes[:5]) + (f" 等 {len(codes)} 宗" if len(codes) > 5 else "")
        parts.append(f"删除时释放的地块预留（{listed}）仍为已释放，如需请重新预留")
    if ended.get("revoked"):
        parts.append(f"删除时停用的 {ended['revoked']} 个选址建议书链接仍为停用")
    return "；".join(parts)


def project_requirement(session: Session, principal: Principal, project_id: int) -> Requirement:
    """The project's requirement, bound to the project (its own holds are not excluded); a new
    project moves to "matching" when first matched. The caller's team's projects only."""
    principal.require(*STAFF)
    ownership.lock_owned(
        session,
        principal,
        f"SELECT owner_team FROM landmatch.project WHERE id = :id AND {ownership.LIVE}",
        {"id": project_id},
        f"未找到项目 {project_id}",
    )
    p = get_project(session, principal, project_id)
    _advance(session, principal, project_id, p["pipeline_status"], ("new",), "matching", "匹配")
    return Requirement.model_validate({**p["requirement"], "project_id": project_id})


def _advance(
    session: Session,
    principal: Principal,
    project_id: int,
    old: str,
    before: tuple[str, ...],
    new: str,
    why: str,
) -> None:
    """Move the locked project from ``old`` to ``new`` when ``old`` is one of ``before`` (the
    engine's moves: matched, a site reserved), a version and a timeline event like a move by
    hand (``pipeline.record_stage``)."""
    if old not in before:
        return
    with audited(session, principal.actor, why):
        session.execute(
            text(
                "UPDATE landmatch.project SET pipeline_status = :s, version = version + 1, "
                "updated_at = now() WHERE id = :id"
            ),
            {"id": project_id, "s": new},
        )
    pipeline.record_stage(session, principal, project_id, old, new, why)


# Reservations ------------------------------------------------------------------------------


#: What everyone who may list reservations sees of a hold they are shown the date of only
#: (:func:`landmatch.db.holds.shown`): that the parcel is held and until when, not by whom or
#: for what. The bureau of the parcel's city sees ``owner_team`` too.
OTHERS_SEE = ("id", "parcel_code", "parcel_id", "until", "created_at", "released_at")


def _reservation(row: Any, principal: Principal) -> dict[str, Any]:
    """The hold ``row`` (of :data:`_RCOLS`) as the caller is shown it, by the one rule
    (:func:`landmatch.db.holds.shown`): in full to the holding team and admins, the team and
    date to the bureau of the parcel's city, the date to anyone else."""
    d = dict(row._mapping)
    level = holds.shown(principal, d["owner_team"], d.pop("city_code"))
    for k, v in list(d.items()):
        if hasattr(v, "isoformat"):
            d[k] = v.isoformat()
    d["own"] = level == "project"
    if level == "team":
        d = {k: d[k] for k in (*OTHERS_SEE, "owner_team", "own")}
    elif level == "date":
        d = {k: d[k] for k in (*OTHERS_SEE, "own")}
    return d


_RCOLS = (
    "r.id, p.code AS parcel_code, r.parcel_id, r.project_id, pr.name AS project_name, "
    "r.reserved_by, r.owner_team, r.until, r.note, r.created_at, r.released_at, p.city_code"
)
_RFROM = (
    "FROM landmatch.reservation r JOIN landmatch.parcel p ON p.id = r.parcel_id "
    "JOIN landmatch.project pr ON pr.id = r.project_id"
)


def list_reservations(
    session: Session, principal: Principal, active: bool = True
) -> list[dict[str, Any]]:
    """Every hold (those in force by default, :data:`landmatch.db.holds.IN_FORCE`), each as
    :func:`_reservation` shows it; a city's bureau sees the holds on its city's parcels only."""
    principal.require(*STAFF, "bureau")
    where = [holds.IN_FORCE] if active else []
    params: dict[str, Any] = holds.day()
    city = own_city(principal)
    if city is not None:
        where.append("p.city_code = :city")
        params["city"] = city
    sql = (
        f"SELECT {_RCOLS} {_RFROM} {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY r.id"
    )
    return [_reservation(r, principal) for r in session.execute(text(sql), params)]


def holds_on(
    session: Session, principal: Principal, codes: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The holds in force (:data:`landmatch.db.holds.IN_FORCE`) on the parcels ``codes``, by
    parcel code, each as :func:`_reservation` shows it. A results page shows them so that
    nobody offers to reserve what another project holds."""
    principal.require(*STAFF, "bureau")
    rows = session.execute(
        text(f"SELECT {_RCOLS} {_RFROM} WHERE p.code = ANY(:codes) AND {holds.IN_FORCE}"),
        {"codes": list(codes), **holds.day()},
    )
    return {r.parcel_code: _reservation(r, principal) for r in rows}


def reserve(
    session: Session, principal: Principal, body: ReservationIn, today: dt.date | None = None
) -> dict[str, Any]:
    """Hold a parcel for one project. A parcel already held (actively) answers 409."""
    principal.require(*STAFF)
    today = today or beijing_today()
    if body.until is not None and body.until < today:
        raise InvalidInput(
            "预留截止日期不能早于今天", detail=[{"field": "until", "reason": "早于今天"}]
        )
    # The parcel is read FOR SHARE and stays so until the hold commits: a delete or a status
    # change (an UPDATE, FOR NO KEY UPDATE) waits for it, or came first and is read here (FOR
    # KEY SHARE, as the hold's foreign key takes, would let both through). Lock order: the
    # parcel, then the project (as nothing locks a project, then a parcel).
    parcel = session.execute(
        text(
            "SELECT id, status FROM landmatch.parcel WHERE code = :c AND deleted_at IS NULL "
            "FOR SHARE"
        ),
        {"c": body.parcel_code},
    ).first()
    if parcel is None:
        raise NotFound(f"未找到地块 {body.parcel_code}")
    if parcel.status in ENDS_HOLD:
        raise Conflict(
            f"地块 {body.parcel_code} 状态为"
            f"{vocab.label(vocab.PARCEL_STATUS, parcel.status)}，不能预留"
        )
    # The project is the caller's team's, locked until the hold is written (404 otherwise).
    project = ownership.lock_owned(
        session,
        principal,
        "SELECT id, owner_team, pipeline_status FROM landmatch.project "
        f"WHERE id = :id AND {ownership.LIVE}",
        {"id": body.project_id},
        f"未找到项目 {body.project_id}",
    )
    # Holds past their date end by themselves.
    session.execute(
        text(
            "UPDATE landmatch.reservation SET released_at = now() WHERE parcel_id = :p "
            "AND released_at IS NULL AND until IS NOT NULL AND until < :d"
        ),
        {"p": parcel.id, "d": today},
    )
    held = session.execute(
        text(f"SELECT {_RCOLS} {_RFROM} WHERE r.parcel_id = :p AND r.released_at IS NULL"),
        {"p": parcel.id},
    ).first()
    if held is not None:
        by = f"项目“{held.project_name}”" if principal.owns(held.owner_team) else "其他项目"
        until = f"（至 {held.until.isoformat()}）" if held.until else ""
        raise Conflict(
            f"地块 {body.parcel_code} 已被{by}预留{until}",
            detail=[{"field": "parcel_code", "reason": "已被预留", "reservation_id": held.id}],
        )
    try:
        with session.begin_nested():
            rid = session.execute(
                text(
                    "INSERT INTO landmatch.reservation (parcel_id, project_id, reserved_by, "
                    "owner_team, until, note) VALUES (:p, :pr, :by, :team, :u, :n) RETURNING id"
                ),
                {
                    "p": parcel.id,
                    "pr": body.project_id,
                    "by": principal.actor,
                    "team": project["owner_team"],
                    "u": body.until,
                    "n": body.note,
                },
            ).scalar_one()
    except IntegrityError:  # a concurrent hold won the race
        raise Conflict(f"地块 {body.parcel_code} 已被其他项目预留") from None
    _advance(
        session,
        principal,
        body.project_id,
        project["pipeline_status"],
        ("new", "matching"),
        "shortlisted",
        f"预留地块 {body.parcel_code}",
    )
    return _reservation(
        session.execute(text(f"SELECT {_RCOLS} {_RFROM} WHERE r.id = :id"), {"id": rid}).one(),
        principal,
    )


def release(session: Session, principal: Principal, reservation_id: int) -> dict[str, Any]:
    """End a hold: the holding team or an admin (403 for others), checked under the lock."""
    principal.require(*STAFF)
    missing = f"未找到有效预留 {reservation_id}"
    ownership.lock_owned(
        session,
        principal,
        "SELECT id, owner_team FROM landmatch.reservation WHERE id = :id AND released_at IS NULL",
        {"id": reservation_id},
        missing,
        hidden=False,
    )
    session.execute(
        text("UPDATE landmatch.reservation SET released_at = now() WHERE id = :id"),
        {"id": reservation_id},
    )
    return _reservation(
        session.execute(
            text(f"SELECT {_RCOLS} {_RFROM} WHERE r.id = :id"), {"id": reservation_id}
        ).one(),
        principal,
    )


# Reverse match -----------------------------------------------------------------------------


def matching_projects(
    session: Session,
    principal: Principal,
    code: str,
    stale_after_days: int = 365,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Open projects whose hard rules the parcel passes, best score first. Another team's
    project shows its industry, status and score only (not its id, name or investor)."""
    principal.require(*STAFF, "bureau", "zone")
    today = today or beijing_today()
    pid = session.execute(
        text("SELECT id FROM landmatch.parcel WHERE code = :c AND deleted_at IS NULL"), {"c": code}
    ).scalar()
    if pid is None:
        raise NotFound(f"未找到地块 {code}")
    ref = load_reference(session, data_version(session))
    fits, checked = [], 0
    for p in session.execute(
        text(
            "SELECT id, name, investor, owner_team, pipeline_status, requirement "
            "FROM landmatch.project "
            f"WHERE pipeline_status = ANY(:open) AND {ownership.LIVE} ORDER BY id"
        ),
        {"open": list(OPEN_PIPELINE)},
    ):
        checked += 1
        try:
            req = Requirement.model_validate({**p.requirement, "project_id": p.id})
            plan = Plan(session, req, False, ref, today, stale_after_days)
        except (ValueError, InvalidInput):
            continue  # a stored requirement that no longer validates cannot fit
        params = dict(plan.ps.values, target=pid)
        row = session.execute(text(plan.select(extra="AND p.id = :target")), params).first()
        if row is None:
            continue
        scores = {c: float(row._mapping[f"s_{c}"]) for c in CRITERIA}
        total, _ = combine(scores, plan.weights)
        own = principal.owns(p.owner_team)
        fits.append(
            {
                "project_id": p.id if own else None,
                "name": p.name if own else None,
                "investor": p.investor if own else None,
                "own": own,
                "pipeline_status": p.pipeline_status,
                "pipeline_label": vocab.label(vocab.PROJECT_PIPELINE, p.pipeline_status),
                "industry": req.industry,
                "score": round(total, 4),
                "_id": p.id,
            }
        )
    fits.sort(key=lambda f: (-f["score"], f["_id"]))
    for f in fits:
        del f["_id"]
    return {"parcel_code": code, "projects_checked": checked, "projects": fits}
