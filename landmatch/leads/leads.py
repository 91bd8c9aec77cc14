"""The promotion team's leads (线索): inquiries routed to it, converted into projects or
dismissed.

Who sees a lead is the team rule of :mod:`landmatch.match.ownership` on the inquiry's
``owner_team`` (a promoter: its team's; admins: all, including those no team covers). Every
write locks the inquiry, checks the caller owns it and the version it was made against, and
that it is still open, inside the writing transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_minute
from landmatch.db.locking import check_version, etag
from landmatch.errors import Conflict, InvalidInput, NotFound, UnprocessableInput
from landmatch.geo.measure import M2_PER_MU
from landmatch.leads import coverage
from landmatch.match import ownership
from landmatch.match import projects as project_svc
from landmatch.match.requirements import Location, Requirement

STATUS = vocab.INQUIRY_STATUS
PAGE = 50

_COLS = (
    "i.id, i.created_at, i.parcel_id, i.parcel_code, i.match_id, i.city_code, i.zone_id, "
    "i.owner_team, i.name, i.company, i.phone, i.email, i.message, i.consent_at, i.status, "
    "i.project_id, i.handled_by, i.handled_at, i.handled_note, i.version, "
    "p.name AS parcel_name, p.area_m2 AS parcel_area_m2, z.name AS zone_name, "
    "pr.name AS project_name"
)
_FROM = (
    "FROM landmatch.inquiry i LEFT JOIN landmatch.parcel p ON p.id = i.parcel_id "
    "LEFT JOIN landmatch.dev_zone z ON z.id = i.zone_id "
    "LEFT JOIN landmatch.project pr ON pr.id = i.project_id AND pr.deleted_at IS NULL"
)


def may_read(principal: Principal) -> None:
    principal.require("admin", "promoter")


def _row(r: Any) -> dict[str, Any]:
    d = dict(r._mapping)
    d["status_label"] = STATUS[d["status"]]
    d["city_name"] = vocab.label(vocab.CITIES, d["city_code"])
    area = d.get("parcel_area_m2")
    d["parcel_area_mu"] = None if area is None else float(area) / M2_PER_MU
    d["etag"] = etag(d["id"], d["version"])
    return d


def counts(session: Session, principal: Principal) -> dict[str, int]:
    """How many of the caller's leads are in each status."""
    may_read(principal)
    params: dict[str, Any] = {}
    where = ownership.visible_sql(principal, "owner_team", params)
    rows = session.execute(
        text(f"SELECT status, count(*) FROM landmatch.inquiry WHERE {where} GROUP BY status"),
        params,
    )
    out = dict.fromkeys(STATUS, 0)
    out.update({s: int(n) for s, n in rows})
    return out


def home(session: Session, principal: Principal) -> dict[str, Any] | None:
    """The home page's card: open leads (count and the latest five); None for other roles."""
    if principal.role not in ("admin", "promoter"):
        return None
    return {"counts": counts(session, principal), "latest": list_leads(session, principal)[:5]}


def list_leads(
    session: Session, principal: Principal, status: str | None = "new", page: int = 1
) -> list[dict[str, Any]]:
    """The caller's leads, newest first (``status`` None: all)."""
    may_read(principal)
    params: dict[str, Any] = {"lim": PAGE, "off": (max(page, 1) - 1) * PAGE}
    where = [ownership.visible_sql(principal, "i.owner_team", params)]
    if status:
        if status not in STATUS:
            raise InvalidInput(f"未知线索状态 {status}；可选 {', '.join(STATUS)}")
        where.append("i.status = :s")
        params["s"] = status
    rows = session.execute(
        text(
            f"SELECT {_COLS} {_FROM} WHERE {' AND '.join(where)} "
            "ORDER BY i.created_at DESC, i.id DESC LIMIT :lim OFFSET :off"
        ),
        params,
    )
    return [_row(r) for r in rows]


def get_lead(session: Session, principal: Principal, lead_id: int) -> dict[str, Any]:
    """One lead of the caller's team (another team's: 404, as if it did not exist)."""
    may_read(principal)
    row = session.execute(text(f"SELECT {_COLS} {_FROM} WHERE i.id = :i"), {"i": lead_id}).first()
    if row is None or not ownership.owns(principal, row.owner_team):
        raise NotFound(f"未找到线索 {lead_id}")
    return _row(row)


