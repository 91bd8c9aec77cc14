"""Set-based writes of parcel records: stage with COPY, classify, upsert, write history.

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
from landmatch.db.bulk import psycopg_connection
from landmatch.db.derived import settle
from landmatch.db.tables import Parcel

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
# NOT NULL columns: an empty cell keeps (update) or defaults (insert) rather than clears.
_DEFAULTS = {
    "visibility": "'internal'",
    "compatible_uses": "'{}'::text[]",
    "supply_modes": "'{}'::text[]",
    "readiness": "'{}'::text[]",
    "checklist": "'{}'::text[]",
    "is_standard_land": "false",
    "price_public": "true",
    "gov_caused": "false",
    "status": "'unsupplied'",
}
_NOT_NULL = {c.name for c in Parcel.__table__.columns if not c.nullable}
# What a version's ``row`` holds: every parcel column except the geometries.
_ROW_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in Parcel.__table__.columns if c.name not in ("geom", "geom_3857")
)
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
    province = next(bytes(r[2]) for r in rows if r[1] == "province")
    cities = {r[0]: bytes(r[2]) for r in rows if r[1] != "province"}
    return province, cities


def existing_codes(conn: Connection, codes: Sequence[str]) -> set[str]:
    found = conn.execute(
        text("SELECT code FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": list(codes)}
    ).scalars()
    return set(found)


@dataclass
class WriteResult:
    actions: dict[Any, str]  # row label → created / updated / unchanged
    problems: list[dict[str, Any]] = field(default_factory=list)


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
    cols = [c for c in values.columns if c in WRITABLE]
    # These statements are simple scans whose cost estimate still crosses jit_above_cost for
    # large imports; compiling them costs more than it saves.
    conn.execute(text("SET LOCAL jit = off"))
    has_zone = "zone_code" in values.columns
    conn.execute(text("DROP TABLE IF EXISTS pg_temp._stage"))
    col_list = ", ".join(cols)
    conn.execute(
        text(
            f"CREATE TEMP TABLE _stage ON COMMIT DROP AS SELECT code, geom{', ' if cols else ''}"
            f"{col_list} FROM landmatch.parcel WITH NO DATA"
        )
    )
    conn.execute(
        text(
            "ALTER TABLE _stage ADD COLUMN row_no bigint, ADD COLUMN zone_code text, "
            "ADD COLUMN action text DEFAULT 'created', ADD COLUMN pid bigint"
            + (", ADD COLUMN zone_id integer" if "zone_id" not in cols else "")
        )
    )
    n = len(values)
    row_labels = [str(r) for r in rows]
    data_cols = ["row_no", "code", "geom", *cols, "zone_code"]
    frame_cols = [values[c].to_numpy() for c in cols]
    zone_codes = values["zone_code"].to_numpy() if has_zone else np.full(n, None, dtype=object)
    codes = values["code"].to_numpy()
    geom_arr = np.asarray(geoms, dtype=object)

    def gen():  # type: ignore[no-untyped-def]
        for i in range(n):
            yield [i, codes[i], geom_arr[i], *(fc[i] for fc in frame_cols), zone_codes[i]]

    _copy_frame(
        conn,
        "_stage",
        data_cols,
        [np.arange(n), codes, geom_arr, *frame_cols, zone_codes],
        progress,
    )
    conn.execute(text("CREATE INDEX ON _stage (code)"))
    conn.execute(text("ANALYZE _stage (code)"))
    problems: list[dict[str, Any]] = []
    if has_zone:
        conn.execute(
            text(
                "UPDATE _stage s SET zone_id = z.id FROM landmatch.dev_zone z "
                "WHERE z.code = s.zone_code"
            )
        )
        for r in conn.execute(
            text(
                "SELECT row_no, code, zone_code FROM _stage "
                "WHERE zone_code IS NOT NULL AND zone_id IS NULL"
            )
        ):
            problems.append(
                {
                    "row": rows[r[0]],
                    "code": r[1],
                    "field": "zone_code",
                    "reason": f"未知开发区编码“{r[2]}”",
                }
            )
    if "county_code" in cols:
        for r in conn.execute(
            text(
                "SELECT s.row_no, s.code, s.county_code FROM _stage s WHERE s.county_code IS NOT "
                "NULL AND NOT EXISTS (SELECT 1 FROM landmatch.admin_division a WHERE a.code = "
                "s.county_code AND a.level = 'county')"
            )
        ):
            problems.append(
                {
                    "row": rows[r[0]],
                    "code": r[1],
                    "field": "county_code",
                    "reason": f"未知县区代码“{r[2]}”",
                }
            )
    if problems:
        return WriteResult(actions={}, problems=problems)
    all_cols = [*cols, *(["zone_id"] if has_zone and "zone_id" not in cols else [])]

    same_attrs = (
        " AND ".join(
            f"COALESCE(s.{c}, p.{c}) IS NOT DISTINCT FROM p.{c}"
            if c in _NOT_NULL
            else f"s.{c} IS NOT DISTINCT FROM p.{c}"
            for c in all_cols
        )
        or "true"
    )
    conn.execute(
        text(
            "UPDATE _stage s SET pid = p.id, action = CASE "
            " WHEN p.deleted_at IS NULL AND " + same_attrs + " AND (s.geom IS NULL OR "
            "  ST_OrderingEquals(s.geom, p.geom) OR (ST_NPoints(s.geom) = ST_NPoints(p.geom) AND "
            f"  ST_HausdorffDistance(s.geom, p.geom) < {GEOM_TOLERANCE_DEG})) THEN 'unchanged' "
            " ELSE 'updated' END FROM landmatch.parcel p WHERE p.code = s.code"
        )
    )

    # Updates: one statement, history by trigger.
    sets = []
    for c in all_cols:
        sets.append(f"{c} = COALESCE(s.{c}, p.{c})" if c in _NOT_NULL else f"{c} = s.{c}")
    sets += [
        "geom = COALESCE(s.geom, p.geom)",
        "deleted_at = NULL",
        "import_id = :imp",
        "updated_by = :actor",
    ]
    updated = (
        conn.execute(
            text(
                f"UPDATE landmatch.parcel p SET {', '.join(sets)} FROM _stage s "
                "WHERE s.pid = p.id AND s.action = 'updated' RETURNING p.id"
            ),
            {"imp": import_id, "actor": actor},
        )
        .scalars()
        .all()
    )

    # Inserts: one statement; the history and fact triggers work on it set-wise.
    ins_cols = list(all_cols)
    exprs = [f"COALESCE(s.{c}, {_DEFAULTS[c]})" if c in _DEFAULTS else f"s.{c}" for c in ins_cols]
    for c, d in _DEFAULTS.items():
        if c not in ins_cols:
            ins_cols.append(c)
            exprs.append(d)
    created = (
        conn.execute(
            text(
                f"INSERT INTO landmatch.parcel (code, geom, import_id, updated_by, "
                f"{', '.join(ins_cols)}) SELECT s.code, s.geom, :imp, :actor, {', '.join(exprs)} "
                "FROM _stage s WHERE s.action = 'created' ORDER BY s.row_no RETURNING id"
            ),
            {"imp": import_id, "actor": actor},
        )
        .scalars()
        .all()
    )
    if not deferred:
        settle(conn, [*created, *updated])
    actions = {}
    for r in conn.execute(text("SELECT row_no, action FROM _stage")):
        actions[row_labels[r[0]]] = r[1]
    return WriteResult(actions=actions)


def _array_literal(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    items = (str(x).replace("\\", "\\\\").replace('"', '\\"') for x in v)
    return "{" + ",".join(f'"{x}"' for x in items) + "}"


def _copy_frame(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    arrays: Sequence[Any],
    progress: Callable[[int], None] | None = None,
    chunk: int = 50_000,
) -> None:
    """COPY column arrays into a temporary table via pandas' C CSV writer (fast path)."""
    data: dict[str, Any] = {}
    for name, arr in zip(columns, arrays, strict=True):
        arr = np.asarray(arr, dtype=object) if not isinstance(arr, np.ndarray) else arr
        if name == "geom":
            arr = shapely.to_wkb(
                shapely.set_srid(arr.astype(object), 4490), hex=True, include_srid=True
            )
        elif arr.dtype == object and any(isinstance(v, list) for v in arr[:1000]):
            arr = np.array([_array_literal(v) for v in arr], dtype=object)
        elif arr.dtype == object:
            arr = np.array(
                [("t" if v else "f") if isinstance(v, bool | np.bool_) else v for v in arr],
                dtype=object,
            )
        data[name] = arr
    frame = pd.DataFrame(data)
    cols = ", ".join(f'"{c}"' for c in columns)
    dbapi = psycopg_connection(conn)
    with (
        dbapi.cursor() as cur,
        cur.copy(f"COPY pg_temp.{table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy,
    ):
        for start in range(0, len(frame), chunk):
            part = frame.iloc[start : start + chunk]
            copy.write(part.to_csv(index=False, header=False, na_rep="\\N"))
            if progress:
                progress(len(part))


def restore_versions(conn: Connection, version_ids: Sequence[int], *, undelete: bool = True) -> int:
    """Set each parcel back to the state stored in the given ``parcel_version`` rows."""
    if not version_ids:
        return 0
    sets = [f"{c} = r.{c}" for c in WRITABLE] + ["geom = v.geom"]
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
