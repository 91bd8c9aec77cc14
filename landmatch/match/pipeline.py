"""The promotion team's project pipeline (招商项目库): stages, the board with counts, a project's
history (stage changes, notes, next steps), its match runs and reservations.

Stages group the stored ``pipeline_status`` values (the API's): 线索 = new; 洽谈 = matching or
shortlisted (the engine moves a project there when it is matched or a site is reserved);
考察 = visiting; 签约 = signed; 落地 = landed; 流失 = lost.

Who may see and change a project is the team rule of ``landmatch.match.ownership`` (a
promoter: its own team's projects; admin: all), applied here as in the project API: lists
filtered by ``visible_sql``, another team's project reads as 404, writes lock the row and check
the owner inside the write (``lock_owned``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch import industry_codes, vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db.engine import audited
from landmatch.db.like import contains_pattern
from landmatch.db.locking import check_version, etag
from landmatch.errors import Conflict, InvalidInput, NotFound
from landmatch.match import ownership
from landmatch.numbers import mu


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    statuses: tuple[str, ...]


STAGES: tuple[Stage, ...] = (
    Stage("lead", "线索", ("new",)),
    Stage("talks", "洽谈", ("matching", "shortlisted")),
    Stage("visit", "考察", ("visiting",)),
    Stage("signed", "签约", ("signed",)),
    Stage("landed", "落地", ("landed",)),
    Stage("lost", "流失", ("lost",)),
)
STAGE_OF: dict[str, Stage] = {s: st for st in STAGES for s in st.statuses}
STAGE_BY_KEY: dict[str, Stage] = {st.key: st for st in STAGES}
# The status a stage is moved to by hand (洽谈 keeps "shortlisted" when already there).
STAGE_STATUS: dict[str, str] = {st.key: st.statuses[0] for st in STAGES}
# The flow a project follows, one stage at a time and never back; 流失 can be reached from
# any stage, and a lost project taken up again goes back to 洽谈.
FLOW = ("lead", "talks", "visit", "signed", "landed")
FLOW_WORDS = (
    "阶段按 线索 → 洽谈 → 考察 → 签约 → 落地 逐级推进，可退回之前的阶段更正，任何阶段都可标为流失，"
    "流失的项目可重新洽谈"
)


def next_stages(stage: str) -> tuple[str, ...]:
    """The stages a project at ``stage`` (a key) may be moved to, in the flow's order: the next
    one, any earlier one (a correction: a visit that led nowhere, a wrong click) and 流失; a
    lost project back to 洽谈. Only a jump forward is refused: the pipeline's counts and
    conversion rates read each stage as passed through."""
    if stage == "lost":
        return ("talks",)
    i = FLOW.index(stage)
    return (*FLOW[:i], *FLOW[i + 1 : i + 2], "lost")


def stage_choices(stage: str) -> list[Stage]:
    """The stage form's options: the project's stage and those it may move to."""
    allowed = {stage, *next_stages(stage)}
    return [st for st in STAGES if st.key in allowed]


def check_move(old_status: str, new_status: str, field: str = "stage") -> None:
    """Refuse a change of status the flow does not allow (a jump forward), for every
    move by hand — the workbench's stage form and the API's PATCH — checked under the
    project's lock. Moves within a stage (洽谈: 选址中 ↔ 已入围) are free."""
    old, new = STAGE_OF[old_status], STAGE_OF[new_status]
    if old == new or new.key in next_stages(old.key):
        return
    may = "、".join(STAGE_BY_KEY[k].label for k in next_stages(old.key))
    raise Conflict(
        f"项目阶段不能从{old.label}直接改为{new.label}：{FLOW_WORDS}；当前可改为 {may}",
        detail=[{"field": field, "reason": f"当前可改为 {may}"}],
    )


# ---- authorization: the team rule (landmatch.match.ownership) ------------------------------


def may_read(principal: Principal) -> None:
    principal.require("admin", "promoter")