def _lock_open(
    session: Session, principal: Principal, lead_id: int, version: int, action: str
) -> dict[str, Any]:
    may_read(principal)
    row = ownership.lock_owned(
        session,
        principal,
        "SELECT id, version, owner_team, status FROM landmatch.inquiry WHERE id = :i",
        {"i": lead_id},
        f"未找到线索 {lead_id}",
    )
    check_version(etag(lead_id, version), lead_id, row["version"], what="线索", action=action)
    if row["status"] != "new":
        raise Conflict(f"线索 {lead_id} 已处理（{STATUS[row['status']]}），不能再{action}")
    return row


def _requirement(lead: dict[str, Any]) -> Requirement:
    """A first requirement from the parcel asked about: its city (and zone), ±20 % of its area."""
    loc: dict[str, Any] = {"cities": [lead["city_code"]]}
    req: dict[str, Any] = {"location": Location(**loc)}
    mu = lead.get("parcel_area_mu")
    if mu:
        req["area_mu_min"] = round(mu * 0.8, 1)
        req["area_mu_max"] = round(mu * 1.2, 1)
    return Requirement(**req)


def convert(session: Session, principal: Principal, lead_id: int, version: int) -> int:
    """Turn an open lead into a project of its team at stage 线索 (``new``), prefilled with the
    investor, the message and contact in the notes, and a first requirement; returns its id."""
    row = _lock_open(session, principal, lead_id, version, "转为项目")
    lead = get_lead(session, principal, lead_id)
    who = lead["company"] or lead["name"]
    contact = "，".join(
        x
        for x in (
            f"联系人：{lead['name']}",
            f"电话：{lead['phone']}" if lead["phone"] else "",
            f"邮箱：{lead['email']}" if lead["email"] else "",
        )
        if x
    )
    notes = (
        f"来自公开地图的意向（线索 {lead_id}，{beijing_minute(lead['created_at'])}），"
        f"意向地块 {lead['parcel_code']}。\n{contact}\n留言：{lead['message']}"
    )
    team = row["owner_team"] if principal.role == "admin" else None
    project = project_svc.create_project(
        session,
        principal,
        project_svc.ProjectIn(
            name=f"{who}意向项目"[:200],
            investor=(lead["company"] or lead["name"])[:200],
            notes=notes[:4000],
            pipeline_status="new",
            requirement=_requirement(lead),
            team=team,
        ),
    )
    session.execute(
        text(
            "UPDATE landmatch.inquiry SET status = 'converted', project_id = :p, handled_by = :by, "
            "handled_at = now(), version = version + 1 WHERE id = :i"
        ),
        {"p": project["id"], "by": principal.actor, "i": lead_id},
    )
    return int(project["id"])


def dismiss(
    session: Session, principal: Principal, lead_id: int, version: int, note: str | None
) -> None:
    """Close an open lead without a project (spam, not a fit …), with an optional reason."""
    note = (note or "").strip() or None
    if note is not None and len(note) > 500:
        raise UnprocessableInput(
            "原因最多 500 个字", detail=[{"field": "note", "reason": "最多 500 个字"}]
        )
    _lock_open(session, principal, lead_id, version, "忽略")
    session.execute(
        text(
            "UPDATE landmatch.inquiry SET status = 'dismissed', handled_by = :by, "
            "handled_at = now(), handled_note = :n, version = version + 1 WHERE id = :i"
        ),
        {"by": principal.actor, "n": note, "i": lead_id},
    )


def assign(session: Session, principal: Principal, lead_id: int, version: int, team: str) -> None:
    """An admin gives an open lead to a team (one no coverage routed, or a re-routing)."""
    principal.require("admin")
    team = (team or "").strip()
    if team not in coverage.teams(session):
        raise UnprocessableInput(
            f"未知团队 {team[:64]}", detail=[{"field": "team", "reason": "请选择已有的招商团队"}]
        )
    _lock_open(session, principal, lead_id, version, "分派")
    session.execute(
        text("UPDATE landmatch.inquiry SET owner_team = :t, version = version + 1 WHERE id = :i"),
        {"t": team, "i": lead_id},
    )
