"""Derived parcel data — spatial facts (``parcel_fact``) and low-zoom tile cells
(``parcel_cell``) — brought level with the parcels.

The parcel triggers (migration 0010_write_path) keep the copied fact columns in step on every
write and queue what takes geometry work: inserted and moved parcels go to ``parcel_dirty``
(their zone, distances and constraint hits are NULL, "not checked", until settled). A write
settles its own parcels before its commit with :func:`settle`.

A large import writes with ``landmatch.defer_derived = on`` (:func:`defer`): its inserts then
only queue their ids, and every cell delta is appended to ``parcel_cell_delta``. That keeps the
import's transaction to the inventory itself; :func:`drain` applies the queues afterwards in
short transactions of their own (the importer calls it right after the commit; ``landmatch
serve`` drains whatever a crash left, at start and periodically). Until then the new parcels
are not ranked by a match and the low-zoom tiles do not count them yet; nothing is ever stale:
an updated parcel's copied columns are written inline, a moved one's spatial facts read "not
checked".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, text

from landmatch.db.facts import refresh_facts

# Parcels per drain transaction (facts of ~20k parcels take about a second here).
DRAIN_CHUNK = 20_000
# pg_try_advisory_xact_lock key: one drain at a time across workers and processes.
_LOCK = 0x1A4D_D3A1


def defer(conn: Connection, on: bool = True) -> None:
    """Queue derived work instead of doing it (``on``), or stop doing so, for the rest of this
    transaction (a savepoint rolled back reverts it)."""
    conn.execute(
        text("SELECT set_config('landmatch.defer_derived', :v, true)"), {"v": "on" if on else "off"}
    )


def settle(conn: Connection, parcel_ids: Sequence[int]) -> int:
    """Compute the queued spatial facts of ``parcel_ids`` in the current transaction (an edit,
    a small import); returns how many were settled."""
    ids = [int(i) for i in parcel_ids]
    if not ids:
        return 0
    queued = (
        conn.execute(
            text(
                "DELETE FROM landmatch.parcel_dirty WHERE parcel_id = ANY(:ids) RETURNING parcel_id"
            ),
            {"ids": ids},
        )
        .scalars()
        .all()
    )
    if queued:
        refresh_facts(conn, queued)
    return len(queued)


def pending(conn: Connection) -> dict[str, int]:
    """What is waiting: parcels without their spatial facts, cell deltas not applied."""
    row = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM landmatch.parcel_dirty), "
            "(SELECT count(*) FROM landmatch.parcel_cell_delta)"
        )
    ).one()
    return {"facts": int(row[0]), "cells": int(row[1])}


def drain_step(conn: Connection, chunk: int = DRAIN_CHUNK) -> dict[str, int] | None:
    """One drain transaction's work in ``conn``'s transaction: every queued cell delta and up
    to ``chunk`` queued parcels' facts. ``None`` when another drain holds the lock."""
    if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK}).scalar():
        return None
    cells = int(conn.execute(text("SELECT count(*) FROM landmatch.parcel_cell_delta")).scalar_one())
    if cells:
        conn.execute(text("SELECT landmatch.parcel_cell_drain()"))
    ids = (
        conn.execute(
            text(
                "DELETE FROM landmatch.parcel_dirty WHERE parcel_id IN (SELECT parcel_id "
                "FROM landmatch.parcel_dirty ORDER BY parcel_id LIMIT :n) RETURNING parcel_id"
            ),
            {"n": chunk},
        )
        .scalars()
        .all()
    )
    if ids:
        refresh_facts(conn, ids)
    if cells or ids:
        # Tiles and the match's reference data key on these counters.
        conn.execute(
            text(
                "UPDATE landmatch.data_state SET version = version + 1 "
                "WHERE name IN ('parcel', 'all')"
            )
        )
    return {"facts": len(ids), "cells": cells}


def drain(
    engine: Engine,
    *,
    chunk: int = DRAIN_CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Apply the queues in transactions of ``chunk`` parcels until they are empty. Returns what
    was done, with ``busy = 1`` when another drain held the lock (it finishes the queue)."""
    done = {"facts": 0, "cells": 0, "busy": 0}
    with engine.connect() as conn:
        total = pending(conn)["facts"]
    while True:
        with engine.begin() as conn:
            step = drain_step(conn, chunk)
        if step is None:
            done["busy"] = 1
            return done
        done["facts"] += step["facts"]
        done["cells"] += step["cells"]
        if progress and total:
            progress(min(done["facts"], total), total)
        if step["facts"] < chunk:
            return done
