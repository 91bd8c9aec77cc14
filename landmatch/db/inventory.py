"""Set-based writes of parcel records: new codes are copied straight into ``parcel``, known
ones staged, classified (updated or unchanged) and updated in one statement; the triggers keep
history and derived data (migration 0010_write_path).

Used by single edits (one row) and bulk imports alike, so both follow the same rules. Also the
reads that validation needs (regions, existing codes) and version restores.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely
from sqlalchemy import Connection, text

from landmatch import vocab
from landmatch.db.bulk import CopyStream, copy_columns, ewkb_hex, object_array
from landmatch.db.constraints import overlap_m2_sql, overlaps_sql
from landmatch.db.derived import settle
from landmatch.db.tables import Parcel
from landmatch.errors import Conflict, ServiceUnavailable

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
        # Derived from the geometry (landmatch.db.membership), never written by a writer.
        "zone_id",
        "zone_share",
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
    "start_extended": False,
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


def load_counties_wkb(conn: Connection) -> list[tuple[str, str, str, bytes]]:
    """Hebei's counties: (code, name, city code, boundary WKB); a province-managed city
    (辛集, 定州) is its own city."""
    rows = conn.execute(
        text(
            "SELECT code, name, parent_code, ST_AsBinary(geom) FROM landmatch.admin_division "
            "WHERE level = 'county' ORDER BY code"
        )
    ).all()
    return [(r[0], r[1], r[0] if r[0] in vocab.CITIES else (r[2] or ""), bytes(r[3])) for r in rows]


def existing_codes(conn: Connection, codes: Sequence[str]) -> set[str]:
    return set(existing_ids(conn, codes))


def existing_ids(conn: Connection, codes: Sequence[str]) -> dict[str, int]:
    """Stored parcels (deleted ones included) by code, for the given codes."""
    rows = conn.execute(
        text("SELECT code, id FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": list(codes)}
    )
    return {r[0]: r[1] for r in rows}


def pending_codes(conn: Connection, codes: Sequence[str]) -> set[str]:
    """The given codes whose stored land use is 待定 (``vocab.LAND_USE_PENDING``)."""
    rows = conn.execute(
        text("SELECT code FROM landmatch.parcel WHERE code = ANY(:c) AND land_use = :p"),
        {"c": list(codes), "p": vocab.LAND_USE_PENDING},
    )
    return set(rows.scalars())


def stored_values(
    conn: Connection, codes: Sequence[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The stored ``fields`` (parcel columns, the measured ``area_m2`` too) of the given
    codes: code → field → value."""
    assert all(f in WRITABLE or f == "area_m2" for f in fields), fields
    if not codes or not fields:
        return {}
    rows = conn.execute(
        text(f"SELECT code, {', '.join(fields)} FROM landmatch.parcel WHERE code = ANY(:c)"),
        {"c": list(codes)},
    ).mappings()
    return {r["code"]: {f: r[f] for f in fields} for r in rows}


def overlaps_of_new(conn: Connection, import_id: int) -> list[tuple[str, str, float]]:
    """(new code, stored code, overlap m²) for each parcel the import created whose interior
    overlaps a parcel stored before it (``landmatch.db.constraints.overlaps_sql``)."""
    rows = conn.execute(
        text(
            f"SELECT n.code, e.code, {overlap_m2_sql('n.geom', 'e.geom')} "
            "FROM landmatch.parcel n JOIN landmatch.parcel e "
            f"ON e.id <> n.id AND {overlaps_sql('n.geom', 'e.geom')} "
            "WHERE n.import_id = :imp AND n.version = 1 AND e.deleted_at IS NULL "
            "AND NOT (e.import_id IS NOT DISTINCT FROM :imp AND e.version = 1) "
            "ORDER BY n.code, e.code"
        ),
        {"imp": import_id},
    ).all()
    return [(r[0], r[1], float(r[2])) for r in rows]


