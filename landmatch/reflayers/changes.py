"""Import and update facilities and constraint areas with history, then refresh the facts of
the parcels the change touches (and only those) and report what moved.

History comes from the ``layer_version`` trigger (actor/reason via ``audited``); the
``data_state`` counters the tile cache keys on are bumped by triggers too, so the next tile and
the next match see the change without a restart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import shapely
import shapely.geometry
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.engine import audited
from landmatch.db.geometry import geojson_sql
from landmatch.db.locking import check_version, lock_row, read_row, require_if_match
from landmatch.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    UnprocessableInput,
)
from landmatch.publication import require_published
from landmatch.reflayers import coverage, facts, scope
from landmatch.reflayers.alerts import raise_constraint_alerts
from landmatch.reflayers.files import point_for_storage, polygon_for_storage, read_features, records
from landmatch.reflayers.report import ChangeReport, describe

LAYERS = {"facility": "设施", "constraint_area": "管控区"}
CODE_RE = re.compile(f"^{vocab.CODE_PATTERN}$")
DEFAULT_SEVERITY = vocab.CONSTRAINT_DEFAULT_SEVERITY
FIELDS = {
    "facility": ("code", "name", "kind", "city_code", "source"),
    "constraint_area": ("code", "name", "kind", "severity", "city_code", "source"),
}
#: Each layer's kinds, code → label.
KIND_LABELS = {"facility": vocab.FACILITY_KINDS, "constraint_area": vocab.CONSTRAINT_KINDS}


def require_layer(layer: str) -> str:
    """The layer's label; a layer that is not one of :data:`LAYERS` is 404."""
    if layer not in LAYERS:
        raise NotFound(f"未知图层 {layer}")
    return LAYERS[layer]


def _code_of(value: str, vocabulary: dict[str, str], field_name: str, row: int) -> str:
    if value in vocabulary:
        return value
    for code, label in vocabulary.items():
        if value == label:
            return code
    raise UnprocessableInput(
        f"第 {row + 1} 个要素：{field_name} 取值 {value!r} 无效；可选 {', '.join(vocabulary)}",
        detail=[{"row": row + 1, "field": field_name, "reason": "取值不在允许范围内"}],
    )


def _clean(layer: str, rec: dict[str, Any], row: int) -> dict[str, Any]:
    def bad(field_name: str, reason: str) -> UnprocessableInput:
        return UnprocessableInput(
            f"第 {row + 1} 个要素：{field_name} {reason}",
            detail=[{"row": row + 1, "field": field_name, "reason": reason}],
        )

    code = str(rec.get("code") or "").strip()
    if not CODE_RE.match(code):
        raise bad("code", f"缺失或格式不正确（{vocab.CODE_RULE}）")
    name = str(rec.get("name") or "").strip()
    if not name:
        raise bad("name", "缺少名称")
    if not rec.get("kind"):
        raise bad("kind", "缺少类型")
    out: dict[str, Any] = {"code": code, "name": name, "source": rec.get("source")}
    city = rec.get("city_code")
    city = None if city in (None, "") else str(city).strip()
    if city is not None and city not in vocab.CITIES and city != vocab.PROVINCE_CODE:
        raise bad("city_code", vocab.unknown_city(city))
    out["city_code"] = city  # settled by scope.assign
    if layer == "facility":
        out["kind"] = _code_of(str(rec["kind"]), vocab.FACILITY_KINDS, "kind", row)
        out["geom"] = point_for_storage(rec["geometry"], row)
    else:
        out["kind"] = _code_of(str(rec["kind"]), vocab.CONSTRAINT_KINDS, "kind", row)
        sev = rec.get("severity") or DEFAULT_SEVERITY[out["kind"]]
        out["severity"] = _code_of(str(sev), vocab.CONSTRAINT_SEVERITY, "severity", row)
        out["geom"], out["warnings"] = polygon_for_storage(rec["geometry"], row)
    return out


