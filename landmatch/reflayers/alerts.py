"""Alerts for the bureaus concerned when a constraint change touches ready parcels."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.where import Where
from landmatch.errors import Forbidden, NotFound

OP_ZH = {"insert": "新增", "update": "调整", "delete": "删除"}


def raise_constraint_alerts(
    conn: Connection, hits_gained: list[dict[str, Any]], ops: dict[str, str], actor: str | None
) -> list[dict[str, Any]]:
    """One alert per (constraint, city) for ready parcels that gained a hit."""
    if not hits_gained:
        return []
    ids = sorted({h["parcel_id"] for h in hits_gained})
    parcels = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            text(
                "SELECT id, code, city_code FROM landmatch.parcel WHERE id = ANY(:ids) "
                "AND status = 'ready' AND deleted_at IS NULL"
            ),
            {"ids": ids},
        ).all()
    }
    names: dict[str, str] = dict(
        conn.execute(
            text("SELECT code, name FROM landmatch.constraint_area WHERE code = ANY(:c)"),
            {"c": sorted(ops)},
        ).all()
    )
    groups: dict[tuple[str, str, str], list[int]] = {}
    for h in hits_gained:
        p = parcels.get(h["parcel_id"])
        if p is None:
            continue
        key = (h["constraint"], p[1], h["severity"])
        if h["parcel_id"] not in groups.setdefault(key, []):
            groups[key].append(h["parcel_id"])
    out = []
    for (code, city, severity), pids in sorted(groups.items()):
        op = ops.get(code, "update")
        sev = vocab.label(vocab.CONSTRAINT_SEVERITY, severity)
        msg = (
            f"{OP_ZH[op]}管控区「{names.get(code, code)}」（{sev}）涉及"
            f"{vocab.label(vocab.CITIES, city)} {len(pids)} 宗熟地，请核查"
        )
        row = conn.execute(
            text(
                "INSERT INTO landmatch.layer_alert (layer, record_code, op, city_code, parcel_ids, "
                "parcel_codes, ready_count, message, actor) VALUES ('constraint_area', :code, :op, "
                ":city, :ids, :codes, :n, :msg, :actor) RETURNING id"
            ),
            {
                "code": code,
                "op": op,
                "city": city,
                "ids": pids,
                "codes": [parcels[i][0] for i in pids],
                "n": len(pids),
                "msg": msg,
                "actor": actor,
            },
        ).scalar_one()
        out.append(
            {
                "id": row,
                "city_code": city,
                "constraint": code,
                "ready_count": len(pids),
                "message": msg,
            }
        )
    return out


def list_alerts(
    session: Session,
    principal: Principal,
    *,
    open_only: bool = False,
    city: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Alerts the caller is concerned with: a bureau its city's, admin all."""
    principal.require("admin", "bureau")
    scope = principal.city_code if principal.role == "bureau" else None
    w = Where()
    if scope != vocab.PROVINCE_CODE:
        w.given(scope, "city_code = :scope", "scope")
    w.given(city, "city_code = :city", "city")
    w.when(open_only, "acknowledged_at IS NULL")
    rows = session.execute(
        text(
            "SELECT id, layer, record_code, op, city_code, parcel_codes, ready_count, message, "
            "actor, created_at, acknowledged_at, acknowledged_by FROM landmatch.layer_alert "
            f"WHERE {w.sql} ORDER BY created_at DESC, id DESC LIMIT :limit"
        ),
        w.params | {"limit": limit},
    ).mappings()
    return [dict(r) for r in rows]


def acknowledge(session: Session, principal: Principal, alert_id: int) -> dict[str, Any]:
    principal.require("admin", "bureau")
    row = session.execute(
        text("SELECT city_code FROM landmatch.layer_alert WHERE id = :i"), {"i": alert_id}
    ).first()
    if row is None:
        raise NotFound(f"未找到提醒 {alert_id}")
    if not principal.can_edit_city(row[0]):
        raise Forbidden("该提醒不属于本账号的城市范围")
    session.execute(
        text(
            "UPDATE landmatch.layer_alert SET acknowledged_at = now(), acknowledged_by = :a "
            "WHERE id = :i"
        ),
        {"a": principal.actor, "i": alert_id},
    )
    return {"id": alert_id, "acknowledged_by": principal.actor}
