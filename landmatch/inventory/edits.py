"""Single-parcel edits with optimistic locking (ETag / If-Match), soft delete, restore and a
readable history (changed fields with old and new values, from consecutive versions).

The functions write in the caller's transaction and do not commit: the route (or the CLI)
that called them owns the transaction and commits it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.confidential import CONFIDENTIAL_FIELDS, may_read, redact
from landmatch.db.constraints import overlap_m2_sql, overlaps_sql
from landmatch.db.engine import audited
from landmatch.db.geometry import geojson_sql
from landmatch.db.inventory import (
    existing_codes,
    restore_versions,
    restored_states,
    write_parcels,
)
from landmatch.db.locking import check_version, etag, lock_row, read_row, require_if_match
from landmatch.db.parcels import get_parcel
from landmatch.errors import (
    Conflict,
    Forbidden,
    GeometryError,
    InvalidInput,
    NotFound,
    UnprocessableInput,
)
from landmatch.geo.crs import STORAGE_EPSG, parse_crs
from landmatch.geo.measure import distance_m, m2_to_mu
from landmatch.inventory.fields import BY_NAME, COLUMN_NAMES, label_of
from landmatch.inventory.imports import load_regions, require_editor, restored_problems
from landmatch.inventory.listing import zone_city
from landmatch.inventory.validate import LEASE_RULE_FIELDS, check_frame, flattened_note
from landmatch.match.holds import on_delete, on_status_change
from landmatch.numbers import mu

_HIDDEN = {"geom_3857", "updated_at", "updated_by", "version", "import_id", "area_m2", "id"}
# Fields a parcel always has: a PATCH may change them but not clear them.
REQUIRED = ("name", "status", "land_use", "visibility", "is_standard_land", "price_public")


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _require_scope(
    session: Session,
    principal: Principal,
    city: str | None,
    zone_code: str | None = None,
    zone_id: int | None = None,
) -> None:
    """Bureaus edit within their city; a zone committee only its own zone's parcels that lie
    in the zone's city (checked for the parcel as it is and, by
    :func:`_require_scope_after`, as it is written, so it cannot move one out of its zone)."""
    if principal.role != "zone":
        require_editor(principal, city)
        return
    if zone_id is None and zone_code:
        zone_id = session.execute(
            text("SELECT id FROM landmatch.dev_zone WHERE code = :c"), {"c": zone_code}
        ).scalar()
    principal.require_parcel(city or "", zone_id, zone_city(session, principal))


def _require_confidential(principal: Principal, city: str | None, props: dict[str, Any]) -> None:
    """Who may not read a parcel's confidential fields (:func:`landmatch.confidential.may_read`:
    a zone committee, a bureau of another city) may not write them either: it would set a
    reserve price it cannot see, or clear one by sending back the empty value it was shown."""
    given = [k for k in CONFIDENTIAL_FIELDS if k in props]
    if given and not may_read(principal, city):
        raise Forbidden(
            f"无权修改{'、'.join(label_of(k) for k in given)}：仅管理员和地块所在城市的国土部门可修改"
        )


def _require_confidential_restore(
    principal: Principal, cur: dict[str, Any], state: dict[str, Any], version: int
) -> None:
    """A restore is an edit: one that would change a confidential field (the version's value
    differs from the stored one) is refused to who may not write it
    (:func:`_require_confidential`), naming the fields. Refused rather than restored without
    them: a restore that quietly leaves fields out is not the version the user chose."""
    changed = [k for k in CONFIDENTIAL_FIELDS if state[k] != cur[k]]
    if changed and not (
        may_read(principal, cur["city_code"]) and may_read(principal, state["city_code"])
    ):
        labels = "、".join(label_of(k) for k in changed)
        raise Forbidden(
            f"无权恢复到版本 {version}：该版本的{labels}与当前不同，恢复会修改{labels}，"
            f"仅管理员和地块所在城市的国土部门可修改；未做任何更改，如需恢复请联系国土部门"
        )


def _require_scope_after(session: Session, principal: Principal, code: str) -> None:
    """After the write (before its commit): a zone committee's parcel is still in its zone.
    The zone follows from the boundary (landmatch.db.membership), so this is where a boundary
    moved out of the zone, or a new parcel drawn outside it, is refused."""
    if principal.role != "zone":
        return
    city, zone_id = session.execute(
        text("SELECT city_code, zone_id FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).one()
    principal.require_parcel(city, zone_id, zone_city(session, principal))


def _current(
    session: Session, code: str, *, deleted: bool | None = False, lock: bool = False
) -> dict[str, Any]:
    """The parcel's row; with ``lock``, locked until the end of the transaction (every state,
    deleted or not: a writer compares versions first, then looks at the state)."""
    cond = {False: "AND deleted_at IS NULL", True: "AND deleted_at IS NOT NULL", None: ""}[deleted]
    sql = (
        f"SELECT p.*, z.code AS zone_code, ST_AsBinary(p.geom) AS wkb FROM landmatch.parcel p "
        f"LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id WHERE p.code = :c {cond}"
    )
    missing = f"未找到地块 {code}" + ("（或已删除）" if deleted is False else "")
    if lock:
        return lock_row(session, sql + " FOR UPDATE OF p", {"c": code}, missing)
    return read_row(session, sql, {"c": code}, missing)


def _locked(
    session: Session, code: str, if_match: str | None, principal: Principal, action: str
) -> dict[str, Any]:
    """The parcel locked for a write against the version ``if_match`` names: 428 without it,
    412 when another write came first (also when that write deleted it), 403 out of scope."""
    require_if_match(if_match, f"{action}地块")
    cur = _current(session, code, deleted=None, lock=True)
    _require_scope(session, principal, cur["city_code"], zone_id=cur["zone_id"])
    check_version(if_match, code, cur["version"], what="地块", action=action)
    return cur


def _geometry(body: dict[str, Any]) -> tuple[Any, int | str]:
    g = body.get("geometry")
    if g is None:
        return None, STORAGE_EPSG
    if not isinstance(g, dict) or not isinstance(g.get("coordinates"), list):
        raise GeometryError("几何图形（geometry）应为 GeoJSON 几何对象，含 type 与 coordinates")
    try:
        geom = shapely.from_geojson(json.dumps(g))
    except Exception as exc:  # noqa: BLE001 - GEOS reader error
        raise GeometryError(
            f"几何图形（geometry）不是有效的 GeoJSON 几何：{_geos_zh(exc)}"
        ) from None
    crs = body.get("crs")
    if crs is not None and not isinstance(crs, str | int):
        raise InvalidInput("坐标系（crs）应为文本，例如 EPSG:4490")
    return geom, parse_crs(crs or STORAGE_EPSG)


def _geos_zh(exc: Exception) -> str:
    """A GEOS/GeoJSON reader error, in Chinese."""
    text = str(exc)
    if "closed linestring" in text or "LinearRing" in text:
        return "环未闭合（首尾坐标应相同）或点数不足"
    if "type" in text.lower():
        return "几何类型无法识别（应为 Polygon 或 MultiPolygon）"
    return "坐标结构不符合 GeoJSON 规范"


def _split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A GeoJSON Feature or a flat object → (properties, envelope)."""
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象（GeoJSON Feature 或字段对象）")
    if body.get("type") == "Feature":
        raw = body.get("properties")
        if raw is not None and not isinstance(raw, dict):
            raise InvalidInput("properties 应为 JSON 对象（字段名: 值）")
        props = dict(raw or {})
    else:
        props = {k: v for k, v in body.items() if k not in ("geometry", "crs", "reason", "type")}
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise InvalidInput("修改原因（reason）应为不超过 500 字的文本")
    if isinstance(reason, str) and "\x00" in reason:
        raise InvalidInput("修改原因（reason）含有空字符（NUL）")
    unknown = [k for k in props if k not in BY_NAME]
    if unknown:
        raise UnprocessableInput(
            f"不支持的字段：{'、'.join(unknown)}",
            detail=[{"field": k, "reason": "不支持的字段"} for k in unknown],
        )
    return props, body


