"""The import wizard's tables (migration 0027_import_jobs): jobs, their report lines and
shapes, and a city's named column mappings. Plain SQL with bound parameters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from landmatch.db.geometry import geojson_sql
from landmatch.db.like import contains_pattern
from landmatch.db.where import Where

# A running job whose worker has not written its heartbeat for this long has stopped.
STALE = "interval '90 seconds'"
RUNNING = ("checking", "committing")
_COLUMNS = (
    "id, city_code, actor, state, filename, boundary_filename, options, columns, detected, "
    "report, stage, done, total, error, import_id, created_at, updated_at, "
    f"(state IN ('checking', 'committing') AND coalesce(heartbeat_at, updated_at) < now() - {STALE})"
    " AS interrupted"
)


def _file_params(
    file: tuple[str, bytes], boundaries: tuple[str, bytes] | None, detected: dict[str, Any]
) -> dict[str, Any]:
    """The parameters :f, :d, :bf, :bd and :det of a job's uploaded files (name, bytes) and
    what was detected in them, as the insert and the replacement store them."""
    return {
        "f": file[0],
        "d": file[1],
        "bf": boundaries[0] if boundaries else None,
        "bd": boundaries[1] if boundaries else None,
        "det": json.dumps(detected, ensure_ascii=False),
    }


def insert_job(
    conn: Connection,
    *,
    city: str | None,
    actor: str,
    file: tuple[str, bytes],
    boundaries: tuple[str, bytes] | None,
    detected: dict[str, Any],
) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO landmatch.import_job (city_code, actor, filename, data, "
                "boundary_filename, boundary_data, detected, options) VALUES (:c, :a, :f, :d, "
                ":bf, :bd, CAST(:det AS jsonb), CAST(:o AS jsonb)) RETURNING id"
            ),
            {
                "c": city,
                "a": actor,
                "o": json.dumps({"city": city} if city else {}),
                **_file_params(file, boundaries, detected),
            },
        ).scalar_one()
    )


def replace_files(
    conn: Connection,
    job_id: int,
    file: tuple[str, bytes],
    boundaries: tuple[str, bytes] | None,
    detected: dict[str, Any],
) -> None:
    conn.execute(
        text(
            "UPDATE landmatch.import_job SET filename = :f, data = :d, boundary_filename = :bf, "
            "boundary_data = :bd, detected = CAST(:det AS jsonb), state = 'uploaded', "
            "report = NULL, error = NULL, updated_at = now() WHERE id = :id"
        ),
        {"id": job_id, **_file_params(file, boundaries, detected)},
    )
    clear_report(conn, job_id)


def get_job(conn: Connection, job_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    row = (
        conn.execute(
            text(
                f"SELECT {_COLUMNS} FROM landmatch.import_job WHERE id = :id"
                + (" FOR UPDATE" if lock else "")
            ),
            {"id": job_id},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def jobs_of_imports(conn: Connection, import_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The wizard jobs that committed the import batches ``import_ids`` (an import from the
    CLI or the API has none): id, import_id, city_code and actor of each."""
    if not import_ids:
        return []
    rows = conn.execute(
        text(
            "SELECT id, import_id, city_code, actor FROM landmatch.import_job "
            "WHERE import_id = ANY(:ids)"
        ),
        {"ids": list(import_ids)},
    ).mappings()
    return [dict(r) for r in rows]


def job_files(conn: Connection, job_id: int) -> tuple[tuple[bytes, str], tuple[bytes, str] | None]:
    data, name, bdata, bname = conn.execute(
        text(
            "SELECT data, filename, boundary_data, boundary_filename FROM landmatch.import_job "
            "WHERE id = :id"
        ),
        {"id": job_id},
    ).one()
    return (bytes(data), name), (None if bdata is None else (bytes(bdata), bname))


