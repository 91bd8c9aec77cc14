"""A reference-layer feature's history and its restore.

Every state a facility or constraint area has had is a ``layer_version`` row (the history
trigger: the whole row, its geometry as GeoJSON), found by the feature's code — a feature
deleted and imported again keeps one history. A restore brings back the state of one version
(a deleted feature's last state is its ``delete`` version) as an import of that one record
(:func:`landmatch.reflayers.changes.apply_changes`): the same checks, the city scope of the
caller decided on the locked rows, the facts refreshed, a new version with the reason. The
version the user saw travels as ``If-Match``: a feature's ``code.vN``, a deleted one's
``code.v0``; the write takes the feature's lock (the row's, or for a deleted one a lock on
its code) and refuses a stale one (412).
"""

from __future__ import annotations

from typing import Any

import shapely.geometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.locking import check_version, require_if_match
from landmatch.errors import InvalidInput, NotFound
from landmatch.reflayers import changes
from landmatch.reflayers.listing import FIELD_LABELS, KIND_LABELS
from landmatch.reflayers.report import ChangeReport
from landmatch.reflayers.scope import place_label

OPS = {"insert": "新增", "update": "修改", "delete": "删除"}


def shown(layer: str, field: str, value: Any) -> str:
    """A stored field's value in words (kinds, severities and cities by name; blank: —)."""
    if field == "kind":
        return str(vocab.label(KIND_LABELS[layer], value)) if value else "—"
    if field == "severity":
        return str(vocab.label(vocab.CONSTRAINT_SEVERITY, value)) if value else "—"
    if field == "city_code":
        return place_label(value)
    return "—" if value in (None, "") else str(value)


def _point(geom: Any) -> str | None:
    """A stored point's 经度, 纬度 (7 decimals, 1 cm); None for another shape."""
    if isinstance(geom, dict) and geom.get("type") == "Point":
        x, y = geom["coordinates"][:2]
        return f"{x:.7f}, {y:.7f}"
    return None


def _current(session: Session, layer: str, code: str, *, lock: bool = False) -> Any:
    return (
        session.execute(
            text(
                f"SELECT id, version, city_code FROM landmatch.{layer} WHERE code = :c"
                + (" FOR UPDATE" if lock else "")
            ),
            {"c": code},
        )
        .mappings()
        .first()
    )


def feature_history(
    session: Session, principal: Principal, layer: str, code: str
) -> dict[str, Any]:
    """The feature's versions, newest first, each with who, when, why and what changed (old →
    new, in words), and whether the feature is deleted now; ``version`` is the current one
    (0 when deleted), for ``If-Match``."""
    principal.require("admin", "bureau")
    changes.require_layer(layer)
    rows = (
        session.execute(
            text(
                "SELECT id, op, actor, reason, at, row FROM landmatch.layer_version "
                "WHERE layer = :l AND row ->> 'code' = :c ORDER BY at, id"
            ),
            {"l": layer, "c": code},
        )
        .mappings()
        .all()
    )
    if not rows:
        raise NotFound(f"未找到{changes.LAYERS[layer]} {code} 的历史")
    current = _current(session, layer, code)
    fields = [f for f in changes.FIELDS[layer] if f != "code"]
    versions = []
    before: dict[str, Any] | None = None
    for r in rows:
        state = dict(r["row"])
        diffs = []
        if r["op"] != "delete":
            for f in fields:
                if before is None or before.get(f) != state.get(f):
                    old = "—" if before is None else shown(layer, f, before.get(f))
                    diffs.append(
                        {
                            "field": FIELD_LABELS.get(f, f),
                            "old": old,
                            "new": shown(layer, f, state.get(f)),
                        }
                    )
            if before is not None and before.get("geom") != state.get("geom"):
                was, now = _point(before.get("geom")), _point(state.get("geom"))
                if was is None or now is None:
                    was, now = "原位置/形状", "已改变"
                diffs.append({"field": "几何", "old": was, "new": now})
        versions.append(
            {
                "id": r["id"],
                "op": r["op"],
                "op_label": OPS.get(r["op"], r["op"]),
                "actor": r["actor"],
                "reason": r["reason"],
                "at": r["at"],
                "version": state.get("version"),
                "name": state.get("name"),
                "state": {FIELD_LABELS.get(f, f): shown(layer, f, state.get(f)) for f in fields},
                "changes": diffs,
            }
        )
        before = state
    versions.reverse()
    last = dict(rows[-1]["row"])
    return {
        "layer": layer,
        "code": code,
        "name": last.get("name"),
        "deleted": current is None,
        "version": 0 if current is None else int(current["version"]),
        "city_label": place_label(
            last.get("city_code") if current is None else current["city_code"]
        ),
        "can_edit": principal.can_edit_feature(
            last.get("city_code") if current is None else current["city_code"]
        ),
        "versions": versions,
    }


