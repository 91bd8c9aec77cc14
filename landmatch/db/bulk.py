"""Bulk loading with COPY.

``copy_columns`` sends column arrays in COPY's text format, encoded a column at a time and
streamed in chunks through a writer thread, so PostgreSQL works on one chunk while the next is
encoded. ``copy_rows`` sends rows as CSV (the seed). Geometry goes as hex EWKB, arrays as
PostgreSQL array literals.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import shapely
from psycopg.copy import QueuedLibpqWriter
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


# COPY text format: NULL is \N; backslash, tab, newline and carriage return are escaped.
TEXT_NULL = "\\N"
_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text_field(v: Any) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return TEXT_NULL
    if isinstance(v, str):
        return v.translate(_TEXT_ESCAPES)
    if isinstance(v, bool | np.bool_):
        return "t" if v else "f"
    if isinstance(v, float | np.floating):
        return TEXT_NULL if math.isnan(v) else repr(float(v))
    if isinstance(v, list | tuple | np.ndarray):
        return _array_literal(v).translate(_TEXT_ESCAPES)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bytes):
        return "\\\\x" + v.hex()
    return str(v).translate(_TEXT_ESCAPES)


def object_array(items: Iterable[Any]) -> np.ndarray:
    """A 1-D object array of ``items`` (np.array would turn equally long lists into a 2-D one)."""
    seq = list(items)
    out = np.empty(len(seq), dtype=object)
    out[:] = seq
    return out


def text_fields(values: Any) -> np.ndarray:
    """One column as COPY text-format fields (object array of str), each distinct value
    encoded once."""
    a = np.asarray(values)
    if a.dtype.kind == "f":
        out = a.astype(str).astype(object)
        out[np.isnan(a)] = TEXT_NULL
        return out
    if a.dtype.kind in "iu":
        return a.astype(str).astype(object)
    if a.dtype.kind == "b":
        return np.where(a, "t", "f").astype(object)
    a = a.astype(object)
    if pd.api.types.infer_dtype(a, skipna=True) in ("string", "empty"):
        missing = pd.isna(a)
        present = a[~missing]
        if not any(ch in "".join(present) for ch in "\\\t\n\r"):  # nothing to escape
            return np.where(missing, TEXT_NULL, a)
    keys = object_array(tuple(v) if isinstance(v, list | np.ndarray) else v for v in a)
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    encoded = np.array([*(_text_field(u) for u in uniques), TEXT_NULL], dtype=object)
    return encoded[codes]


def ewkb_hex(geoms: Any, srid: int = 4490) -> np.ndarray:
    """Hex EWKB of each geometry (None stays None), as the geometry type's text input."""
    g = np.asarray(geoms, dtype=object)
    out = np.full(len(g), None, dtype=object)
    present = ~shapely.is_missing(g)
    if present.any():
        wkb = shapely.to_wkb(shapely.set_srid(g[present], srid), include_srid=True)
        ends = np.cumsum([len(b) for b in wkb]) * 2
        starts = np.concatenate([[0], ends[:-1]])
        hexed = b"".join(wkb).hex()  # one pass over all the bytes, then slices
        out[present] = [hexed[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    return out


class CopyStream:
    """One ``COPY table (columns) FROM STDIN`` (text format) kept open while batches of column
    arrays are sent: each batch is encoded here while a writer thread sends the previous ones,
    so PostgreSQL inserts one batch while the caller prepares the next. Use as a context
    manager; leaving it ends the COPY (and raises what the server refused)."""

    def __init__(self, conn: Connection, table: str, names: Sequence[str], chunk: int = 10_000):
        self.names = list(names)
        self.chunk = chunk
        self.sent = 0
        cols = ", ".join(f'"{c}"' for c in self.names)
        self._stack = ExitStack()
        cur = self._stack.enter_context(psycopg_connection(conn).cursor())
        self._copy = self._stack.enter_context(
            cur.copy(f"COPY {table} ({cols}) FROM STDIN", writer=QueuedLibpqWriter(cur))
        )

    def send(self, columns: dict[str, Any], progress: Callable[[int], None] | None = None) -> None:
        """Send equally long arrays, one per column name (geometry already hex EWKB)."""
        if list(columns) != self.names:
            raise ValueError(f"COPY columns {list(columns)} differ from {self.names}")
        arrays = [a if isinstance(a, np.ndarray) else object_array(a) for a in columns.values()]
        n = len(arrays[0]) if arrays else 0
        for start in range(0, n, self.chunk):
            fields = [text_fields(a[start : start + self.chunk]) for a in arrays]
            lines = "\n".join(map("\t".join, zip(*fields, strict=True)))
            self._copy.write((lines + "\n").encode())
            k = min(self.chunk, n - start)
            self.sent += k
            if progress:
                progress(k)

    def __enter__(self) -> CopyStream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.__exit__(kind, value, tb)


def copy_columns(
    conn: Connection,
    table: str,
    columns: dict[str, Any],
    *,
    chunk: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """COPY equally long column arrays (name → values) into ``table`` (schema-qualified or a
    temporary table) in one go; see :class:`CopyStream`. Returns the rows sent."""
    with CopyStream(conn, table, list(columns), chunk) as stream:
        stream.send(columns, progress)
    return stream.sent


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