#: Said of a refusal by the use/term rule that the edit did not touch: the stored term was
#: written before the rule (docs/domain.md §10), and QA lists such parcels.
STORED_LEASE_FAULT = (
    "（已保存的出让年限与用途不符，本次未修改：请先更正出让年限或用途，再保存其他修改；"
    "数据质量检查“出让年限超过用途最高年限”列出所有此类地块）"
)


def _stored_faults(problems: list[dict[str, Any]], given: Any) -> None:
    """Say where a refusal by the use/term rule is the stored parcel's, not the edit's: the
    edit (``given``: the fields it sets) touched neither the use nor the term."""
    if any(f in given for f in LEASE_RULE_FIELDS):
        return
    for p in problems:
        if p["field"] in LEASE_RULE_FIELDS and not p["reason"].endswith(STORED_LEASE_FAULT):
            p["reason"] += STORED_LEASE_FAULT


def _check_one(
    session: Session,
    props: dict[str, Any],
    geom: Any,
    crs: Any,
    *,
    exists: bool,
    repair: bool,
    given: Any = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """Validate one parcel (``props``: the merged state of a stored one); ``given``, for an
    edit, the fields it sets (a refusal of what it left as stored says so)."""
    frame = pd.DataFrame([props], index=[1], dtype=object)
    checked = check_frame(
        frame,
        None if geom is None else np.array([geom], dtype=object),
        crs=crs,
        regions=load_regions(session.connection()),
        existing={props["code"]} if exists else set(),
        repair_geometry=repair,
    )
    if checked.problems and given is not None:
        _stored_faults(checked.problems, given)
    if checked.problems:
        p = checked.problems[0]
        raise _refused(f"{label_of(p['field'])}：{p['reason']}", checked.problems)
    notes = (
        [{"field": "geometry", "message": flattened_note(checked.flattened)}]
        if checked.flattened
        else []
    )
    decided = [{"field": fld, "message": message} for fld, message in checked.decisions]
    return checked, notes + decided + [
        {"field": w["field"], "message": w["message"]} for w in checked.warnings
    ]


def _refused(message: str, problems: list[dict[str, Any]]) -> UnprocessableInput:
    """422 with ``message`` (the first problem's) and every problem, without the row number
    the checks give it (an edit sent to the API is no row of a file)."""
    return UnprocessableInput(
        message, detail=[{k: v for k, v in q.items() if k != "row"} for q in problems]
    )


def _write(session: Session, checked: Any, principal: Principal, reason: str | None) -> None:
    with audited(session, principal.actor, reason):
        result = write_parcels(
            session.connection(),
            checked.values,
            checked.geoms,
            checked.rows,
            import_id=None,
            actor=principal.actor,
        )
    if result.problems:
        raise _refused(result.problems[0]["reason"], result.problems)


def _answer(
    session: Session, code: str, principal: Principal, warnings: list[dict[str, Any]]
) -> tuple[dict[str, Any], str]:
    feature = get_parcel(session, code, principal)
    feature["warnings"] = warnings
    return feature, etag(code, feature["properties"]["version"])


def _notes(warnings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An edit's warnings as it answers them (``field``, ``message``; the code is the edit's)."""
    return [{"field": w["field"], "message": w["message"]} for w in warnings]


def create_parcel(
    session: Session, body: dict[str, Any], principal: Principal, *, repair: bool = False
) -> tuple[dict[str, Any], str]:
    principal.require("admin", "bureau", "zone")
    props, env = _split(body)
    _require_confidential(principal, props.get("city_code"), props)
    if not props.get("code"):
        raise UnprocessableInput("缺少地块编号", detail=[{"field": "code", "reason": "必填"}])
    zone = principal.role == "zone"  # its zone is known once written (_require_scope_after)
    if props.get("city_code") and not zone:
        _require_scope(session, principal, str(props["city_code"]))
    if existing_codes(session.connection(), [str(props["code"])]):
        raise Conflict(f"地块编号 {props['code']} 已存在（含已删除地块）；请改用 PATCH 或恢复")
    geom, crs = _geometry(env)
    checked, warnings = _check_one(session, props, geom, crs, exists=False, repair=repair)
    if not zone:
        _require_scope(session, principal, checked.values["city_code"].iloc[0])
    _write(session, checked, principal, env.get("reason") or "新建地块")
    _require_scope_after(session, principal, str(props["code"]))
    return _answer(session, str(props["code"]), principal, warnings)


def update_parcel(
    session: Session,
    code: str,
    body: dict[str, Any],
    if_match: str | None,
    principal: Principal,
    *,
    repair: bool = False,
) -> tuple[dict[str, Any], str]:
    principal.require("admin", "bureau", "zone")
    cur = _locked(session, code, if_match, principal, "修改")
    if cur["deleted_at"] is not None:
        raise NotFound(f"地块 {code} 已删除；如需修改请先恢复")
    props, env = _split(body)
    _require_confidential(principal, cur["city_code"], props)
    if "code" in props and str(props["code"]) != code:
        raise UnprocessableInput(
            "地块编号不可修改", detail=[{"field": "code", "reason": "不可修改"}]
        )
    merged = _merged(cur, props)
    geom, crs = _geometry(env)
    if geom is None:
        geom, crs = shapely.from_wkb(bytes(cur["wkb"])), STORAGE_EPSG
    checked, warnings = _check_one(
        session, merged, geom, crs, exists=True, repair=repair, given=props
    )
    _require_scope(session, principal, checked.values["city_code"].iloc[0], zone_id=cur["zone_id"])
    _only_given(checked, props, geometry=env.get("geometry") is not None)
    _write(session, checked, principal, env.get("reason") or "修改地块")
    _require_scope_after(session, principal, code)
    if "status" in checked.values:
        new = str(checked.values["status"].iloc[0])
        warnings += _notes(on_status_change(session, principal, {cur["id"]: (cur["status"], new)}))
    return _answer(session, code, principal, warnings)


def _merged(cur: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """The parcel's state with ``props`` applied (what validation sees, so cross-field rules
    see every value); required fields cannot be cleared, a cleared list means none."""
    cleared = [k for k in REQUIRED if k in props and _is_blank(props[k])]
    if cleared:
        labels = "、".join(BY_NAME[k].label for k in cleared)
        raise UnprocessableInput(
            f"{labels}是必填项，不能清空",
            detail=[{"field": k, "reason": "必填项不能清空"} for k in cleared],
        )
    for k, v in list(props.items()):
        if k in BY_NAME and BY_NAME[k].kind == "list" and _is_blank(v):
            props[k] = []  # clearing a list means: none
    merged = {k: cur.get(k) for k in COLUMN_NAMES if k in cur}
    merged["zone_code"] = cur.get("zone_code")
    merged.update(props)
    merged["code"] = cur["code"]
    return merged


def _only_given(checked: Any, props: dict[str, Any], *, geometry: bool) -> None:
    """Write only the fields the caller gave (and the geometry if given): the rest of the
    validated state is what is stored already."""
    keep = ["code", *[k for k in props if k != "code"]]
    if "declared_area_m2" not in keep and "declared_area_m2" in checked.values:
        checked.values = checked.values.drop(columns=["declared_area_m2"])
    checked.values = checked.values[[c for c in checked.values.columns if c in keep]]
    if not geometry:
        checked.geoms = np.full(len(checked.values), None, dtype=object)


# What a bulk action on a selection may set (the list's publish / unpublish / status change).
BULK_FIELDS = ("visibility", "status")


def bulk_update(
    session: Session,
    items: list[tuple[str, str | None]],
    props: dict[str, Any],
    principal: Principal,
    reason: str | None,
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Set the same ``props`` on many parcels, each named with the ETag it was seen at
    (``(code, if_match)``): in one transaction, every parcel locked, its scope and version
    checked inside the write, the merged states validated by the same code as a single edit,
    then written in one statement (each changed parcel gets its own version). Any refusal
    (out of scope, stale, deleted, invalid) writes nothing. Returns each code's new ETag and
    the write's warnings (a held parcel's status changed: ``landmatch.match.holds``)."""
    principal.require("admin", "bureau", "zone")
    if not items:
        raise UnprocessableInput("未选择地块", detail=[{"field": "codes", "reason": "未选择地块"}])
    unknown = [k for k in props if k not in BULK_FIELDS]
    if unknown or not props:
        raise UnprocessableInput(f"批量操作只能修改：{'、'.join(label_of(k) for k in BULK_FIELDS)}")
    if not reason or not reason.strip():
        raise UnprocessableInput(
            "批量操作须填写原因", detail=[{"field": "reason", "reason": "必填"}]
        )
    codes = [c for c, _ in items]
    if len(set(codes)) != len(codes):
        raise UnprocessableInput("所选地块有重复")
    for _, tag in items:
        require_if_match(tag, "批量修改地块")
    rows = {
        r["code"]: dict(r)
        for r in session.execute(
            text(
                "SELECT p.*, z.code AS zone_code, ST_AsBinary(p.geom) AS wkb FROM landmatch.parcel p "
                "LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id WHERE p.code = ANY(:c) "
                "ORDER BY p.id FOR UPDATE OF p"
            ),
            {"c": codes},
        ).mappings()
    }
    missing = [c for c in codes if c not in rows]
    if missing:
        raise NotFound(f"未找到地块 {'、'.join(missing[:20])}")
    for code, tag in items:
        cur = rows[code]
        _require_scope(session, principal, cur["city_code"], zone_id=cur["zone_id"])
        check_version(tag, code, cur["version"], what="地块", action="修改")
        if cur["deleted_at"] is not None:
            raise NotFound(f"地块 {code} 已删除；如需修改请先恢复")
    merged = [_merged(rows[c], dict(props)) for c in codes]
    frame = pd.DataFrame(merged, index=range(1, len(codes) + 1), dtype=object)
    geoms = shapely.from_wkb(np.array([bytes(rows[c]["wkb"]) for c in codes], dtype=object))
    checked = check_frame(
        frame,
        geoms,
        crs=STORAGE_EPSG,
        regions=load_regions(session.connection()),
        existing=set(codes),
    )
    _stored_faults(checked.problems, props)
    if checked.problems:
        p = checked.problems[0]
        raise _refused(
            f"地块 {p.get('code')}：{label_of(p['field'])}：{p['reason']}", checked.problems
        )
    for city, zone in zip(checked.values["city_code"], frame["zone_code"], strict=True):
        _require_scope(session, principal, city, zone)
    _only_given(checked, props, geometry=False)
    _write(session, checked, principal, reason.strip())
    warnings: list[dict[str, Any]] = []
    if "status" in checked.values:
        new = checked.values["status"]
        moved = {
            rows[c]["id"]: (rows[c]["status"], str(s)) for c, s in zip(codes, new, strict=True)
        }
        warnings = _notes(on_status_change(session, principal, moved))
    versions = session.execute(
        text("SELECT code, version FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": codes}
    ).all()
    return {c: etag(c, v) for c, v in versions}, warnings