def _existing(
    conn: Connection, layer: str, codes: list[str], *, replacing: Principal | None = None
) -> dict[str, dict[str, Any]]:
    """The stored records of ``codes`` (with ``replacing``, also every record that caller's
    replace may delete), locked ``FOR UPDATE`` in id order until the end of the transaction.

    The scope check (:func:`landmatch.reflayers.scope.assign`) and the write are decided on these
    locked rows: a concurrent change of one of them (an admin making it province-wide) either
    committed before — and is read here — or waits for this write. A bureau's replace locks the
    records of its city (a superset of what :meth:`Principal.can_edit_feature`, applied after,
    lets it delete); an admin's, every record. Id order keeps two writers from deadlocking."""
    cols = [c for c in FIELDS[layer] if c != "code"]
    everywhere = replacing is not None and replacing.role == "admin"
    own = replacing.city_code if replacing is not None and replacing.role == "bureau" else None
    rows = conn.execute(
        text(
            f"SELECT id, code, {', '.join(cols)}, version, ST_AsBinary(geom) AS wkb "
            f"FROM landmatch.{layer} "
            "WHERE code = ANY(:codes) OR :everywhere OR city_code = :own ORDER BY id FOR UPDATE"
        ),
        {"codes": codes, "everywhere": everywhere, "own": own},
    ).mappings()
    return {r["code"]: dict(r) for r in rows}


