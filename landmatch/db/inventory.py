"""Set-based writes of parcel records: new codes are copied straight into ``parcel``, known
ones staged, classified (updated or unchanged) and updated in one statement; the triggers keep
history and derived data (migration 0010_write_path).

Used by single edits (one row) and bulk imports alike, so both follow the same rules. Also the
reads that validation needs (regions, existing codes) and version restores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from landmatch import vocab
from landmatch.db.bulk import copy_columns, ewkb_hex, object_array
from landmatch.db.derived import settle
from landmatch.db.tables import Parcel
from landmatch.errors import ServiceUnavailable

# Columns a write may set (everything but identity, derived values and bookkeeping).
WRITABLE: tuple[str, ...] = tuple(
    c.name
    for c in Parcel.__table__.columns
    if c.name
    not in (
        "id",
        "code",
        "geom",
        "geom_3857",
        "area_m2",
        "version",
        "created_at",
        "updated_at",
        "updated_by",
        "deleted_at",
        "import_id",
    )
)
# NOT NULL columns: an empty cell keeps (update) or takes this default (insert).
_DEFAULTS: dict[str, Any] = {
    "visibility": "internal",
    "compatible_uses": [],
    "supply_modes": [],
    "readiness": [],
    "checklist": [],
    "is_standard_land": False,
    "price_public": True,
    "gov_caused": False,
    "status": "unsupplied",
}
_NOT_NULL = {c.name for c in Parcel.__table__.columns if not c.nullable}
# Geometries closer than this (degrees, ≈ 1 mm) count as unchanged.
GEOM_TOLERANCE_DEG = 1e-8


def load_regions_wkb(conn: Connection) -> tuple[bytes, dict[str, bytes]]:
    """Hebei's boundary and each city's (incl. province-managed county-level cities), as WKB."""
    rows = conn.execute(
        text(
            "SELECT code, level, ST_AsBinary(geom) FROM landmatch.admin_division "
            "WHERE level IN ('province', 'city') OR code = ANY(:extra)"
        ),
        {"extra": [c for c in vocab.CITIES if not c.endswith("00")]},
    ).all()
    province = next((bytes(r[2]) for r in rows if r[1] == "province"), None)
    cities = {r[0]: bytes(r[2]) for r in rows if r[1] != "province"}
    if province is None or set(cities) != set(vocab.CITIES):
        raise ServiceUnavailable(
            "行政区划图层未加载（缺少河北省或其城市边界），无法核对地块位置；"
            "请先运行 landmatch seed（或 ./scripts/up）加载参考图层"
        )
    return province, cities


def existing_codes(conn: Connection, codes: Sequence[str]) -> set[str]:
    return set(existing_ids(conn, codes))


def existing_ids(conn: Connection, codes: Sequence[str]) -> dict[str, int]:
    """Stored parcels (deleted ones included) by code, for the given codes."""
    rows = conn.execute(
        text("SELECT code, id FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": list(codes)}
    )
    return {r[0]: r[1] for r in rows}


@dataclass
class WriteResult:
    actions: dict[Any, str]  # row label → created / updated / unchanged
    problems: list[dict[str, Any]] = field(default_factory=list)


def _references(
    conn: Connection, values: pd.DataFrame, rows: np.ndarray
) -> tuple[np.ndarray | None, list[dict[str, Any]]]:
    """Zone codes resolved to ids, and county codes checked, against the stored layers."""
    problems: list[dict[str, Any]] = []
    codes = values["code"].to_numpy()
    zone_ids: np.ndarray | None = None
    if "zone_code" in values.columns:
        given = np.array([None if pd.isna(z) else z for z in values["zone_code"]], dtype=object)
        wanted = sorted({z for z in given if z is not None})
        known: dict[str, int] = {
            r[0]: r[1]
            for r in conn.execute(
                text("SELECT code, id FROM landmatch.dev_zone WHERE code = ANY(:c)"), {"c": wanted}
            )
        }
        zone_ids = np.array([None if z is None else known.get(z) for z in given], dtype=object)
        for i in np.flatnonzero([z is not None and z not in known for z in given]):
            problems.append(
                {
                    "row": rows[i],
                    "code": codes[i],
                    "field": "zone_code",
                    "reason": f"未知开发区编码“{given[i]}”",
                }
            )
    if "county_code" in values.columns:
        given = np.array([None if pd.isna(c) else c for c in values["county_code"]], dtype=object)
        wanted = sorted({c for c in given if c is not None})
        known_counties = set(
            conn.execute(
                text(
                    "SELECT code FROM landmatch.admin_division "
                    "WHERE level = 'county' AND code = ANY(:c)"
                ),
                {"c": wanted},
            ).scalars()
        )
        for i in np.flatnonzero([c is not None and c not in known_counties for c in given]):
            problems.append(
                {
                    "row": rows[i],
                    "code": codes[i],
                    "field": "county_code",
                    "reason": f"未知县区代码“{given[i]}”",
                }
            )
    return zone_ids, problems


def write_parcels(
    conn: Connection,
    values: pd.DataFrame,
    geoms: np.ndarray,
    rows: np.ndarray,
    *,
    import_id: int | None,
    actor: str,
    reason: str | None,
    progress: Callable[[int], None] | None = None,
    deferred: bool = False,
) -> WriteResult:
    """Upsert validated records by code in the current transaction.

    ``values`` holds typed field values (column ``zone_code`` is resolved to ``zone_id``);
    ``geoms`` MultiPolygons in EPSG:4490 or None (keep the stored geometry). The history
    triggers record every version (actor/reason/import id from
    :func:`landmatch.db.engine.audited`). The written parcels' spatial facts are settled
    before returning, unless ``deferred`` (see :mod:`landmatch.db.derived`). Returns each
    row's action, or problems (unknown zone or county codes) — in which case nothing was
    written.
    """
    zone_ids, problems = _references(conn, values, rows)
    if problems:
        return WriteResult(actions={}, problems=problems)
    # These statements are simple scans whose cost estimate still crosses jit_above_cost for
    # large imports; compiling them costs more than it saves.
    conn.execute(text("SET LOCAL jit = off"))
    columns: dict[str, Any] = {c: values[c].to_numpy() for c in values.columns if c in WRITABLE}
    if zone_ids is not None:
        columns["zone_id"] = zone_ids
    codes = values["code"].to_numpy(dtype=object)
    geom_arr = np.asarray(geoms, dtype=object)
    known = existing_ids(conn, list(codes))
    old = np.fromiter((c in known for c in codes), dtype=bool, count=len(codes))
    labels = [str(r) for r in rows]
    actions: dict[Any, str] = {labels[i]: "created" for i in np.flatnonzero(~old)}
    updated: list[int] = []
    if old.any():
        idx = np.flatnonzero(old)
        ids = np.array([known[c] for c in codes[idx]], dtype=np.int64)
        changed, updated = _update(conn, idx, ids, codes, geom_arr, columns, import_id, actor)
        for i in idx:
            actions[labels[i]] = "updated" if i in changed else "unchanged"
        if progress:
            progress(len(idx))
    created: list[int] = []
    if (~old).any():
        created = _insert(
            conn,
            np.flatnonzero(~old),
            codes,
            geom_arr,
            columns,
            import_id,
            actor,
            progress,
            deferred,
        )
    if not deferred:
        settle(conn, [*created, *updated])
    return WriteResult(actions=actions)


def _insert(
    conn: Connection,
    idx: np.ndarray,
    codes: np.ndarray,
    geoms: np.ndarray,
    columns: dict[str, Any],
    import_id: int | None,
    actor: str,
    progress: Callable[[int], None] | None,
    deferred: bool,
) -> list[int]:
    """COPY new parcels straight into the table; their ids (unless ``deferred``, when nobody
    needs them now)."""
    out: dict[str, Any] = {
        "code": codes[idx],
        "geom": ewkb_hex(geoms[idx]),
        "import_id": np.full(len(idx), import_id, dtype=object),
        "updated_by": np.full(len(idx), actor, dtype=object),
    }
    for name, arr in columns.items():
        a = arr[idx]
        if name in _DEFAULTS:
            fill = _DEFAULTS[name]
            a = object_array(fill if v is None else v for v in a.astype(object))
        out[name] = a
    if "status" not in out:
        out["status"] = np.full(len(idx), _DEFAULTS["status"], dtype=object)
    copy_columns(conn, "landmatch.parcel", out, progress=progress)
    if deferred:
        return []
    return list(
        conn.execute(
            text("SELECT id FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": list(out["code"])}
        ).scalars()
    )


def _update(
    conn: Connection,
    idx: np.ndarray,
    ids: np.ndarray,
    codes: np.ndarray,
    geoms: np.ndarray,
    columns: dict[str, Any],
    import_id: int | None,
    actor: str,
) -> tuple[set[int], list[int]]:
    """Stage the rows of known codes, keep the ones that differ from what is stored, update
    those in one statement. Returns the changed positions (of ``idx``'s values) and ids."""
    cols = list(columns)
    conn.execute(text("DROP TABLE IF EXISTS pg_temp._stage"))
    conn.execute(
        text(
            "CREATE TEMP TABLE _stage ON COMMIT DROP AS SELECT id AS pid, geom"
            f"{''.join(', ' + c for c in cols)} FROM landmatch.parcel WITH NO DATA"
        )
    )
    conn.execute(text("ALTER TABLE _stage ADD COLUMN row_no bigint"))
    copy_columns(
        conn,
        "pg_temp._stage",
        {"row_no": idx, "pid": ids, "geom": ewkb_hex(geoms[idx])}
        | {c: columns[c][idx] for c in cols},
    )
    conn.execute(text("ANALYZE _stage"))
    same_attrs = " AND ".join(
        [
            f"COALESCE(s.{c}, p.{c}) IS NOT DISTINCT FROM p.{c}"
            if c in _NOT_NULL
            else f"s.{c} IS NOT DISTINCT FROM p.{c}"
            for c in cols
        ]
        or ["true"]
    )
    sets = [f"{c} = COALESCE(s.{c}, p.{c})" if c in _NOT_NULL else f"{c} = s.{c}" for c in cols]
    sets += [
        "geom = COALESCE(s.geom, p.geom)",
        "deleted_at = NULL",
        "import_id = :imp",
        "updated_by = :actor",
    ]
    # One statement: the history and fact triggers see every changed row at once.
    result = conn.execute(
        text(
            f"UPDATE landmatch.parcel p SET {', '.join(sets)} FROM _stage s WHERE p.id = s.pid "
            f"AND NOT (p.deleted_at IS NULL AND {same_attrs} AND (s.geom IS NULL OR "
            "ST_OrderingEquals(s.geom, p.geom) OR (ST_NPoints(s.geom) = ST_NPoints(p.geom) AND "
            f"ST_HausdorffDistance(s.geom, p.geom) < {GEOM_TOLERANCE_DEG}))) "
            "RETURNING s.row_no, p.id"
        ),
        {"imp": import_id, "actor": actor},
    ).all()
    return {int(r[0]) for r in result}, [int(r[1]) for r in result]


def restore_versions(conn: Connection, version_ids: Sequence[int], *, undelete: bool = True) -> int:
    """Set each parcel back to the state stored in the given ``parcel_version`` rows."""
    if not version_ids:
        return 0
    # The state comes back; the write is the restore's own, not the import's that first wrote
    # that state (so a rolled-back import leaves no parcel pointing at it).
    sets = [f"{c} = r.{c}" for c in WRITABLE] + ["geom = v.geom", "import_id = NULL"]
    sets.append("deleted_at = NULL" if undelete else "deleted_at = r.deleted_at")
    conn.execute(text("SELECT set_config('landmatch.op', 'restore', true)"))
    try:
        res = conn.execute(
            text(
                f"UPDATE landmatch.parcel p SET {', '.join(sets)} FROM "
                "landmatch.parcel_version_full v "
                "CROSS JOIN LATERAL jsonb_populate_record(NULL::landmatch.parcel, v.row) r "
                "WHERE v.id = ANY(:ids) AND p.id = v.parcel_id RETURNING p.id"
            ),
            {"ids": list(version_ids)},
        )
        restored = res.scalars().all()
        settle(conn, restored)
    finally:
        conn.execute(text("SELECT set_config('landmatch.op', '', true)"))
    return len(restored)


def geoms_from_wkb(values: Sequence[bytes | None]) -> np.ndarray:
    return shapely.from_wkb(np.asarray(values, dtype=object))