def delete_parcel(
    session: Session,
    code: str,
    if_match: str | None,
    principal: Principal,
    reason: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """Soft delete: the parcel disappears from listings and can be restored (against the
    returned ETag, the deleted version's; the history shows it too). A hold on it ends, said
    on its project's timeline and in the returned warnings."""
    principal.require("admin", "bureau", "zone")
    cur = _locked(session, code, if_match, principal, "删除")
    if cur["deleted_at"] is not None:
        raise NotFound(f"地块 {code} 已删除")
    with audited(session, principal.actor, reason or "删除地块"):
        version = session.execute(
            text(
                "UPDATE landmatch.parcel SET deleted_at = now() WHERE code = :c RETURNING version"
            ),
            {"c": code},
        ).scalar_one()
        ended = _notes(on_delete(session, principal, cur["id"]))
    return etag(code, version), ended


def restore_parcel(
    session: Session,
    code: str,
    version: int | None,
    if_match: str | None,
    principal: Principal,
    reason: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Undelete a parcel, or bring back the state of one of its versions (undeleted)."""
    principal.require("admin", "bureau", "zone")
    cur = _locked(session, code, if_match, principal, "恢复")
    if version is None:
        if cur["deleted_at"] is None:
            raise Conflict(f"地块 {code} 未被删除；如需回到某一版本请指定 version")
        with audited(session, principal.actor, reason or "恢复已删除地块"):
            session.execute(
                text("UPDATE landmatch.parcel SET deleted_at = NULL WHERE code = :c"), {"c": code}
            )
    else:
        vid = session.execute(
            text(
                "SELECT id, row ->> 'city_code', (row ->> 'zone_id')::int FROM "
                "landmatch.parcel_version_full WHERE parcel_id = :p "
                "AND version = :v ORDER BY id DESC LIMIT 1"
            ),
            {"p": cur["id"], "v": version},
        ).first()
        if vid is None:
            raise NotFound(f"地块 {code} 没有版本 {version}")
        _require_scope(session, principal, vid[1], zone_id=vid[2])
        state = restored_states(session.connection(), [vid[0]])[0]
        _require_confidential_restore(principal, cur, state, version)
        problems = restored_problems(session.connection(), [state])
        if problems:
            p = problems[0]
            raise UnprocessableInput(
                f"不能恢复到版本 {version}：该版本的{p['label']}不符合现行校验规则"
                f"（{p['reason']}），未做任何更改",
                detail=[{k: q[k] for k in ("code", "field", "reason")} for q in problems],
            )
        with audited(session, principal.actor, reason or f"恢复到版本 {version}"):
            restore_versions(session.connection(), [vid[0]], undelete=True)
        _require_scope_after(session, principal, code)
        now = session.execute(
            text("SELECT status FROM landmatch.parcel WHERE id = :i"), {"i": cur["id"]}
        ).scalar_one()
        moved = {cur["id"]: (cur["status"], now)}
        return _answer(
            session, code, principal, _notes(on_status_change(session, principal, moved))
        )
    return _answer(session, code, principal, [])


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return v


def _shape(r: Any) -> dict[str, Any]:
    return {
        "area_m2": round(r["area"], 2),
        "area_mu": round(m2_to_mu(r["area"]), 4),
        "vertices": r["points"],
        "centroid": [round(r["cx"], 7), round(r["cy"], 7)],
    }


def _geometry_change(prev: Any, cur: Any) -> dict[str, Any]:
    """What a geometry change did: area, vertex count and centroid before and after, how far
    the centroid moved (m, on the ellipsoid), in one sentence too."""
    old, new = _shape(prev), _shape(cur)
    moved = distance_m((prev["cx"], prev["cy"]), (cur["cx"], cur["cy"]))
    d_area = new["area_m2"] - old["area_m2"]
    summary = (
        f"中心点移动 {moved:.2f} 米，面积变化 {d_area:+,.2f} 平方米"
        f"（{'-' if d_area < 0 else '+'}{mu(abs(m2_to_mu(d_area)))} 亩）"
    )
    if new["vertices"] != old["vertices"]:
        summary += f"，界址点数 {old['vertices']} → {new['vertices']}"
    return {
        "field": "geom",
        "label": "几何图形",
        "old": old,
        "new": new,
        "moved_m": round(moved, 3),
        "summary": summary,
    }


def _with_history(session: Session, code: str, principal: Principal) -> dict[str, Any]:
    """The parcel (deleted or not) whose versions a staff caller reads."""
    principal.require("admin", "bureau", "zone", "promoter")
    return _current(session, code, deleted=None)


def history(session: Session, code: str, principal: Principal) -> dict[str, Any]:
    """Every version, newest first, with who, when, why and the changed fields (old → new)."""
    cur = _with_history(session, code, principal)
    rows = (
        session.execute(
            text(
                "SELECT id, version, op, row, changed, actor, reason, import_id, at, "
                "ST_Area(geom::geography, true) AS area, ST_NPoints(geom) AS points, "
                "ST_X(ST_Centroid(geom)) AS cx, ST_Y(ST_Centroid(geom)) AS cy "
                "FROM landmatch.parcel_version_full "
                "WHERE parcel_id = :p ORDER BY version, id"
            ),
            {"p": cur["id"]},
        )
        .mappings()
        .all()
    )
    out = []
    prev: Any = None
    prev_row: dict[str, Any] = {}
    for r in rows:
        # What the caller may not read is left out of every state, so a change to it is too.
        row = redact(principal, r["row"], cur["city_code"])
        changes = []
        if prev is not None:
            keys = list(r["changed"]) or sorted(
                k for k in set(row) | set(prev_row) if row.get(k) != prev_row.get(k)
            )
            for k in keys:
                if k in _HIDDEN:
                    continue
                if k == "geom":
                    changes.append(_geometry_change(prev, r))
                    continue
                if k in row and row.get(k) == prev_row.get(k):
                    continue
                f = BY_NAME.get(k)
                label = f.label if f else {"deleted_at": "删除时间", "zone_id": "开发区"}.get(k, k)
                changes.append(
                    {"field": k, "label": label, "old": prev_row.get(k), "new": row.get(k)}
                )
        out.append(
            {
                "version": r["version"],
                "op": r["op"],
                "actor": r["actor"],
                "reason": r["reason"],
                "import_id": r["import_id"],
                "at": _jsonable(r["at"]),
                "changes": changes,
            }
        )
        prev, prev_row = r, row
    out.reverse()
    return {
        "code": code,
        "current_version": cur["version"],
        "deleted": cur["deleted_at"] is not None,
        "city": vocab.CITIES.get(cur["city_code"]),
        "versions": out,
    }


def version_state(
    session: Session, code: str, version: int | None, principal: Principal
) -> dict[str, Any]:
    """One version of a parcel (the current one when ``version`` is None, deleted or not): its
    stored fields (``row``), the geometry as GeoJSON, and who wrote it, when and why."""
    cur = _with_history(session, code, principal)
    row = read_row(
        session,
        "SELECT v.version, v.op, v.row, v.actor, v.reason, v.import_id, v.at, "
        f"{geojson_sql('v.geom', 8, options=0)} AS geometry FROM landmatch.parcel_version_full v "
        "WHERE v.parcel_id = :p AND v.version = :v ORDER BY v.id DESC LIMIT 1",
        {"p": cur["id"], "v": version if version is not None else cur["version"]},
        f"地块 {code} 没有版本 {version}",
    )
    out = dict(row)
    out["geometry"] = json.loads(row["geometry"]) if row["geometry"] else None
    out["row"] = redact(principal, row["row"], cur["city_code"]) | {
        "zone_code": cur.get("zone_code")
    }
    out["city_code"] = cur["city_code"]
    out["zone_id"] = cur["zone_id"]
    out["current_version"] = cur["version"]
    out["deleted"] = cur["deleted_at"] is not None
    return out


def geometry_versions(
    session: Session, code: str, principal: Principal, limit: int = 20
) -> list[dict[str, Any]]:
    """The parcel's boundary changes, newest first (up to ``limit``): each version whose
    geometry differs from the one before, with both geometries as GeoJSON (EPSG:4490)."""
    cur = _with_history(session, code, principal)
    rows = session.execute(
        text(
            "WITH v AS (SELECT version, actor, at, geom, lag(geom) OVER (ORDER BY version, id) "
            "AS prev FROM landmatch.parcel_version_full WHERE parcel_id = :p) "
            f"SELECT version, actor, at, {geojson_sql('prev', 8, options=0)} AS before, "
            f"{geojson_sql('geom', 8, options=0)} AS after FROM v WHERE prev IS NOT NULL "
            "AND NOT ST_OrderingEquals(prev, geom) ORDER BY version DESC LIMIT :n"
        ),
        {"p": cur["id"], "n": limit},
    ).mappings()
    return [
        {
            "version": r["version"],
            "actor": r["actor"],
            "at": _jsonable(r["at"]),
            "before": json.loads(r["before"]),
            "after": json.loads(r["after"]),
        }
        for r in rows
    ]


def preview_boundary(
    session: Session, code: str | None, geometry: Any, principal: Principal
) -> dict[str, Any]:
    """What saving ``geometry`` (EPSG:4490) as the boundary of parcel ``code`` (None: a new
    parcel) would do, writing nothing: the problems validation finds (the same checks as a
    save), the area on the ellipsoid (what would be stored), and the live parcels it would
    overlap (the QA overlap rule), each with the overlap."""
    principal.require("admin", "bureau", "zone")
    props: dict[str, Any] = {"code": code or "NEW-PREVIEW"}
    if code is not None:
        cur = _current(session, code)
        _require_scope(session, principal, cur["city_code"], zone_id=cur["zone_id"])
        props = _merged(cur, {})
    else:
        props |= {"name": "预览", "land_use": "100102"}
    frame = pd.DataFrame([props], index=[1], dtype=object)
    checked = check_frame(
        frame,
        np.array([geometry], dtype=object),
        crs=STORAGE_EPSG,
        regions=load_regions(session.connection()),
        existing={code} if code else set(),
    )
    problems = [
        {"field": p["field"], "label": label_of(p["field"]), "reason": p["reason"]}
        for p in checked.problems
    ]
    out: dict[str, Any] = {"problems": problems, "warnings": checked.warnings, "overlaps": []}
    if problems:
        return out
    wkb = shapely.to_wkb(checked.geoms[0])
    g = "ST_GeomFromWKB(:w, 4490)"
    overlap = f"ST_Intersection(p.geom, {g})"
    area = session.execute(text(f"SELECT ST_Area({g}::geography, true)"), {"w": wkb}).scalar_one()
    rows = session.execute(
        text(
            f"SELECT p.code, p.name, round({overlap_m2_sql('p.geom', g)}::numeric, 1) AS m2, "
            f"{geojson_sql(overlap, 8, options=0)} AS overlap FROM landmatch.parcel p "
            f"WHERE p.deleted_at IS NULL AND p.code IS DISTINCT FROM :c "
            f"AND {overlaps_sql('p.geom', g)} ORDER BY m2 DESC LIMIT 50"
        ),
        {"w": wkb, "c": code},
    ).mappings()
    out["overlaps"] = [
        {
            "code": r["code"],
            "name": r["name"],
            "overlap_m2": float(r["m2"]),
            "geometry": json.loads(r["overlap"]),
        }
        for r in rows
    ]
    out["area_m2"] = float(area)
    out["area_mu"] = m2_to_mu(float(area))
    out["area_ha"] = float(area) / 10_000
    out["geometry"] = json.loads(shapely.to_geojson(checked.geoms[0]))
    out["city_code"] = checked.values["city_code"].iloc[0]
    return out