def restore_version(
    session: Session,
    principal: Principal,
    layer: str,
    code: str,
    version_id: int,
    *,
    if_match: str | None,
    reason: str | None,
) -> ChangeReport:
    """Bring ``code`` back to the state of its version ``version_id`` (a deleted feature: its
    last state), against the version ``if_match`` names (``code.v0``: deleted)."""
    principal.require("admin", "bureau")
    changes.require_layer(layer)
    label = changes.LAYERS[layer]
    require_if_match(if_match, f"恢复{label}")
    if not (reason or "").strip():
        raise InvalidInput(
            "请填写恢复原因", detail=[{"field": "reason", "reason": "请填写恢复原因"}]
        )
    # The feature's lock: its row's, and for a deleted one (no row to lock) its code's.
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"layer:{layer}:{code}"}
    )
    current = _current(session, layer, code, lock=True)
    check_version(
        if_match, code, 0 if current is None else int(current["version"]), what=label, action="恢复"
    )
    found = (
        session.execute(
            text(
                "SELECT op, row FROM landmatch.layer_version "
                "WHERE id = :id AND layer = :l AND row ->> 'code' = :c"
            ),
            {"id": version_id, "l": layer, "c": code},
        )
        .mappings()
        .first()
    )
    if found is None:
        raise NotFound(f"未找到{label} {code} 的该历史版本")
    state = dict(found["row"])
    record = {f: state.get(f) for f in changes.FIELDS[layer]}
    # A province-wide feature stays province-wide (None would mean "from where it lies").
    record["city_code"] = state.get("city_code") or vocab.PROVINCE_CODE
    try:
        record["geometry"] = shapely.geometry.shape(state["geom"])
    except Exception:  # noqa: BLE001 - a history row without a readable geometry
        raise InvalidInput(f"该版本没有可用的几何，无法恢复{label} {code}") from None
    return changes.apply_changes(session, principal, layer, [record], reason=reason)


def deleted_features(
    session: Session, principal: Principal, layer: str, *, limit: int = 200
) -> list[dict[str, Any]]:
    """The layer's deleted features (their code no longer stored), the latest deletion
    first: each one's last state, who deleted it, when and why."""
    principal.require("admin", "bureau")
    changes.require_layer(layer)
    rows = session.execute(
        text(
            "SELECT DISTINCT ON (v.row ->> 'code') v.row ->> 'code' AS code, v.op, v.actor, "
            "v.reason, v.at, v.row FROM landmatch.layer_version v WHERE v.layer = :l "
            f"AND NOT EXISTS (SELECT FROM landmatch.{layer} f WHERE f.code = v.row ->> 'code') "
            "ORDER BY v.row ->> 'code', v.at DESC, v.id DESC"
        ),
        {"l": layer},
    ).mappings()
    out = [
        {
            "code": r["code"],
            "name": r["row"].get("name"),
            "kind": shown(layer, "kind", r["row"].get("kind")),
            "city": shown(layer, "city_code", r["row"].get("city_code")),
            "actor": r["actor"],
            "reason": r["reason"],
            "at": r["at"],
        }
        for r in rows
        if r["op"] == "delete"
    ]
    out.sort(key=lambda d: d["at"], reverse=True)
    return out[:limit]


def state_at(
    session: Session, principal: Principal, layer: str, code: str, version: int
) -> dict[str, Any] | None:
    """The feature's stored fields as they were at ``version`` (the form a conflict was
    opened at), from its history; None when not recorded."""
    principal.require("admin", "bureau")
    changes.require_layer(layer)
    row = session.execute(
        text(
            "SELECT row, actor, reason, at FROM landmatch.layer_version "
            "WHERE layer = :l AND row ->> 'code' = :c AND op <> 'delete' "
            "AND (row ->> 'version')::int = :v ORDER BY at DESC, id DESC LIMIT 1"
        ),
        {"l": layer, "c": code, "v": version},
    ).first()
    return None if row is None else dict(row[0])


def last_change(session: Session, layer: str, code: str) -> dict[str, Any]:
    """Who saved the feature last, when and why (the conflict screen's "saved since")."""
    row = (
        session.execute(
            text(
                "SELECT actor, reason, at FROM landmatch.layer_version "
                "WHERE layer = :l AND row ->> 'code' = :c ORDER BY at DESC, id DESC LIMIT 1"
            ),
            {"l": layer, "c": code},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else {}