def may_write(principal: Principal, project: dict[str, Any]) -> None:
    """Checked again under the row lock by every write here (``_lock``)."""
    principal.require("admin", "promoter")
    if not ownership.owns(principal, project.get("owner_team")):
        raise NotFound(f"未找到项目 {project.get('id')}")


# ---- reading -----------------------------------------------------------------------------


def _size(req: dict[str, Any]) -> str:
    """面积 and 投资 in words: 80–120 亩 · 5 亿元."""
    parts = []
    lo, hi = req.get("area_mu_min"), req.get("area_mu_max")
    if lo is not None or hi is not None:
        if lo is not None and hi is not None:
            parts.append(f"{mu(lo)}–{mu(hi)} 亩")
        elif lo is not None:
            parts.append(f"≥{mu(lo)} 亩")
        else:
            parts.append(f"≤{mu(hi)} 亩")
    inv = req.get("investment_wan")
    if inv:
        parts.append(
            f"{inv / 10000:,.2f}".rstrip("0").rstrip(".") + " 亿元"
            if inv >= 10000
            else f"{inv:,.0f} 万元"
        )
    return " · ".join(parts)


def _row(r: Any) -> dict[str, Any]:
    d = dict(r._mapping)
    st = STAGE_OF[d["pipeline_status"]]
    req = d.get("requirement") or {}
    d["stage"] = st.key
    d["stage_label"] = st.label
    d["status_label"] = vocab.label(vocab.PROJECT_PIPELINE, d["pipeline_status"])
    ind = req.get("industry")
    d["industry"] = industry_codes.get(ind).display if ind else None
    d["size"] = _size(req)
    return d


_COLS = (
    "id, name, investor, owner, owner_team, industry_code, requirement, pipeline_status, "
    "next_step, next_step_on, notes, version, created_at, updated_at"
)