def _same(layer: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    for c in FIELDS[layer]:
        if c != "code" and old.get(c) != new.get(c):
            return False
    return shapely.equals_exact(shapely.from_wkb(bytes(old["wkb"])), new["geom"], 1e-9)


def _affected(
    conn: Connection,
    layer: str,
    kind: str,
    code: str,
    old: bytes | None,
    new: bytes | None,
    old_kind: str | None = None,
) -> set[int]:
    if layer == "facility":
        ids = facts.parcels_near_facility(
            conn, kind, None if old_kind not in (None, kind) else old, new
        )
        if old_kind not in (None, kind) and old is not None:
            ids |= facts.parcels_near_facility(conn, old_kind, old, None)  # type: ignore[arg-type]
        return ids
    return facts.parcels_in_area(conn, [old, new], hit_code=code)


@dataclass(frozen=True)
class Covers:
    """With a constraint-layer import: the cities the file's data is complete for, for every
    kind in the file (a declaration, see :mod:`landmatch.reflayers.coverage`)."""

    cities: tuple[str, ...]
    as_of: dt.date | None
    source: str | None = None


@dataclass
class Plan:
    """What a write of a layer would do, decided on the locked rows (:func:`plan_changes`):
    each write as ``(op, record, stored record or None)``, the parcels whose facts it moves."""

    layer: str
    cleaned: list[dict[str, Any]]
    writes: list[tuple[str, dict[str, Any], dict[str, Any] | None]]
    affected: set[int]
    report: ChangeReport
    cover_plan: Any = None

    def fingerprint(self) -> str:
        """The plan's identity: each write with the version of the stored record it changes.
        A preview (``landmatch.reflayers.staging``) is confirmed against it, so a write whose
        plan differs from the one the user saw (the layer changed meanwhile) is refused."""
        ops = sorted(
            (op, r["code"], None if old is None else int(old["version"]))
            for op, r, old in self.writes
        )
        covers = sorted(self.report.coverage.items()) if self.report.coverage else []
        blob = json.dumps([self.layer, ops, covers], ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def other_kinds(self) -> dict[str, int]:
        """The kinds a replace deletes that the file holds none of, with how many of each: a
        file of substations alone would delete every other facility."""
        in_file = {r.get("kind") for r in self.cleaned}
        out: dict[str, int] = {}
        for op, _, old in self.writes:
            if op == "delete" and old is not None and old.get("kind") not in in_file:
                out[str(old.get("kind"))] = out.get(str(old.get("kind")), 0) + 1
        return dict(sorted(out.items()))


def plan_changes(
    session: Session,
    principal: Principal,
    layer: str,
    rows: list[dict[str, Any]],
    *,
    replace: bool = False,
    covers: Covers | None = None,
) -> Plan:
    """Check ``rows`` and decide each write on the stored records, locked (see
    :func:`apply_changes`); nothing is written."""
    principal.require("admin", "bureau")
    require_layer(layer)
    if covers is not None and layer != "constraint_area":
        raise InvalidInput("只有管控区图层可以声明覆盖范围（covers）")
    report = ChangeReport(layer=layer)
    cleaned = [_clean(layer, r, i) for i, r in enumerate(rows)]
    seen: set[str] = set()
    for i, r in enumerate(cleaned):
        if r["code"] in seen:
            raise UnprocessableInput(
                f"第 {i + 1} 个要素：编码 {r['code']} 在文件中重复",
                detail=[{"row": i + 1, "field": "code", "reason": "重复"}],
            )
        seen.add(r["code"])
        report.warnings += r.pop("warnings", [])
    conn = session.connection()
    existing = _existing(conn, layer, sorted(seen), replacing=principal if replace else None)
    scope.assign(conn, principal, layer, cleaned, existing)
    writes: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    affected: set[int] = set()
    for r in cleaned:
        old = existing.get(r["code"])
        new_wkb = shapely.to_wkb(r["geom"])
        if old is None:
            writes.append(("insert", r, None))
            affected |= _affected(conn, layer, r["kind"], r["code"], None, new_wkb)
        elif _same(layer, old, r):
            report.unchanged += 1
        else:
            writes.append(("update", r, old))
            affected |= _affected(
                conn, layer, r["kind"], r["code"], bytes(old["wkb"]), new_wkb, old_kind=old["kind"]
            )
    if replace:
        for code, old in existing.items():
            if code not in seen and principal.can_edit_feature(old["city_code"]):
                writes.append(("delete", {"code": code}, old))
                affected |= _affected(conn, layer, old["kind"], code, bytes(old["wkb"]), None)
    cover_plan = None
    if covers is not None:
        kinds = sorted({r["kind"] for r in cleaned})
        if not kinds:
            raise InvalidInput("文件中没有管控区要素，无法声明覆盖范围")
        cover_plan = coverage.plan(
            conn,
            principal,
            kinds,
            covers.cities,
            source=covers.source or "管控区图层导入",
            as_of=covers.as_of,
        )
        report.coverage = coverage.summary(cover_plan)
        report.warnings += cover_plan.warnings
    return Plan(layer, cleaned, writes, affected, report, cover_plan)


def write_plan(
    session: Session, principal: Principal, plan: Plan, reason: str | None = None
) -> ChangeReport:
    """Carry out ``plan`` (from :func:`plan_changes`, in the same transaction) with history,
    refresh the facts it moves, and report."""
    layer, report, writes, affected = plan.layer, plan.report, plan.writes, set(plan.affected)
    cover_plan = plan.cover_plan
    if not writes and (cover_plan is None or cover_plan.empty):
        return report
    conn = session.connection()
    with audited(session, principal.actor, reason or f"{LAYERS[layer]}图层导入"):
        for op, r, old in writes:
            _write(conn, layer, op, r, old)
            getattr(
                report, {"insert": "inserted", "update": "updated", "delete": "deleted"}[op]
            ).append(r["code"])
        if cover_plan is not None:
            affected |= coverage.write(conn, cover_plan)
        # Writing records and declarations changes no fact: this is still the old state.
        before = facts.snapshot(conn, sorted(affected))
        report.refreshed_by = facts.refresh(conn, sorted(affected))
    describe(conn, report, sorted(affected), before)
    if layer == "constraint_area":
        ops = {r["code"]: op for op, r, _ in writes}
        report.alerts = raise_constraint_alerts(conn, report.hits_gained, ops, principal.actor)
    return report


def _plan(
    session: Session,
    principal: Principal,
    layer: str,
    rows: list[dict[str, Any]],
    replace: bool,
    reason: str | None,
    covers: Covers | None,
) -> Plan:
    """:func:`plan_changes` of a write: a coverage declaration that names no source cites
    the write's reason."""
    if covers is not None and not covers.source and reason:
        covers = dataclasses.replace(covers, source=reason)
    return plan_changes(session, principal, layer, rows, replace=replace, covers=covers)


def dry_run_changes(
    session: Session,
    principal: Principal,
    layer: str,
    rows: list[dict[str, Any]],
    *,
    replace: bool = False,
    reason: str | None = None,
    covers: Covers | None = None,
) -> tuple[Plan, ChangeReport]:
    """The plan and the change report of :func:`apply_changes` with these arguments, the
    write itself run in a savepoint and rolled back: nothing stays written."""
    savepoint = session.begin_nested()
    try:
        plan = _plan(session, principal, layer, rows, replace, reason, covers)
        report = write_plan(session, principal, plan, reason)
    finally:
        savepoint.rollback()
    return plan, report


def apply_changes(
    session: Session,
    principal: Principal,
    layer: str,
    rows: list[dict[str, Any]],
    *,
    replace: bool = False,
    reason: str | None = None,
    covers: Covers | None = None,
    expect: str | None = None,
    other_kinds: bool = False,
) -> ChangeReport:
    """Upsert ``rows`` (attribute dicts with ``geometry`` in EPSG:4490) into ``layer`` by code;
    with ``replace``, records absent from ``rows`` are deleted — those within the caller's
    scope only (``landmatch.reflayers.scope``: a bureau writes its own city's features). With
    ``covers`` (constraint areas only), the importer also declares the file's kinds complete
    for those cities. With ``expect`` (a previewed plan's :meth:`Plan.fingerprint`), the write
    is refused (412) unless it is still the plan that was previewed. A replace that would
    delete kinds the file holds none of is refused (409, naming them) unless ``other_kinds``
    says so. All or nothing."""
    plan = _plan(session, principal, layer, rows, replace, reason, covers)
    if expect is not None and plan.fingerprint() != expect:
        raise PreconditionFailed(
            f"预览之后{LAYERS[layer]}图层已有变化（他人修改或导入），本次导入将与预览不同；"
            "请重新预览后再确认",
            detail=[{"field": "preview", "reason": "预览已过期"}],
        )
    others = plan.other_kinds()
    if others and not other_kinds:
        labels = KIND_LABELS[layer]
        listed = "、".join(f"{vocab.label(labels, k)} {n} 个" for k, n in others.items())
        raise Conflict(
            f"替换将删除文件中没有的类型：{listed}；确需删除请确认（other_kinds）",
            detail=[{"field": "other_kinds", "reason": f"将删除{listed}"}],
        )
    return write_plan(session, principal, plan, reason)


def _write(
    conn: Connection, layer: str, op: str, r: dict[str, Any], old: dict[str, Any] | None
) -> None:
    if op == "delete":
        conn.execute(text(f"DELETE FROM landmatch.{layer} WHERE code = :c"), {"c": r["code"]})
        return
    cols = [c for c in FIELDS[layer]]
    params = {c: r.get(c) for c in cols} | {"g": shapely.to_wkb(r["geom"])}
    geom_sql = (
        "ST_GeomFromWKB(:g, 4490)" if layer == "facility" else "ST_Multi(ST_GeomFromWKB(:g, 4490))"
    )
    if op == "insert":
        conn.execute(
            text(
                f"INSERT INTO landmatch.{layer} ({', '.join(cols)}, geom) "
                f"VALUES ({', '.join(':' + c for c in cols)}, {geom_sql})"
            ),
            params,
        )
    else:
        sets = ", ".join(f"{c} = :{c}" for c in cols if c != "code")
        conn.execute(
            text(
                f"UPDATE landmatch.{layer} SET {sets}, geom = {geom_sql}, version = version + 1, "
                f"updated_at = now() WHERE code = :code"
            ),
            params,
        )


def read_file(
    layer: str, data: bytes, filename: str, crs: str | None, covers: Covers | None
) -> tuple[list[dict[str, Any]], Covers | None]:
    """A layer file's records (``layer``'s fields) and ``covers`` for them: a declaration
    that names no source cites the file."""
    rows = records(read_features(data, filename, crs), FIELDS[layer])
    if covers is not None and not covers.source:
        covers = dataclasses.replace(covers, source=filename)
    return rows, covers


def import_file(
    session: Session,
    principal: Principal,
    layer: str,
    data: bytes,
    filename: str,
    *,
    crs: str | None = None,
    replace: bool = False,
    reason: str | None = None,
    covers: Covers | None = None,
    dry_run: bool = False,
    other_kinds: bool = False,
) -> ChangeReport:
    """Read a layer file and apply it (see :func:`apply_changes`, ``other_kinds`` too); with
    ``dry_run``, report what it would do and write nothing (:func:`dry_run_changes`)."""
    principal.require("admin", "bureau")
    require_layer(layer)
    rows, covers = read_file(layer, data, filename, crs, covers)
    if dry_run:
        return dry_run_changes(
            session, principal, layer, rows, replace=replace, reason=reason, covers=covers
        )[1]
    return apply_changes(
        session,
        principal,
        layer,
        rows,
        replace=replace,
        reason=reason,
        covers=covers,
        other_kinds=other_kinds,
    )


def _locked(
    session: Session, layer: str, code: str, if_match: str | None, action: str
) -> dict[str, Any]:
    """The record locked for a write against the version ``if_match`` names (428, 412)."""
    require_layer(layer)
    require_if_match(if_match, f"{action}{LAYERS[layer]}")
    row = lock_row(
        session,
        f"SELECT id, version FROM landmatch.{layer} WHERE code = :c",
        {"c": code},
        f"未找到{LAYERS[layer]} {code}",
    )
    check_version(if_match, code, row["version"], what=LAYERS[layer], action=action)
    return row


def update_record(
    session: Session,
    principal: Principal,
    layer: str,
    code: str,
    changes: dict[str, Any],
    *,
    if_match: str | None,
    reason: str | None = None,
) -> ChangeReport:
    """Change one record's attributes or geometry (GeoJSON, EPSG:4490), checked and applied
    like an import of that one record (:func:`apply_changes`), against the version
    ``if_match`` names."""
    principal.require("admin", "bureau")
    _locked(session, layer, code, if_match, "修改")
    unknown = sorted(set(changes) - (set(FIELDS[layer]) - {"code"} | {"geometry"}))
    if unknown:
        raise UnprocessableInput(
            f"不支持修改的字段：{'、'.join(unknown)}",
            detail=[{"field": k, "reason": "不支持修改"} for k in unknown],
        )
    current = _existing(session.connection(), layer, [code])[code]
    record = {k: current.get(k) for k in FIELDS[layer]} | {"code": code} | changes
    if changes.get("geometry") is None:
        record["geometry"] = shapely.from_wkb(bytes(current["wkb"]))
    else:
        record["geometry"] = shape_of(changes["geometry"])
    return apply_changes(
        session, principal, layer, [record], reason=reason or f"修改{LAYERS[layer]}"
    )


def shape_of(geojson: Any) -> Any:
    """A GeoJSON geometry sent by a caller as a shapely geometry (422 when unreadable)."""
    try:
        return shapely.geometry.shape(geojson)
    except Exception:  # noqa: BLE001 - any parse failure is the caller's input
        raise UnprocessableInput(
            "geometry 不是有效的 GeoJSON 几何",
            detail=[{"field": "geometry", "reason": "无法解析"}],
        ) from None


def create_record(
    session: Session,
    principal: Principal,
    layer: str,
    record: dict[str, Any],
    *,
    reason: str | None = None,
) -> ChangeReport:
    """Add one record (attributes and a shapely ``geometry``, EPSG:4490), checked and applied
    like an import of that one record (:func:`apply_changes`): never over a stored record of
    the same code, nor over a deleted one's (its history is restored instead). The code's
    lock (as a restore takes it) keeps two creates of one code apart."""
    principal.require("admin", "bureau")
    require_layer(layer)
    code = str(record.get("code") or "").strip()
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"layer:{layer}:{code}"}
    )
    if _existing(session.connection(), layer, [code]):
        raise Conflict(
            f"编码 {code} 的{LAYERS[layer]}已存在",
            detail=[{"field": "code", "reason": "该编码已存在，请换一个或修改已有要素"}],
        )
    deleted = session.execute(
        text(
            "SELECT 1 FROM landmatch.layer_version WHERE layer = :l AND row ->> 'code' = :c LIMIT 1"
        ),
        {"l": layer, "c": code},
    ).first()
    if deleted is not None:
        raise Conflict(
            f"编码 {code} 的{LAYERS[layer]}曾被删除；请在“已删除要素”中恢复，或换一个编码",
            detail=[{"field": "code", "reason": "该编码曾被删除，可在已删除要素中恢复"}],
        )
    return apply_changes(
        session,
        principal,
        layer,
        [record | {"code": code}],
        reason=reason or f"新增{LAYERS[layer]}",
    )