def list_jobs(
    conn: Connection, cities: Sequence[str] | None, actor: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Jobs newest first; ``cities`` None = every city; ``actor`` also sees jobs without a city."""
    where = (
        "TRUE"
        if cities is None
        else "(city_code = ANY(:cities) OR (city_code IS NULL AND actor = :actor))"
    )
    params = {"cities": list(cities or []), "actor": actor, "limit": limit, "offset": offset}
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM landmatch.import_job WHERE {where} "
            "ORDER BY id DESC LIMIT :limit OFFSET :offset"
        ),
        params,
    ).mappings()
    total = conn.execute(
        text(f"SELECT count(*) FROM landmatch.import_job WHERE {where}"), params
    ).scalar_one()
    return [dict(r) for r in rows], int(total)


def set_options(
    conn: Connection,
    job_id: int,
    city: str | None,
    options: dict[str, Any],
    columns: dict[str, Any],
) -> None:
    conn.execute(
        text(
            "UPDATE landmatch.import_job SET city_code = :c, options = CAST(:o AS jsonb), "
            "columns = CAST(:col AS jsonb), updated_at = now() WHERE id = :id"
        ),
        {
            "id": job_id,
            "c": city,
            "o": json.dumps(options, ensure_ascii=False),
            "col": json.dumps(columns, ensure_ascii=False),
        },
    )


def claim(conn: Connection, job_id: int, states: Sequence[str], new_state: str) -> bool:
    """Move a job to ``new_state`` if it is in one of ``states`` (or a running state whose
    worker stopped): the one guard against two runs of a job at once."""
    return (
        conn.execute(
            text(
                "UPDATE landmatch.import_job SET state = :new, stage = NULL, done = 0, total = 0, "
                "error = NULL, heartbeat_at = now(), updated_at = now() WHERE id = :id AND "
                "(state = ANY(:states) OR (state IN ('checking', 'committing') AND "
                f"coalesce(heartbeat_at, updated_at) < now() - {STALE})) RETURNING id"
            ),
            {"id": job_id, "states": list(states), "new": new_state},
        ).first()
        is not None
    )


def set_state(conn: Connection, job_id: int, state: str, **fields: Any) -> None:
    sets = ["state = :state", "updated_at = now()"]
    params: dict[str, Any] = {"id": job_id, "state": state}
    for key in ("error", "import_id"):
        if key in fields:
            sets.append(f"{key} = :{key}")
            params[key] = fields[key]
    if "report" in fields:
        sets.append("report = CAST(:report AS jsonb)")
        params["report"] = json.dumps(fields["report"], ensure_ascii=False, default=str)
    if state == "committed":
        sets.append("data = NULL, boundary_data = NULL")  # the file has done its work
    conn.execute(text(f"UPDATE landmatch.import_job SET {', '.join(sets)} WHERE id = :id"), params)


def set_progress(conn: Connection, job_id: int, stage: str | None, done: int, total: int) -> None:
    conn.execute(
        text(
            "UPDATE landmatch.import_job SET stage = :s, done = :d, total = :t, "
            "heartbeat_at = now() WHERE id = :id AND state IN ('checking', 'committing')"
        ),
        {"id": job_id, "s": stage, "d": done, "t": total},
    )


def clear_report(conn: Connection, job_id: int) -> None:
    conn.execute(text("DELETE FROM landmatch.import_job_line WHERE job_id = :id"), {"id": job_id})
    conn.execute(text("DELETE FROM landmatch.import_job_shape WHERE job_id = :id"), {"id": job_id})


def insert_lines(conn: Connection, job_id: int, lines: Sequence[dict[str, Any]]) -> None:
    if not lines:
        return
    conn.execute(
        text(
            "INSERT INTO landmatch.import_job_line (job_id, seq, row_no, code, action, field, "
            "reason) SELECT :job, t.seq, t.row_no, t.code, t.action, t.field, t.reason FROM "
            "unnest(CAST(:seq AS int[]), CAST(:row_no AS text[]), CAST(:code AS text[]), "
            "CAST(:action AS text[]), CAST(:field AS text[]), CAST(:reason AS text[])) "
            "AS t(seq, row_no, code, action, field, reason)"
        ),
        {
            "job": job_id,
            "seq": list(range(len(lines))),
            "row_no": [str(x["row"]) for x in lines],
            "code": [x["code"] for x in lines],
            "action": [x["action"] for x in lines],
            "field": [x["field"] for x in lines],
            "reason": [x["reason"] for x in lines],
        },
    )


# A row's shape from the file, made valid and polygonal (an empty result is left out).
_FILE_SHAPE = "ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(t.wkb, 4490)), 3))"


def _insert_shapes(conn: Connection, job_id: int, geom: str, source: str, **arrays: Any) -> None:
    """Insert the job's rows (``arrays`` of equal length, unnested as ``t``) with ``geom``."""
    if not arrays["rows"]:
        return
    casts = {"wkbs": "bytea[]"}
    columns = {"rows": "row_no", "codes": "code", "actions": "action", "wkbs": "wkb"}
    unnest = ", ".join(f"CAST(:{k} AS {casts.get(k, 'text[]')})" for k in arrays)
    conn.execute(
        text(
            "INSERT INTO landmatch.import_job_shape (job_id, row_no, code, action, geom) "
            f"SELECT :job, t.row_no, t.code, t.action, {geom} FROM unnest({unnest}) "
            f"AS t({', '.join(columns[k] for k in arrays)}) {source}"
        ),
        {"job": job_id, **{k: list(v) for k, v in arrays.items()}},
    )


def insert_shapes(
    conn: Connection,
    job_id: int,
    rows: Sequence[str],
    codes: Sequence[str | None],
    actions: Sequence[str],
    wkbs: Sequence[bytes],
) -> None:
    """Rows with a boundary in the file."""
    where = f"WHERE NOT ST_IsEmpty({_FILE_SHAPE})"
    _insert_shapes(
        conn, job_id, _FILE_SHAPE, where, rows=rows, codes=codes, actions=actions, wkbs=wkbs
    )


def insert_stored_shapes(
    conn: Connection, job_id: int, rows: Sequence[str], codes: Sequence[str], actions: Sequence[str]
) -> None:
    """Rows without a boundary in the file (a 清单 updating stored parcels): the stored one."""
    join = "JOIN landmatch.parcel p ON p.code = t.code AND p.deleted_at IS NULL"
    _insert_shapes(conn, job_id, "p.geom", join, rows=rows, codes=codes, actions=actions)


def _line_filter(
    action: str | None, field: str | None, q: str | None
) -> tuple[str, dict[str, Any]]:
    w = Where(["job_id = :job"])
    w.given(action, "action = :action", "action")
    w.given(field, "field = :field", "field")
    if q:
        w.clauses.append("(code ILIKE :q OR row_no = :qe OR reason ILIKE :q)")
        w.params.update(q=contains_pattern(q), qe=q)
    return w.sql, w.params


def lines(
    conn: Connection,
    job_id: int,
    *,
    action: str | None = None,
    field: str | None = None,
    q: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    where, params = _line_filter(action, field, q)
    params |= {"job": job_id, "limit": limit, "offset": offset}
    rows = conn.execute(
        text(
            "SELECT row_no, code, action, field, reason FROM landmatch.import_job_line "
            f"WHERE {where} ORDER BY seq LIMIT :limit OFFSET :offset"
        ),
        params,
    ).mappings()
    out = [dict(r) for r in rows]
    total = conn.execute(
        text(f"SELECT count(*) FROM landmatch.import_job_line WHERE {where}"), params
    ).scalar_one()
    return out, int(total)


def line_fields(conn: Connection, job_id: int) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT DISTINCT field FROM landmatch.import_job_line WHERE job_id = :job "
                "AND field IS NOT NULL ORDER BY 1"
            ),
            {"job": job_id},
        ).scalars()
    )


