"""Stored match runs: how a run's response is kept, read back and, past the retention period,
deleted.

A run's body is the response exactly as returned, zlib-compressed (RFC 1950) by the
application: about 14 times smaller than the JSON and 40 % smaller than PostgreSQL's own
compression, for about 2 ms of the worker's CPU instead of the database's. Bodies written before
migration 0034 are plain JSON (``compressed`` false), the oldest ones jsonb in ``response``.

Retention (``Settings.match_run_retention_days``): a run older than that is deleted unless it
was made for a project (the project's history and proposals cite it) or an inquiry names it.

A run is replayed as its sites are now (:func:`as_seen_now`): the public never gets a parcel
that is no longer public ready land, and staff see which sites changed since.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.db.parcels import PUBLIC_WHERE
from landmatch.match.requirements import Requirement
from landmatch.viewer import Viewer

ZLIB_LEVEL = 6  # measured on 20-site runs: level 6 is 17 KB in 2 ms, level 1 30 KB in 1 ms


def pack(body: bytes) -> bytes:
    return zlib.compress(body, ZLIB_LEVEL)


def unpack(stored: bytes, compressed: bool) -> bytes:
    return zlib.decompress(stored) if compressed else stored


#: The name every assembly (组合地块) carries in a run.
ASSEMBLY_NAME = "组合地块"


def current_shape(run: dict[str, Any]) -> dict[str, Any]:
    """A stored run in the shape the pages read. Runs stored before every site carried its
    ``members`` and ``name`` (the typed contracts of issue #19) lack them: a parcel's members are
    its own code, an assembly is named :data:`ASSEMBLY_NAME`. Current runs pass unchanged."""
    for feature in run.get("features") or ():
        props = feature.get("properties") or {}
        if "members" not in props and props.get("code"):
            props["members"] = [props["code"]]
        if props.get("kind") == "assembly":
            props.setdefault("name", ASSEMBLY_NAME)
    return run


def withdrawn_note(count: int) -> str:
    """What the public reads where parcels it was shown are left out because they are no longer
    public ready land (a replayed run, a proposal, its printed table)."""
    return f"另有 {count} 宗地块目前不再公开供应，未列出。"


#: ``current_status`` of a member deleted since the run.
DELETED = "deleted"


def _members_now(session: Session, codes: list[str]) -> dict[str, tuple[str, bool]]:
    """Each code's parcel now: its status (:data:`DELETED` once deleted) and whether the public
    may see it (``PUBLIC_WHERE``, the one rule the cards and proposals read); a code with no
    parcel is absent."""
    rows = session.execute(
        text(
            "SELECT p.code, CASE WHEN p.deleted_at IS NULL THEN p.status ELSE :deleted END, "
            f"({PUBLIC_WHERE}) FROM landmatch.parcel p WHERE p.code = ANY(:codes)"
        ),
        {"codes": codes, "deleted": DELETED},
    ).all()
    return {r[0]: (r[1], bool(r[2])) for r in rows}


def as_seen_now(session: Session, run: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """A stored run (in :func:`current_shape`) as ``viewer`` may see it now.

    The public: a site (a parcel, or an assembly) with a member that is no longer public ready
    land (made internal, supplied, withdrawn, deleted) is left out, and so is such a near miss;
    ``withdrawn`` counts those parcels and the run's warnings say so (:func:`withdrawn_note`).
    Staff see every site; one whose members' status changed since (or that were deleted) carries
    ``current_status`` (code → status now) and a warning naming it. Returns ``run`` itself when
    nothing changed."""
    sites = [f for f in run.get("features") or () if (f.get("properties") or {}).get("members")]
    near = (run.get("why_not") or {}).get("near_misses") or []
    codes = sorted(
        {c for f in sites for c in f["properties"]["members"]} | {n["code"] for n in near}
    )
    if not codes:
        return run
    now = _members_now(session, codes)
    if viewer.is_public:
        gone = {c for c in codes if not now.get(c, (DELETED, False))[1]}
        if not gone:
            return run
        kept = [f for f in run["features"] if not gone & set(f["properties"].get("members", ()))]
        ranked = {c for f in sites for c in f["properties"]["members"]} & gone
        out = dict(run)
        out["features"] = kept
        out["numberReturned"] = sum(1 for f in kept if f["properties"].get("kind") != "assembly")
        out["assemblies"] = sum(1 for f in kept if f["properties"].get("kind") == "assembly")
        if run.get("why_not"):
            out["why_not"] = run["why_not"] | {
                "near_misses": [n for n in near if n["code"] not in gone]
            }
        out["withdrawn"] = len(ranked)
        if ranked:
            out["warnings"] = [*(run.get("warnings") or []), withdrawn_note(len(ranked))]
        return out
    # The statuses the match ranked (an assembly's members: any of them).
    considered = set(Requirement.model_construct(**(run.get("requirement") or {})).statuses)
    changed_any = False
    features = []
    for f in run.get("features") or ():
        props = f.get("properties") or {}
        was = {c: props.get("status") for c in props.get("members") or ()}
        if props.get("kind") == "assembly":  # an assembly keeps one status for its members
            was = {c: None for c in was}
        changed = {}
        for code in was:
            status = now.get(code, (DELETED, False))[0]
            expected = {was[code]} if was[code] else considered
            if status not in expected:
                changed[code] = status
        if not changed:
            features.append(f)
            continue
        changed_any = True
        notes = [
            f"地块 {c} 匹配后已删除"
            if s == DELETED
            else f"地块 {c} 现状已变为{vocab.label(vocab.PARCEL_STATUS, s)}"
            for c, s in changed.items()
        ]
        features.append(
            f
            | {
                "properties": props
                | {"current_status": changed, "warnings": [*(props.get("warnings") or []), *notes]}
            }
        )
    return run | {"features": features} if changed_any else run


def store(
    session: Session,
    *,
    match_id: str,
    project_id: int | None,
    request: dict[str, Any],
    body: bytes,
    returned: int,
    actor: str | None,
    owner_team: str | None,
    public: bool,
    data_version: int,
) -> None:
    session.execute(
        text(
            "INSERT INTO landmatch.match_run (id, project_id, request, body, compressed, "
            "returned, actor, owner_team, public, data_version) VALUES (:id, :pid, "
            "CAST(:req AS jsonb), :body, true, :n, :actor, :team, :pub, :dv)"
        ),
        {
            "id": match_id,
            "pid": project_id,
            "req": orjson.dumps(request).decode(),
            "body": pack(body),
            "n": returned,
            "actor": actor,
            "team": owner_team,
            "pub": public,
            "dv": data_version,
        },
    )


# What ``unpack`` needs of a row, and the oldest runs' jsonb.
BODY_COLUMNS = "body, compressed, response"


def prune(
    conn: Connection | Session, retention_days: int, *, now: dt.datetime | None = None
) -> int:
    """Delete runs older than ``retention_days`` that no project and no inquiry refers to;
    0 days keeps every run. Returns how many were deleted."""
    if retention_days <= 0:
        return 0
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=retention_days)
    result = conn.execute(
        text(
            "DELETE FROM landmatch.match_run r WHERE r.project_id IS NULL "
            "AND r.created_at < :cutoff "
            "AND NOT EXISTS (SELECT 1 FROM landmatch.inquiry i WHERE i.match_id = r.id) "
            "AND NOT EXISTS (SELECT 1 FROM landmatch.proposal p WHERE p.match_id = r.id)"
        ),
        {"cutoff": cutoff},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