def changes_of_updates(
    conn: Connection, import_id: int, limit: int
) -> list[tuple[str, list[str], dict[str, Any], dict[str, Any]]]:
    """(code, changed columns, old state, new state) of up to ``limit`` parcels the import
    updated (in code order)."""
    rows = conn.execute(
        text(
            "SELECT v.code, v.changed, o.row, to_jsonb(p) - 'geom' - 'geom_3857' "
            "FROM landmatch.parcel_version v "
            "JOIN landmatch.parcel p ON p.id = v.parcel_id "
            "JOIN LATERAL (SELECT w.row FROM landmatch.parcel_version w "
            " WHERE w.parcel_id = v.parcel_id AND w.version < v.version "
            " ORDER BY w.version DESC, w.id DESC LIMIT 1) o ON true "
            "WHERE v.import_id = :imp AND v.op <> 'insert' ORDER BY v.code LIMIT :n"
        ),
        {"imp": import_id, "n": limit},
    ).all()
    return [(r[0], list(r[1]), dict(r[2] or {}), dict(r[3])) for r in rows]


def distances_m(conn: Connection, ids: Sequence[int], points: np.ndarray) -> list[float | None]:
    """How far each point (EPSG:4490) lies from its stored parcel, in metres on the ellipsoid
    (0 inside; None where the parcel is gone)."""
    if not len(ids):
        return []
    rows = conn.execute(
        text(
            "SELECT u.n, ST_Distance(p.geom::geography, ST_GeomFromWKB(u.w, 4490)::geography) "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:wkb AS bytea[])) WITH ORDINALITY "
            "AS u(id, w, n) LEFT JOIN landmatch.parcel p ON p.id = u.id ORDER BY u.n"
        ),
        {"ids": [int(i) for i in ids], "wkb": list(shapely.to_wkb(points))},
    ).all()
    return [None if r[1] is None else float(r[1]) for r in rows]


@dataclass
class WriteResult:
    actions: dict[Any, str]  # row label → created / updated / unchanged
    problems: list[dict[str, Any]] = field(default_factory=list)


