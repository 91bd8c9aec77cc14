"""The inventory at a glance for the workbench home, in the caller's scope: parcels by status,
data gone stale, deleted parcels, recent imports and changes, overdue disposal steps. Each
figure comes with the list filter behind it (``landmatch.inventory.listing``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db.parcels import ParcelFilter
from landmatch.inventory import listing
from landmatch.monitoring import cases

RECENT = 8


def _scope_sql(principal: Principal) -> tuple[str, dict[str, Any]]:
    f = listing.scoped(ParcelFilter(), principal)
    if f.city:
        return "p.city_code = :city", {"city": f.city}
    if f.zone_id is not None:
        return "p.zone_id = :zone_id", {"zone_id": f.zone_id}
    return "true", {}


def recent_changes(
    session: Session, principal: Principal, limit: int = RECENT
) -> list[dict[str, Any]]:
    """The latest edits, deletions and restores of parcels in scope (imports are listed apart),
    newest first."""
    where, params = _scope_sql(principal)
    rows = session.execute(
        text(
            "SELECT v.code, v.version, v.op, v.actor, v.reason, v.at, p.name, "
            "p.deleted_at IS NOT NULL AS deleted FROM landmatch.parcel_version v "
            "JOIN landmatch.parcel p ON p.id = v.parcel_id "
            f"WHERE v.import_id IS NULL AND v.op <> 'insert' AND {where} "
            "ORDER BY v.id DESC LIMIT :n"
        ),
        {**params, "n": limit},
    ).mappings()
    ops = {"update": "修改", "delete": "删除", "restore": "恢复", "insert": "新建"}
    return [dict(r) | {"op_label": ops.get(r["op"], r["op"])} for r in rows]


def recent_imports(session: Session, principal: Principal, limit: int = 5) -> list[dict[str, Any]]:
    """The latest imports that wrote parcels in scope."""
    where, params = _scope_sql(principal)
    rows = session.execute(
        text(
            "SELECT b.id, b.filename, b.format, b.actor, b.status, b.created_at, "
            "(b.report -> 'summary') AS summary FROM landmatch.import_batch b "
            "WHERE b.status <> 'seed' AND EXISTS (SELECT 1 FROM landmatch.parcel_version v "
            f"JOIN landmatch.parcel p ON p.id = v.parcel_id WHERE v.import_id = b.id AND {where}) "
            "ORDER BY b.id DESC LIMIT :n"
        ),
        {**params, "n": limit},
    ).mappings()
    states = {"committed": "已导入", "rolled_back": "已回滚"}
    return [dict(r) | {"status_label": states.get(r["status"], r["status"])} for r in rows]


def overdue_steps(session: Session, principal: Principal, today: dt.date) -> list[dict[str, Any]]:
    """Disposal steps past their deadline (``monitoring.cases.overdue``) in scope."""
    f = listing.scoped(ParcelFilter(), principal)
    items = cases.overdue(session, principal, today, f.city)
    if f.zone_id is not None:
        codes = set(
            session.execute(
                text("SELECT code FROM landmatch.parcel WHERE zone_id = :z AND code = ANY(:c)"),
                {"z": f.zone_id, "c": [i["parcel_code"] for i in items]},
            ).scalars()
        )
        items = [i for i in items if i["parcel_code"] in codes]
    return items


def overview(
    session: Session, principal: Principal, *, stale_days: int, today: dt.date | None = None
) -> dict[str, Any]:
    """What the home page's inventory cards show (the QA counts come apart: ``flag_counts``)."""
    today = today or beijing_today()
    statuses = listing.status_counts(session, principal)
    stale = listing.count(
        session,
        listing.scoped(ParcelFilter(age="stale", stale_days=stale_days), principal),
        principal,
    )
    unknown = listing.count(
        session,
        listing.scoped(ParcelFilter(age="unknown", stale_days=stale_days), principal),
        principal,
    )
    return {
        "statuses": statuses,
        "total": sum(s["count"] for s in statuses),
        "total_mu": sum(s["area_mu"] for s in statuses),
        "stale": stale,
        "undated": unknown,
        "stale_days": stale_days,
        "deleted": listing.deleted_count(session, principal),
        "changes": recent_changes(session, principal),
        "imports": recent_imports(session, principal),
        "overdue": overdue_steps(session, principal, today)[:RECENT],
        "scope": _scope_label(principal),
    }


def _scope_label(principal: Principal) -> str:
    city = listing.own_city(principal)
    if city:
        return vocab.CITIES[city]
    if principal.role == "zone":
        return "本开发区"
    return "全省"