def shapes_geojson(conn: Connection, job_id: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            f"SELECT row_no, code, action, {geojson_sql('geom', 6)} "
            "FROM landmatch.import_job_shape WHERE job_id = :job ORDER BY row_no LIMIT :limit"
        ),
        {"job": job_id, "limit": limit},
    ).all()
    return [
        {
            "type": "Feature",
            "geometry": json.loads(g),
            "properties": {"row": r, "code": c, "action": a},
        }
        for r, c, a, g in rows
    ]


def shapes_extent(conn: Connection, job_id: int) -> list[list[float]] | None:
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
            "ST_Extent(geom) AS e FROM landmatch.import_job_shape WHERE job_id = :job) s"
        ),
        {"job": job_id},
    ).one()
    if row[0] is None:
        return None
    return [[row[1], row[0]], [row[3], row[2]]]


# ---- named column mappings -------------------------------------------------------------------


def mappings(conn: Connection, city: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT id, name, columns, created_by, updated_at FROM landmatch.column_mapping "
            "WHERE city_code = :c ORDER BY updated_at DESC, id DESC"
        ),
        {"c": city},
    ).mappings()
    return [dict(r) for r in rows]


def save_mapping(
    conn: Connection, city: str, name: str, columns: dict[str, Any], actor: str
) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO landmatch.column_mapping (city_code, name, columns, created_by) "
                "VALUES (:c, :n, CAST(:col AS jsonb), :a) ON CONFLICT (city_code, name) DO UPDATE "
                "SET columns = EXCLUDED.columns, created_by = EXCLUDED.created_by, "
                "updated_at = now() RETURNING id"
            ),
            {"c": city, "n": name, "col": json.dumps(columns, ensure_ascii=False), "a": actor},
        ).scalar_one()
    )
