"""Bulk loading with COPY: frames of rows → CSV → ``COPY ... FROM STDIN``.

Geometry goes as hex EWKB; arrays as PostgreSQL array literals; NULLs as empty fields.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
import shapely
from sqlalchemy import Connection, text

from landmatch.db.tables import SCHEMA

if TYPE_CHECKING:
    import psycopg


def _array_literal(values: Iterable[str]) -> str:
    items = []
    for v in values:
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        items.append(f'"{s}"')
    return "{" + ",".join(items) + "}"


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, list | tuple):
        return _array_literal(v)
    if isinstance(v, bool):
        return "t" if v else "f"
    try:  # numpy scalars
        import numpy as np

        if isinstance(v, np.bool_):
            return "t" if v else "f"
        if isinstance(v, np.floating) and np.isnan(v):
            return None
    except ImportError:  # pragma: no cover
        pass
    return v


def psycopg_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The driver connection under ``conn``, for COPY (the engine's driver is psycopg 3)."""
    return cast("psycopg.Connection[Any]", conn.connection.driver_connection)


def copy_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    geom_columns: Sequence[str] = ("geom",),
    srid: int = 4490,
    chunk: int = 20_000,
    progress: Callable[[int], None] | None = None,
    schema: str = SCHEMA,
) -> int:
    """COPY ``rows`` (sequences in ``columns`` order) into ``landmatch.<table>``.

    Geometry columns hold shapely geometries; they are sent as hex EWKB with ``srid``.
    Returns the number of rows written. ``schema="pg_temp"`` loads a temporary table.
    """
    geom_pos = [i for i, c in enumerate(columns) if c in geom_columns]
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f"COPY {schema}.{table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    dbapi = psycopg_connection(conn)
    total = 0
    with dbapi.cursor() as cur, cur.copy(sql) as copy:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        batch: list[Sequence[Any]] = []

        def flush() -> None:
            nonlocal total
            if not batch:
                return
            for p in geom_pos:
                geoms = [r[p] for r in batch]
                hexes = shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)
                for r, h in zip(batch, hexes, strict=True):
                    r[p] = h  # type: ignore[index]
            for r in batch:
                writer.writerow(["\\N" if (c := _cell(v)) is None else c for v in r])
            copy.write(buf.getvalue())
            buf.seek(0)
            buf.truncate()
            total += len(batch)
            if progress:
                progress(len(batch))
            batch.clear()

        for row in rows:
            batch.append(list(row))
            if len(batch) >= chunk:
                flush()
        flush()
    return total


def tune_bulk(conn: Connection, *, work_mem: str = "512MB", maintenance: str = "1GB") -> None:
    """Transaction-local settings for a large set-wise load: no wait for the WAL flush at
    commit (a crash loses the whole load, never half of it), more memory for sorts, hashes and
    index builds."""
    conn.execute(
        text(
            "SELECT set_config('synchronous_commit', 'off', true),"
            " set_config('work_mem', :w, true),"
            " set_config('maintenance_work_mem', :m, true)"
        ),
        {"w": work_mem, "m": maintenance},
    )


@contextmanager
def indexes_dropped(
    conn: Connection, table: str, *, schema: str = SCHEMA, keys: bool = False
) -> Iterator[int]:
    """Drop the secondary indexes of ``schema.table`` and build them again on exit: one
    sorted build is much cheaper than maintaining a GiST or btree row by row during a large
    load. Indexes backing a primary key or unique constraint stay, unless ``keys`` (then those
    constraints are dropped and added back too — only for a table no foreign key points at and
    whose load does not rely on them, e.g. ON CONFLICT). Yields how many were dropped.

    Takes the table's ACCESS EXCLUSIVE lock for the rest of the transaction: for loads into
    an empty or private table (``landmatch seed``), not for a live inventory.
    """
    t = f"{schema}.{table}"
    constraints = (
        conn.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u') ORDER BY conname"
            ),
            {"t": t},
        ).all()
        if keys
        else []
    )
    defs = [
        (name, ddl)
        for name, ddl in conn.execute(
            text(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = CAST(:t AS regclass) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
                "ORDER BY c.relname"
            ),
            {"t": t},
        )
    ]
    for name, _ddl in defs:
        conn.execute(text(f'DROP INDEX {schema}."{name}"'))
    for name, _ddl in constraints:
        conn.execute(text(f'ALTER TABLE {t} DROP CONSTRAINT "{name}"'))
    yield len(defs) + len(constraints)
    for name, ddl in constraints:
        conn.execute(text(f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {ddl}'))
    for _name, ddl in defs:
        conn.execute(text(ddl))


@contextmanager
def triggers_disabled(
    conn: Connection, table: str, names: Sequence[str], *, schema: str = SCHEMA
) -> Iterator[None]:
    """Disable the named triggers of ``schema.table`` for the block (transactional DDL: a
    failure rolls the switch back with the load). The caller does their work set-wise."""
    for n in names:
        conn.execute(text(f'ALTER TABLE {schema}.{table} DISABLE TRIGGER "{n}"'))
    yield  # on an error the transaction rolls back, and the switch with it
    for n in names:
        conn.execute(text(f'ALTER TABLE {schema}.{table} ENABLE TRIGGER "{n}"'))
