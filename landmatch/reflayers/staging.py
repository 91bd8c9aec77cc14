"""A reference-layer file previewed before it is imported (the workbench's upload).

The file, once through the guarded upload path, is read and its import run as a dry run — the
import's own :func:`~landmatch.reflayers.changes.plan_changes` and
:func:`~landmatch.reflayers.changes.write_plan` inside a savepoint that is rolled back — so the
preview says exactly what the import would add, change and delete (per kind, the first rows,
each change old → new), what it would do to the parcels' facts, and which kinds a 替换 would
delete that the file does not hold (a file of substations alone would delete every other
facility of the city: that needs its own confirmation). The upload is kept
(``layer_upload``, migration 0047) with the plan's fingerprint; confirming imports the kept
file against it, so an import whose plan differs from the preview (the layer changed
meanwhile) is refused (412) and the user previews again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.db.locking import lock_row, read_row
from landmatch.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from landmatch.reflayers import changes
from landmatch.reflayers.history import shown
from landmatch.reflayers.listing import FIELD_LABELS
from landmatch.reflayers.report import ChangeReport

#: The rows of each kind of write a preview shows.
PREVIEW_ROWS = 20
#: How long a previewed upload is kept.
KEEP = "interval '7 days'"
OPS = {"insert": "新增", "update": "修改", "delete": "删除"}


def _covers(options: dict[str, Any]) -> changes.Covers | None:
    cover = options.get("covers")
    if not cover:
        return None
    as_of = cover.get("as_of")
    return changes.Covers(
        tuple(cover["cities"]),
        dt.date.fromisoformat(as_of) if as_of else None,
        cover.get("source"),
    )


def _options(
    crs: str | None, replace: bool, reason: str | None, covers: changes.Covers | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"crs": crs, "replace": replace, "reason": reason}
    if covers is not None:
        out["covers"] = {
            "cities": list(covers.cities),
            "as_of": covers.as_of.isoformat() if covers.as_of else None,
            "source": covers.source,
        }
    return out


def _row(layer: str, op: str, r: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    rec = old if op == "delete" else r
    assert rec is not None
    out: dict[str, Any] = {
        "code": r["code"],
        "name": rec.get("name"),
        "kind": shown(layer, "kind", rec.get("kind")),
        "city": shown(layer, "city_code", rec.get("city_code")),
        "changes": [],
    }
    if op == "update" and old is not None:
        for f in changes.FIELDS[layer]:
            if f != "code" and old.get(f) != r.get(f):
                out["changes"].append(
                    {
                        "field": FIELD_LABELS.get(f, f),
                        "old": shown(layer, f, old.get(f)),
                        "new": shown(layer, f, r.get(f)),
                    }
                )
        if not shapely.equals_exact(shapely.from_wkb(bytes(old["wkb"])), r["geom"], 1e-9):
            out["changes"].append({"field": "几何", "old": "原位置/形状", "new": "已改变"})
    return out


def _summary(plan: changes.Plan, report: ChangeReport, replace: bool) -> dict[str, Any]:
    """The preview of ``plan`` (JSON): per kind the records added, changed, deleted and
    unchanged; the first rows of each write; the kinds a replace deletes that the file has
    none of; the dry run's change report."""
    layer = plan.layer
    per_kind: dict[str, Counter[str]] = {}
    written = {r["code"] for op, r, _ in plan.writes if op != "delete"}
    for op, r, old in plan.writes:
        kind = (old if op == "delete" else r)["kind"]  # type: ignore[index]
        per_kind.setdefault(kind, Counter())[op] += 1
    for r in plan.cleaned:
        if r["code"] not in written:
            per_kind.setdefault(r["kind"], Counter())["unchanged"] += 1
    in_file = {r["kind"] for r in plan.cleaned}
    rows: dict[str, list[dict[str, Any]]] = {op: [] for op in OPS}
    totals = Counter(op for op, _, _ in plan.writes)
    for op, r, old in plan.writes:
        if len(rows[op]) < PREVIEW_ROWS:
            rows[op].append(_row(layer, op, r, old))
    kinds = [
        {
            "kind": k,
            "label": shown(layer, "kind", k),
            "in_file": k in in_file,
            **{op: n[op] for op in (*OPS, "unchanged")},
        }
        for k, n in sorted(per_kind.items())
    ]
    return {
        "layer": layer,
        "replace": replace,
        "kinds": kinds,
        "rows": rows,
        "totals": {op: totals[op] for op in OPS} | {"unchanged": report.unchanged},
        "other_kinds": [k for k in kinds if k["delete"] and not k["in_file"]],
        "report": report.to_dict(),
    }


def _dry_run(
    session: Session, principal: Principal, layer: str, data: bytes, filename: str, options: dict
) -> tuple[dict[str, Any], str]:
    """The preview and the plan's fingerprint of importing ``data`` with ``options``: the
    import itself, rolled back (:func:`landmatch.reflayers.changes.dry_run_changes`)."""
    rows, covers = changes.read_file(layer, data, filename, options.get("crs"), _covers(options))
    reason = options.get("reason")
    plan, report = changes.dry_run_changes(
        session,
        principal,
        layer,
        rows,
        replace=bool(options.get("replace")),
        reason=reason,
        covers=covers,
    )
    return _summary(plan, report, bool(options.get("replace"))), plan.fingerprint()