def delete_record(
    session: Session,
    principal: Principal,
    layer: str,
    code: str,
    reason: str | None = None,
    *,
    if_match: str | None,
) -> ChangeReport:
    principal.require("admin", "bureau")
    _locked(session, layer, code, if_match, "删除")
    conn = session.connection()
    old = _existing(conn, layer, [code]).get(code)
    if old is None:
        raise NotFound(f"未找到{LAYERS[layer]} {code}")
    scope.require(principal, LAYERS[layer], code, old["city_code"])
    report = ChangeReport(layer=layer)
    ids = sorted(_affected(conn, layer, old["kind"], code, bytes(old["wkb"]), None))
    before = facts.snapshot(conn, ids)
    with audited(session, principal.actor, reason or f"删除{LAYERS[layer]}"):
        _write(conn, layer, "delete", {"code": code}, old)
        report.refreshed_by = facts.refresh(conn, ids)
    report.deleted.append(code)
    describe(conn, report, ids, before)
    return report


def get_record(session: Session, principal: Principal, layer: str, code: str) -> dict[str, Any]:
    """One record (staff), with its ``version`` for ``If-Match``."""
    principal.require("admin", "bureau", "zone", "promoter")
    require_layer(layer)
    row = read_row(
        session,
        f"{_RECORD_SQL.format(cols=', '.join(FIELDS[layer]), layer=layer)} WHERE code = :c",
        {"c": code},
        f"未找到{LAYERS[layer]} {code}",
    )
    return _record(row)


_RECORD_SQL = (
    "SELECT {cols}, version, updated_at, "
    + geojson_sql("geom", 7)
    + " AS geometry FROM landmatch.{layer}"
)


def _record(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["geometry"] = json.loads(d["geometry"])
    return d


def list_records(session: Session, principal: Principal, layer: str) -> list[dict[str, Any]]:
    require_layer(layer)
    require_published(principal, layer)
    cols = [c for c in FIELDS[layer]]
    rows = session.execute(
        text(
            f"SELECT {', '.join(cols)}, version, updated_at, {geojson_sql('geom', 6)} AS geometry "
            f"FROM landmatch.{layer} ORDER BY code"
        )
    ).mappings()
    return [_record(r) for r in rows]  # the geometry as an object, as get_record sends it
