"""Bulk loading with COPY: frames of rows → CSV → ``COPY ... FROM STDIN``.

Geometry goes as hex EWKB; arrays as PostgreSQL array literals; NULLs as empty fields.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
import shapely
from sqlalchemy import Connection

from landmatch.db.tables import SCHEMA


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
    dbapi = conn.connection.driver_connection
    total = 0
    with dbapi.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        batch: list[Sequence[Any]] = []

        def flush() -> None:
            nonlocal total
            if not batch:
                return
            for p in geom_pos:
                geoms = [r[p] for r in batch]
                hexes = shapely.to_wkb(
                    shapely.set_srid(geoms, srid), hex=True, include_srid=True
                )
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