def board(
    session: Session,
    principal: Principal,
    *,
    stage: str | None = None,
    owner: str | None = None,
    industry: str | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    """The projects by stage with filters; counts per stage within the other filters."""
    may_read(principal)
    params: dict[str, Any] = {}
    where = [ownership.visible_sql(principal, "owner_team", params), ownership.LIVE]
    if owner:
        where.append("owner = :owner")
        params["owner"] = owner
    if industry:
        code = industry_codes.normalize(industry)
        where.append("industry_code LIKE :ind")
        params["ind"] = f"{code}%" if code.isdigit() else "%"
        if not code.isdigit():  # a 门类: its divisions
            divs = [i.code for i in industry_codes.all_codes() if i.parent == code]
            where[-1] = "left(industry_code, 2) = ANY(:divs)"
            params["divs"] = divs
    if q:
        where.append("(name ILIKE :q OR investor ILIKE :q)")
        params["q"] = contains_pattern(q)
    rows = [
        _row(r)
        for r in session.execute(
            text(
                f"SELECT {_COLS} FROM landmatch.project WHERE {' AND '.join(where)} "
                "ORDER BY next_step_on NULLS LAST, updated_at DESC, id"
            ),
            params,
        )
    ]
    counts = {st.key: 0 for st in STAGES}
    for r in rows:
        counts[r["stage"]] += 1
    owners = sorted({r["owner"] for r in rows if r["owner"]})
    if stage:
        if stage not in counts:
            raise InvalidInput(f"未知阶段 {stage}")
        rows = [r for r in rows if r["stage"] == stage]
    return {
        "stages": [{"key": s.key, "label": s.label, "count": counts[s.key]} for s in STAGES],
        "total": sum(counts.values()),
        "rows": rows,
        "owners": owners,
    }


def project(session: Session, principal: Principal, project_id: int) -> dict[str, Any]:
    may_read(principal)
    return _row(ownership.owned_project(session, principal, _COLS, project_id))


def _status_label(status: str, other: str | None) -> str:
    """A status as the timeline says it: its stage, and the status too where the other end
    of the change is in the same stage (洽谈（选址中） → 洽谈（已入围）)."""
    stage = STAGE_OF[status].label
    if other is not None and STAGE_OF[other] == STAGE_OF[status]:
        return f"{stage}（{vocab.label(vocab.PROJECT_PIPELINE, status)}）"
    return stage


def events(session: Session, project_id: int) -> list[dict[str, Any]]:
    """The project's timeline, newest first: stage changes, notes, next steps
    (``project_event``) and the edits of its name, investor, description and requirement
    (from its versions, :func:`edits`)."""
    out = []
    for r in session.execute(
        text(
            "SELECT at, actor, kind, from_status, to_status, body FROM landmatch.project_event "
            "WHERE project_id = :id ORDER BY at DESC, id DESC"
        ),
        {"id": project_id},
    ):
        d = dict(r._mapping)
        if d["from_status"] and d["to_status"]:
            d["from_status_label"] = _status_label(d["from_status"], d["to_status"])
            d["to_status_label"] = _status_label(d["to_status"], d["from_status"])
        out.append(d)
    out += reversed(edits(session, project_id))
    out.sort(key=lambda e: e["at"], reverse=True)  # stable: ties keep the order above
    return out


#: The fields of a project whose edits the timeline shows (stage changes are events).
EDITED = {"name": "项目名称", "investor": "投资方", "notes": "项目说明", "requirement": "用地需求"}


def requirement_text(req: dict[str, Any] | None) -> str:
    req = req or {}
    ind = req.get("industry")
    parts = [industry_codes.get(ind).display if ind else "", _size(req)]
    return " · ".join(p for p in parts if p) or "—"


def edits(session: Session, project_id: int) -> list[dict[str, Any]]:
    """The edits of the project's :data:`EDITED` fields, from its versions (``layer_version``,
    kept by the history trigger, migration 0044_project_history): each with when, who, why
    and each changed field's label, old and new value; a delete and a restore as one line
    each, with the reason given."""
    rows = session.execute(
        text(
            "SELECT op, actor, reason, at, row FROM landmatch.layer_version "
            "WHERE layer = 'project' AND record_id = :id ORDER BY at, id"
        ),
        {"id": project_id},
    ).mappings()
    out: list[dict[str, Any]] = []
    prev: dict[str, Any] | None = None
    for r in rows:
        row = r["row"]
        if (
            prev is not None
            and r["op"] == "update"
            and row.get("deleted_at") != prev.get("deleted_at")
        ):
            # A delete (kept, 0046_project_restore) or a restore: said with its reason.
            what = "删除项目" if row.get("deleted_at") else "恢复项目"
            why = r["reason"] if r["reason"] and r["reason"] != what else None
            out.append(
                {
                    "at": r["at"],
                    "actor": r["actor"],
                    "kind": "deleted" if row.get("deleted_at") else "restored",
                    "body": f"{what}（{why}）" if why else what,
                }
            )
        elif prev is not None and r["op"] == "update":
            changes = []
            for k, label in EDITED.items():
                if row.get(k) == prev.get(k):
                    continue
                if k == "requirement":
                    old, new = requirement_text(prev.get(k)), requirement_text(row.get(k))
                    if old == new:
                        old, new = "（其他条件）", "已修改"
                else:
                    old, new = prev.get(k) or "—", row.get(k) or "—"
                changes.append({"field": k, "label": label, "old": old, "new": new})
            if changes:
                at = r["at"]
                out.append(
                    {
                        "at": at,
                        "actor": r["actor"],
                        "kind": "edit",
                        "body": None,
                        "changes": changes,
                    }
                )
        prev = row
    return out


def runs(session: Session, project_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The project's match runs, newest first, with how many sites each returned."""
    out = []
    for r in session.execute(
        text(
            "SELECT id, created_at, actor, returned AS n FROM landmatch.match_run "
            "WHERE project_id = :id "
            "ORDER BY created_at DESC LIMIT :lim"
        ),
        {"id": project_id, "lim": limit},
    ):
        out.append({"id": r.id, "created_at": r.created_at, "actor": r.actor, "count": r.n})
    return out


def reservations(session: Session, project_id: int) -> list[dict[str, Any]]:
    return [
        dict(r._mapping)
        for r in session.execute(
            text(
                "SELECT r.id, p.code AS parcel_code, p.name AS parcel_name, r.reserved_by, "
                "r.until, r.note, r.created_at, r.released_at FROM landmatch.reservation r "
                "JOIN landmatch.parcel p ON p.id = r.parcel_id WHERE r.project_id = :id "
                "ORDER BY r.released_at IS NOT NULL, r.created_at DESC"
            ),
            {"id": project_id},
        )
    ]


# ---- writing -----------------------------------------------------------------------------


def _lock(session: Session, principal: Principal, project_id: int, version: int) -> dict[str, Any]:
    may_read(principal)
    row = ownership.lock_owned(
        session,
        principal,
        "SELECT id, version, pipeline_status, owner_team FROM landmatch.project "
        f"WHERE id = :id AND {ownership.LIVE}",
        {"id": project_id},
        f"未找到项目 {project_id}",
    )
    # The page's form carries the version it showed: a stale one answers 412.
    check_version(etag(project_id, version), project_id, row["version"], what="项目")
    return row


def record_stage(
    session: Session,
    principal: Principal,
    project_id: int,
    old: str,
    new: str,
    note: str | None = None,
) -> None:
    """The one record of a stage change, whoever makes it (this page's stage form, the API's
    PATCH, a reservation, the first match): a ``stage`` event on the project's timeline. The
    caller has changed ``pipeline_status`` under the project's lock.

    A project 流失 holds no land: its reservations end with the change (said on the event),
    so another team may reserve the sites instead of finding them held until the hold's date."""
    if old == new:
        return
    if new == "lost":
        freed = release_all(session, project_id)
        if freed:
            said = f"项目流失，已释放预留地块 {'、'.join(freed)}"
            note = f"{note}；{said}" if note else said
    _event(session, principal, project_id, kind="stage", from_status=old, to_status=new, body=note)


def release_all(session: Session, project_id: int) -> list[str]:
    """End every active reservation of the project; the parcels' codes, in order."""
    return list(
        session.execute(
            text(
                "WITH freed AS (UPDATE landmatch.reservation SET released_at = now() "
                "WHERE project_id = :p AND released_at IS NULL RETURNING parcel_id) "
                "SELECT p.code FROM freed JOIN landmatch.parcel p ON p.id = freed.parcel_id "
                "ORDER BY p.code"
            ),
            {"p": project_id},
        ).scalars()
    )


def _event(
    session: Session | Connection, principal: Principal, project_id: int, **values: Any
) -> None:
    session.execute(
        text(
            "INSERT INTO landmatch.project_event (project_id, actor, kind, from_status, "
            "to_status, body) VALUES (:p, :a, :kind, :f, :t, :b)"
        ),
        {
            "p": project_id,
            "a": principal.actor,
            "kind": values["kind"],
            "f": values.get("from_status"),
            "t": values.get("to_status"),
            "b": values.get("body"),
        },
    )


def _bump(
    session: Session,
    principal: Principal,
    project_id: int,
    reason: str,
    sets: str = "",
    **params: Any,
) -> None:
    """Write the project (a new version, kept with who and why by the history trigger)."""
    with audited(session, principal.actor, reason):
        session.execute(
            text(
                f"UPDATE landmatch.project SET {sets}{', ' if sets else ''}version = version + 1, "
                "updated_at = now() WHERE id = :id"
            ),
            {"id": project_id, **params},
        )


def set_stage(
    session: Session,
    principal: Principal,
    project_id: int,
    stage: str,
    *,
    version: int,
    note: str | None = None,
) -> None:
    """Move the project to a stage, kept in its history with an optional note."""
    if stage not in STAGE_STATUS:
        raise InvalidInput(
            "未知阶段",
            detail=[
                {"field": "stage", "reason": f"应为 {'、'.join(s.label for s in STAGES)} 之一"}
            ],
        )
    row = _lock(session, principal, project_id, version)
    old = row["pipeline_status"]
    if STAGE_OF[old].key == stage:
        return
    new = STAGE_STATUS[stage]
    check_move(old, new)
    _bump(session, principal, project_id, "更新阶段", "pipeline_status = :s", s=new)
    record_stage(session, principal, project_id, old, new, note)


def add_note(
    session: Session, principal: Principal, project_id: int, body: str, *, version: int
) -> None:
    body = body.strip()
    if not body:
        raise InvalidInput("备注不能为空", detail=[{"field": "note", "reason": "不能为空"}])
    if len(body) > 4000:
        raise InvalidInput("备注太长", detail=[{"field": "note", "reason": "最多 4000 字"}])
    _lock(session, principal, project_id, version)
    _bump(session, principal, project_id, "添加备注")
    _event(session, principal, project_id, kind="note", body=body)


def set_next_step(
    session: Session,
    principal: Principal,
    project_id: int,
    step: str,
    on: dt.date | None,
    *,
    version: int,
) -> None:
    step = step.strip()
    if len(step) > 500:
        raise InvalidInput("下一步太长", detail=[{"field": "next_step", "reason": "最多 500 字"}])
    _lock(session, principal, project_id, version)
    _bump(
        session,
        principal,
        project_id,
        "更新下一步",
        "next_step = :s, next_step_on = :d",
        s=step or None,
        d=on,
    )
    label = f"{step}（{on.isoformat()}）" if on and step else (step or "已清除")
    _event(session, principal, project_id, kind="next_step", body=label)


def requirement_json(project: dict[str, Any]) -> str:
    return json.dumps(project.get("requirement") or {}, ensure_ascii=False)


def parse_date(raw: str, field: str) -> dt.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"日期 {raw} 无效，应为 年-月-日", detail=[{"field": field, "reason": "日期无效"}]
        ) from None


def expiring(
    session: Session, principal: Principal, within_days: int, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """The caller's team's active holds ending within ``within_days`` (or already past their
    date and not released), soonest first: the home page's reminder."""
    today = today or beijing_today()
    params: dict[str, Any] = {"d": today + dt.timedelta(days=within_days)}
    visible = ownership.visible_sql(principal, "pr.owner_team", params)
    return [
        dict(r._mapping) | {"days_left": (r.until - today).days}
        for r in session.execute(
            text(
                "SELECT r.id, r.until, p.code AS parcel_code, pr.id AS project_id, "
                "pr.name AS project_name FROM landmatch.reservation r "
                "JOIN landmatch.parcel p ON p.id = r.parcel_id "
                "JOIN landmatch.project pr ON pr.id = r.project_id "
                f"WHERE r.released_at IS NULL AND r.until IS NOT NULL AND r.until <= :d AND {visible} "
                "ORDER BY r.until, r.id LIMIT 20"
            ),
            params,
        )
    ]


def home(
    session: Session, principal: Principal, reminder_days: int, today: dt.date | None = None
) -> dict[str, Any] | None:
    """The home page's card: projects per stage, holds about to end and, for a promoter
    without a team, why no project can be created (promoters, admins)."""
    if principal.role not in ("admin", "promoter"):
        return None
    b = board(session, principal)
    return {
        "stages": b["stages"],
        "expiring": expiring(session, principal, reminder_days, today),
        "days": reminder_days,
        "no_team": None if ownership.may_create(principal) else ownership.NO_TEAM,
    }


def record_note(
    session: Session | Connection, principal: Principal, project_id: int, body: str
) -> None:
    """A note on the project's timeline written by the system for someone outside the team
    (a bureau's edit that ended a hold): no lock, no version, the caller's name as its actor."""
    _event(session, principal, project_id, kind="note", body=body)