class ParcelWriter:
    """Writes validated parcel records in the current transaction, batch by batch.

    Records of new codes go straight into ``parcel`` through one COPY that stays open across
    batches, so PostgreSQL inserts a batch while the caller validates the next; records of
    stored codes are kept and, at :meth:`finish`, staged, compared (updated or unchanged) and
    updated in one statement. The history and fact triggers work on those two statements
    set-wise (actor, reason and import id from :func:`landmatch.db.engine.audited`).

    Zone codes are resolved against the stored layer (read once, up front: no
    other statement can run while the COPY is open). A row with an unknown one is left out
    and reported; the caller then rolls back, as for any rejected row (the others are still
    written first, so that a rejected import reports what it would have done, as a dry run).
    """

    def __init__(
        self,
        conn: Connection,
        *,
        known: dict[str, int],
        import_id: int | None,
        actor: str,
        deferred: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.conn = conn
        self.known = known
        self.import_id = import_id
        self.actor = actor
        self.deferred = deferred
        self.progress = progress
        self.actions: dict[Any, str] = {}
        self.problems: list[dict[str, Any]] = []
        self._created: list[str] = []
        self._old: list[tuple[np.ndarray, np.ndarray, dict[str, Any], list[str]]] = []
        self._copy: CopyStream | None = None
        # These statements are simple scans whose cost estimate still crosses jit_above_cost
        # for large imports; compiling them costs more than it saves.
        conn.execute(text("SET LOCAL jit = off"))
        self.zones: dict[str, int] = {
            r[0]: r[1] for r in conn.execute(text("SELECT code, id FROM landmatch.dev_zone"))
        }

    def add(self, values: pd.DataFrame, geoms: np.ndarray, rows: np.ndarray) -> None:
        """Write (or keep for :meth:`finish`) one batch. Rows with an unknown zone code are
        left out and reported in :attr:`problems`."""
        if not len(values):
            return
        problems = self._references(values, rows)
        if problems:
            self.problems += problems
            bad = {str(p["row"]) for p in problems}
            keep = np.array([str(r) not in bad for r in rows], dtype=bool)
            values, geoms, rows = values[keep], np.asarray(geoms, dtype=object)[keep], rows[keep]
        if not len(values):
            return
        # A zone code in the file is checked against the layer, never stored: the zone a parcel
        # is in follows from its geometry when it is settled (landmatch.db.membership).
        columns: dict[str, Any] = {c: values[c].to_numpy() for c in values.columns if c in WRITABLE}
        codes = values["code"].to_numpy(dtype=object)
        geom_arr = np.asarray(geoms, dtype=object)
        labels = [str(r) for r in rows]
        old = np.fromiter((c in self.known for c in codes), dtype=bool, count=len(codes))
        if old.any():
            idx = np.flatnonzero(old)
            self._old.append(
                (
                    codes[idx],
                    geom_arr[idx],
                    {c: a[idx] for c, a in columns.items()},
                    [labels[i] for i in idx],
                )
            )
        new = np.flatnonzero(~old)
        if len(new):
            self._insert(codes[new], geom_arr[new], {c: a[new] for c, a in columns.items()})
            for i in new:
                self.actions[labels[i]] = "created"

    def finish(self) -> WriteResult:
        """End the COPY, apply the updates, settle the written parcels' spatial facts (unless
        ``deferred``: see :mod:`landmatch.db.derived`)."""
        if self._copy is not None:
            self._copy.__exit__(None, None, None)
            self._copy = None
        updated: list[int] = []
        if self._old:
            codes = np.concatenate([o[0] for o in self._old])
            geoms = np.concatenate([o[1] for o in self._old])
            columns = {c: np.concatenate([o[2][c] for o in self._old]) for c in self._old[0][2]}
            labels = [label for o in self._old for label in o[3]]
            idx = np.arange(len(codes))
            ids = np.array([self.known[c] for c in codes], dtype=np.int64)
            changed, updated = _update(
                self.conn, idx, ids, codes, geoms, columns, self.import_id, self.actor
            )
            for i, label in enumerate(labels):
                self.actions[label] = "updated" if i in changed else "unchanged"
            if self.progress:
                self.progress(len(codes))
        if not self.deferred and not self.problems:  # a rejected write is rolled back
            created = (
                list(
                    self.conn.execute(
                        text("SELECT id FROM landmatch.parcel WHERE code = ANY(:c)"),
                        {"c": self._created},
                    ).scalars()
                )
                if self._created
                else []
            )
            settle(self.conn, [*created, *updated])
        return WriteResult(actions=self.actions, problems=self.problems)

    def abort(self, exc: BaseException) -> None:
        """Cancel an open COPY after ``exc`` (the caller rolls the transaction back)."""
        if self._copy is not None:
            copy, self._copy = self._copy, None
            # Sends CopyFail; the original error is the one to report, not this one's.
            with contextlib.suppress(Exception):
                copy.__exit__(type(exc), exc, exc.__traceback__)

    def taken_meanwhile(self, exc: BaseException) -> Conflict | None:
        """After ``exc`` and the rollback of this write: when ``exc`` is the parcel-code
        uniqueness (another transaction created some of this write's new codes and committed
        first), a 409 naming those codes; else None."""
        orig = getattr(exc, "orig", exc)
        if not (
            isinstance(orig, psycopg.errors.UniqueViolation)
            and orig.diag.constraint_name == "uq_parcel_code"
        ):
            return None
        taken = sorted(existing_codes(self.conn, self._created)) if self._created else []
        shown = "、".join(taken[:20]) + (f" 等 {len(taken)} 个" if len(taken) > 20 else "")
        return Conflict(
            f"地块编号 {shown or '（未知）'} 已被同时进行的另一次导入或编辑创建；"
            "本次导入未写入任何数据，请重新导入（这些地块将按更新处理）",
            detail=[{"field": "code", "code": c, "reason": "已被同时创建"} for c in taken],
        )

    def _insert(self, codes: np.ndarray, geoms: np.ndarray, columns: dict[str, Any]) -> None:
        n = len(codes)
        out: dict[str, Any] = {
            "code": codes,
            "geom": ewkb_hex(geoms),
            "import_id": np.full(n, self.import_id, dtype=object),
            "updated_by": np.full(n, self.actor, dtype=object),
        }
        for name, arr in columns.items():
            if name in _DEFAULTS:
                fill = _DEFAULTS[name]
                arr = object_array(fill if v is None else v for v in arr.astype(object))
            out[name] = arr
        if "status" not in out:
            out["status"] = np.full(n, _DEFAULTS["status"], dtype=object)
        if self._copy is None:
            self._copy = CopyStream(self.conn, "landmatch.parcel", list(out))
        self._copy.send(out, self.progress)
        self._created.extend(codes.tolist())

    def _references(self, values: pd.DataFrame, rows: np.ndarray) -> list[dict[str, Any]]:
        """Unknown zone codes (checked against the stored layer; county codes are checked by
        landmatch.inventory.validate, with the parcel's location)."""
        problems: list[dict[str, Any]] = []
        codes = values["code"].to_numpy()
        if "zone_code" in values.columns:
            given = object_array(None if pd.isna(z) else z for z in values["zone_code"])
            for i in np.flatnonzero([z is not None and z not in self.zones for z in given]):
                problems.append(
                    {
                        "row": rows[i],
                        "code": codes[i],
                        "field": "zone_code",
                        "reason": f"未知开发区编码“{given[i]}”",
                    }
                )
        return problems


def write_parcels(
    conn: Connection,
    values: pd.DataFrame,
    geoms: np.ndarray,
    rows: np.ndarray,
    *,
    import_id: int | None,
    actor: str,
    deferred: bool = False,
) -> WriteResult:
    """Upsert validated records by code in the current transaction, in one batch (an edit);
    see :class:`ParcelWriter`. Returns each row's action, or problems (unknown zone
    codes) — in which case nothing was written."""
    known = existing_ids(conn, list(values["code"]))
    writer = ParcelWriter(conn, known=known, import_id=import_id, actor=actor, deferred=deferred)
    writer.add(values, geoms, rows)
    return writer.finish()


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


def _restored(column: str) -> str:
    """What a restore writes to ``column``: the version's value (``r``). A version stored
    before a NOT NULL column was added (0041_idle_rules: start_extended) has no value for it:
    the parcel (``p``) keeps its own, as an import that leaves a column out does."""
    return f"COALESCE(r.{column}, p.{column})" if column in _NOT_NULL else f"r.{column}"


_RESTORE_FROM = (
    "landmatch.parcel_version_full v "
    "CROSS JOIN LATERAL jsonb_populate_record(NULL::landmatch.parcel, v.row) r"
)


def restored_states(conn: Connection, version_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The state :func:`restore_versions` would write for each of the ``parcel_version`` rows,
    written nowhere (so it can be checked first): the parcel's id and code, the version, each
    writable column as it would be stored, the boundary (``wkb``) and the version's
    ``deleted_at``."""
    if not version_ids:
        return []
    rows = conn.execute(
        text(
            "SELECT p.id AS parcel_id, p.code, v.id AS version_id, v.version, "
            "r.deleted_at, ST_AsBinary(v.geom) AS wkb, "
            f"{', '.join(f'{_restored(c)} AS {c}' for c in WRITABLE)} "
            f"FROM {_RESTORE_FROM} JOIN landmatch.parcel p ON p.id = v.parcel_id "
            "WHERE v.id = ANY(:ids) ORDER BY p.id"
        ),
        {"ids": list(version_ids)},
    ).mappings()
    return [dict(r) for r in rows]


def restore_versions(conn: Connection, version_ids: Sequence[int], *, undelete: bool = True) -> int:
    """Set each parcel back to the state stored in the given ``parcel_version`` rows (as
    :func:`restored_states` reads it; the caller checks that state first)."""
    if not version_ids:
        return 0
    # The state comes back; the write is the restore's own, not the import's that first wrote
    # that state (so a rolled-back import leaves no parcel pointing at it).
    sets = [f"{c} = {_restored(c)}" for c in WRITABLE]
    sets += ["geom = v.geom", "import_id = NULL"]
    sets.append("deleted_at = NULL" if undelete else "deleted_at = r.deleted_at")
    conn.execute(text("SELECT set_config('landmatch.op', 'restore', true)"))
    try:
        res = conn.execute(
            text(
                f"UPDATE landmatch.parcel p SET {', '.join(sets)} FROM {_RESTORE_FROM} "
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
