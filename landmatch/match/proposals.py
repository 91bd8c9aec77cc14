"""选址建议书 (proposals for an investor): chosen sites of a project's match run behind a signed,
expiring public link. The page behind the link shows the public parcel card of each site
(``landmatch.inventory.cards.parcel_card`` as the public sees it: public fields only, public ready land
only) and their comparison; each opening is recorded for the team.

The link is ``/p/{id}.{expiry}.{signature}``: the signature is an HMAC of the id and the expiry
with the server's secret, so the link cannot be altered or extended; it grants nothing but this
page (no sign-in, no API). The team may revoke it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import PUBLIC, Principal
from landmatch.errors import InvalidInput, LandMatchError, NotFound
from landmatch.geo.measure import M2_PER_HA, M2_PER_MU
from landmatch.inventory.cards import parcel_card
from landmatch.match import compare, ownership, pipeline, runs
from landmatch.match.engine import get_run
from landmatch.numbers import ha, mu, num

GONE = "链接无效或已过期，请联系招商团队重新获取"


def _sig(secret: str, pid: str, exp: int) -> str:
    mac = hmac.new(secret.encode(), f"proposal:{pid}:{exp}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def link(secret: str, pid: str, expires_at: dt.datetime) -> str:
    exp = int(expires_at.timestamp())
    return f"/p/{pid}.{exp}.{_sig(secret, pid, exp)}"


def create(
    session: Session,
    principal: Principal,
    match_id: str,
    codes: list[str],
    *,
    days: int,
    secret: str,
) -> dict[str, Any]:
    """A proposal of 1–5 parcel results of a project's run, for the project's team."""
    run = get_run(session, match_id, principal)
    pid = (run.get("requirement") or {}).get("project_id")
    if not pid:
        raise InvalidInput("这次匹配不属于任何项目，不能生成建议书；请从项目页发起匹配")
    project = pipeline.project(session, principal, int(pid))
    pipeline.may_write(principal, project)
    sites = compare.pick(run, codes)
    expires_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days)
    prop_id = str(uuid.uuid4())
    session.execute(
        text(
            "INSERT INTO landmatch.proposal (id, project_id, match_id, parcel_codes, title, "
            "owner_team, created_by, expires_at) VALUES (:id, :p, :m, :c, :t, :team, :by, :exp)"
        ),
        {
            "id": prop_id,
            "p": project["id"],
            "m": match_id,
            "c": [s["code"] for s in sites],
            "t": f"{project['name']} 选址建议书",
            "team": project.get("owner_team"),
            "by": principal.actor,
            "exp": expires_at,
        },
    )
    return {"id": prop_id, "url": link(secret, prop_id, expires_at), "expires_at": expires_at}


def for_project(
    session: Session, principal: Principal, project_id: int, secret: str
) -> list[dict[str, Any]]:
    """The project's proposals with their links and when they were opened (the team's view)."""
    pipeline.project(session, principal, project_id)
    out = []
    for r in session.execute(
        text(
            "SELECT p.id, p.title, p.parcel_codes, p.created_at, p.created_by, p.expires_at, "
            "p.revoked_at, count(o.id) AS opens, max(o.at) AS last_open FROM landmatch.proposal p "
            "LEFT JOIN landmatch.proposal_open o ON o.proposal_id = p.id WHERE p.project_id = :p "
            "GROUP BY p.id ORDER BY p.created_at DESC"
        ),
        {"p": project_id},
    ):
        d = dict(r._mapping)
        d["url"] = link(secret, d["id"], d["expires_at"])
        d["expired"] = d["expires_at"] <= dt.datetime.now(dt.UTC)
        out.append(d)
    return out


def revoke(session: Session, principal: Principal, proposal_id: str) -> int:
    """End a link now (the owning team or an admin, under the row lock); the project's id."""
    row = ownership.lock_owned(
        session,
        principal,
        "SELECT id, project_id, owner_team FROM landmatch.proposal WHERE id = :id",
        {"id": proposal_id},
        "未找到建议书",
    )
    session.execute(
        text(
            "UPDATE landmatch.proposal SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL"
        ),
        {"id": proposal_id},
    )
    return int(row["project_id"])


def open_public(
    session: Session, token: str, *, secret: str, stale_after_days: int, user_agent: str | None
) -> dict[str, Any]:
    """The proposal behind a link, as the public sees it; the opening is recorded. A link
    altered, expired or revoked: 404 with one message (nothing tells them apart)."""
    try:
        pid, exp_s, sig = token.split(".")
        exp = int(exp_s)
        uuid.UUID(pid)
    except ValueError:
        raise NotFound(GONE) from None
    if not hmac.compare_digest(_sig(secret, pid, exp), sig):
        raise NotFound(GONE)
    now = dt.datetime.now(dt.UTC)
    row = session.execute(
        text(
            "SELECT id, title, parcel_codes, expires_at, revoked_at, created_at "
            "FROM landmatch.proposal WHERE id = :id"
        ),
        {"id": pid},
    ).first()
    if (
        row is None
        or row.revoked_at is not None
        or row.expires_at <= now
        or int(row.expires_at.timestamp()) != exp
    ):
        raise NotFound(GONE)
    session.execute(
        text("INSERT INTO landmatch.proposal_open (proposal_id, user_agent) VALUES (:p, :ua)"),
        {"p": pid, "ua": (user_agent or "")[:300] or None},
    )
    cards, withdrawn = [], []
    for code in row.parcel_codes:
        try:
            cards.append(parcel_card(session, code, PUBLIC, stale_after_days=stale_after_days))
        except LandMatchError:
            withdrawn.append(code)  # no longer public ready land: not shown
    return {
        "title": row.title,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "cards": cards,
        "withdrawn": len(withdrawn),
        "withdrawn_note": runs.withdrawn_note(len(withdrawn)) if withdrawn else None,
        "rows": public_rows(cards),
    }


def public_rows(cards: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """The comparison of the proposal's sites from their public cards only."""

    def area(c: dict[str, Any]) -> str:
        m2 = c["parcel"].get("area_m2") or 0
        return f"{mu(m2 / M2_PER_MU)} 亩（{ha(m2 / M2_PER_HA)} 公顷）"

    def price(c: dict[str, Any]) -> str:
        v = c["parcel"].get("ref_price_wan_per_mu")
        return f"{num(v)} 万元/亩" if v is not None else "面议"

    def util(c: dict[str, Any], col: str, unit: str) -> str:
        v = c["parcel"].get(col)
        when = c["parcel"].get(col.split("_")[0] + "_as_of")
        return (
            f"{num(v, 0)} {unit}" + (f"（{when} 核实）" if when else "") if v is not None else "—"
        )

    return [
        ("地块", [f"{c['parcel'].get('name') or ''} {c['parcel']['code']}".strip() for c in cards]),
        ("城市", [c["parcel"].get("city_name") or "—" for c in cards]),
        ("开发区", [(c.get("zone") or {}).get("name") or "—" for c in cards]),
        ("用途", [c["labels"]["land_use"] or "—" for c in cards]),
        ("面积", [area(c) for c in cards]),
        ("参考地价", [price(c) for c in cards]),
        ("供地方式", ["、".join(c["labels"]["supply_modes"]) or "—" for c in cards]),
        ("供电", [util(c, "power_kva", "kVA") for c in cards]),
        ("供水", [util(c, "water_m3d", "m³/日") for c in cards]),
        ("七通一平", ["、".join(c["labels"]["readiness"]) or "—" for c in cards]),
    ]