def preview_upload(
    session: Session,
    principal: Principal,
    layer: str,
    data: bytes,
    filename: str,
    *,
    crs: str | None = None,
    replace: bool = False,
    reason: str | None = None,
    covers: changes.Covers | None = None,
) -> int:
    """Keep the upload with the preview of its import (nothing else is written); its id.
    A file the import would refuse is refused here, with the import's own errors."""
    principal.require("admin", "bureau")
    changes.require_layer(layer)
    options = _options(crs, replace, reason, covers)
    preview, fingerprint = _dry_run(session, principal, layer, data, filename, options)
    session.execute(text(f"DELETE FROM landmatch.layer_upload WHERE created_at < now() - {KEEP}"))
    return int(
        session.execute(
            text(
                "INSERT INTO landmatch.layer_upload (layer, actor, filename, data, options, "
                "preview, fingerprint) VALUES (:l, :a, :f, :d, CAST(:o AS jsonb), "
                "CAST(:p AS jsonb), :fp) RETURNING id"
            ),
            {
                "l": layer,
                "a": principal.actor,
                "f": filename,
                "d": data,
                "o": json.dumps(options, ensure_ascii=False),
                "p": json.dumps(preview, ensure_ascii=False, default=str),
                "fp": fingerprint,
            },
        ).scalar_one()
    )


_COLUMNS = (
    "id, layer, actor, filename, options, preview, fingerprint, report, created_at, applied_at"
)


#: An upload another account made answers as an unknown one does.
_NOT_FOUND = "未找到该上传的预览（预览保留 7 天，且只对上传者可见）"


def _upload(
    session: Session, principal: Principal, upload_id: int, *, lock: bool = False
) -> dict[str, Any]:
    """A kept upload, the uploader's own (another account gets 404, as for an unknown id);
    with ``lock``, locked for its import and with its file."""
    principal.require("admin", "bureau")
    row = (lock_row if lock else read_row)(
        session,
        f"SELECT {_COLUMNS}{', data' if lock else ''} FROM landmatch.layer_upload WHERE id = :id",
        {"id": upload_id},
        _NOT_FOUND,
    )
    if row["actor"] != principal.actor:
        raise NotFound(_NOT_FOUND)
    return row


def get_upload(session: Session, principal: Principal, upload_id: int) -> dict[str, Any]:
    """A kept upload with its preview (the uploader's own)."""
    return _upload(session, principal, upload_id)


def _locked(session: Session, principal: Principal, upload_id: int) -> dict[str, Any]:
    row = _upload(session, principal, upload_id, lock=True)
    if row["applied_at"] is not None or row["data"] is None:
        raise Conflict(f"文件 {row['filename']} 已经导入，不能再次确认")
    return row


def preview_again(session: Session, principal: Principal, upload_id: int) -> None:
    """The kept upload previewed again on the layer as it is now (after a refused confirm)."""
    row = _locked(session, principal, upload_id)
    preview, fingerprint = _dry_run(
        session, principal, row["layer"], bytes(row["data"]), row["filename"], row["options"]
    )
    session.execute(
        text(
            "UPDATE landmatch.layer_upload SET preview = CAST(:p AS jsonb), fingerprint = :fp "
            "WHERE id = :id"
        ),
        {
            "id": upload_id,
            "p": json.dumps(preview, ensure_ascii=False, default=str),
            "fp": fingerprint,
        },
    )


def apply_upload(
    session: Session,
    principal: Principal,
    upload_id: int,
    fingerprint: str,
    *,
    confirm_other_kinds: bool = False,
) -> ChangeReport:
    """Import the kept upload as previewed: ``fingerprint`` is the preview's the user saw,
    and the import is refused (412) unless its plan — decided on the layer's locked rows — is
    still that one. A replace that deletes kinds the file does not hold needs
    ``confirm_other_kinds``."""
    row = _locked(session, principal, upload_id)
    if fingerprint != row["fingerprint"]:
        raise PreconditionFailed(
            "预览已更新，请核对新的预览后再确认",
            detail=[{"field": "preview", "reason": "预览已过期"}],
        )
    others = row["preview"].get("other_kinds") or []
    if others and not confirm_other_kinds:
        listed = "、".join(f"{k['label']} {k['delete']} 个" for k in others)
        raise InvalidInput(
            f"替换将删除文件中没有的类型：{listed}；确需删除请勾选确认",
            detail=[{"field": "confirm_other_kinds", "reason": f"将删除{listed}，请勾选确认"}],
        )
    options = row["options"]
    rows, covers = changes.read_file(
        row["layer"], bytes(row["data"]), row["filename"], options.get("crs"), _covers(options)
    )
    report = changes.apply_changes(
        session,
        principal,
        row["layer"],
        rows,
        replace=bool(options.get("replace")),
        reason=options.get("reason"),
        covers=covers,
        expect=row["fingerprint"],
        other_kinds=confirm_other_kinds,
    )
    session.execute(
        text(
            "UPDATE landmatch.layer_upload SET applied_at = now(), data = NULL, "
            "report = CAST(:r AS jsonb) WHERE id = :id"
        ),
        {"id": upload_id, "r": json.dumps(report.to_dict(), ensure_ascii=False, default=str)},
    )
    return report
