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

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, Engine, text

from landmatch.db.facts import (
    COMPUTED,
    SOURCES,
    compute_facts,
    forget_computed,
    refresh_facts,
    write_facts,
)

# Parcels per facts transaction (about half a second of work each here).
DRAIN_CHUNK = 10_000
# pg_try_advisory_xact_lock key: one transaction applies the cell deltas at a time.
_CELLS = 0x1A4D_D3A1


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


def _bump(conn: Connection) -> None:
    """Bump the data versions tiles and the match's reference data key on. Called *before*
    a drain touches any derived row: every parcel write takes these rows first (its statement
    trigger ``data_version`` fires before ``fact_upd`` and ``parcel_cell_upd``, which lock
    facts and cells), so a drain must too. Taken last, a cell drain holding cells waited for
    'all' while a write (or a facts drain, whose zone update is such a write) holding 'all'
    waited for those cells: a deadlock (bench_import hit it). 'all' first, then the table's
    own, one row a statement, the order ``landmatch.bump_data_version`` uses."""
    for name in ("all", "parcel"):
        conn.execute(
            text("UPDATE landmatch.data_state SET version = version + 1 WHERE name = :n"),
            {"n": name},
        )


def drain_cells(conn: Connection) -> int | None:
    """Apply every queued cell delta in ``conn``'s transaction (one aggregate upsert); the
    number applied, or ``None`` when another transaction is applying them."""
    if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _CELLS}).scalar():
        return None
    n = int(conn.execute(text("SELECT count(*) FROM landmatch.parcel_cell_delta")).scalar_one())
    if n:
        _bump(conn)
        conn.execute(text("SELECT landmatch.parcel_cell_drain()"))
    return n


def _source_versions(conn: Connection) -> list[tuple[str, int]]:
    return [
        (r[0], int(r[1]))
        for r in conn.execute(
            text(
                "SELECT name, version FROM landmatch.data_state WHERE name = ANY(:n) ORDER BY name"
            ),
            {"n": list(SOURCES)},
        )
    ]


def drain_facts(conn: Connection, chunk: int = DRAIN_CHUNK) -> int:
    """Claim up to ``chunk`` queued parcels (rows other transactions hold are skipped) and
    settle their facts in ``conn``'s transaction; how many were settled.

    The facts are computed before the data versions are taken (:func:`_bump`), which every
    parcel write and every other drain takes too, so drains on several connections compute
    side by side and only their writes run one at a time. Under that lock the computation is
    checked: a parcel written since it was read (its ``xmin`` changed) is computed again,
    as is every parcel when a reference layer changed meanwhile; a parcel another
    transaction holds is left queued for the next drain (taking it would deadlock with a
    write that holds it and waits for the data versions).
    """
    claimed = (
        conn.execute(
            text(
                "SELECT parcel_id FROM landmatch.parcel_dirty ORDER BY parcel_id LIMIT :n "
                "FOR UPDATE SKIP LOCKED"
            ),
            {"n": chunk},
        )
        .scalars()
        .all()
    )
    if not claimed:
        return 0
    sources = _source_versions(conn)
    if not compute_facts(conn, claimed):  # every one deleted since it was queued
        _unqueue(conn, claimed)
        return len(claimed)
    _bump(conn)
    locked = conn.execute(
        text(
            f"SELECT p.id, p.xmin = n.read_xmin FROM {COMPUTED} n "
            "JOIN landmatch.parcel p ON p.id = n.id "
            "ORDER BY p.id FOR NO KEY UPDATE OF p SKIP LOCKED"
        )
    ).all()
    if _source_versions(conn) == sources:
        stale = [r[0] for r in locked if not r[1]]
        # Written meanwhile (computed again below), held by another transaction or deleted.
        forget_computed(conn, sorted(set(claimed) - {r[0] for r in locked if r[1]}))
        write_facts(conn)
    else:  # a reference layer changed meanwhile: everything again, under the lock
        conn.execute(text(f"DROP TABLE {COMPUTED}"))
        stale = [r[0] for r in locked]
    if stale:
        refresh_facts(conn, stale)
    # Settled, or deleted since queued; a parcel another transaction holds stays queued.
    held = conn.execute(
        text("SELECT id FROM landmatch.parcel WHERE id = ANY(:ids)"),
        {"ids": sorted(set(claimed) - {r[0] for r in locked})},
    ).scalars()
    done = sorted(set(claimed) - set(held))
    _unqueue(conn, done)
    return len(done)


def _unqueue(conn: Connection, parcel_ids: Sequence[int]) -> None:
    conn.execute(
        text("DELETE FROM landmatch.parcel_dirty WHERE parcel_id = ANY(:ids)"),
        {"ids": list(parcel_ids)},
    )


def drain(
    engine: Engine,
    *,
    chunk: int = DRAIN_CHUNK,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Apply the queues until they are empty: the cell deltas in one transaction and the
    facts in transactions of ``chunk`` parcels, on ``workers`` connections at once (each
    transaction stands alone, so they can run side by side). Returns what was done."""
    with engine.connect() as conn:
        total = pending(conn)["facts"]
    done = {"facts": 0, "cells": 0}
    lock = threading.Lock()

    def cells() -> None:
        with engine.begin() as conn:
            done["cells"] = drain_cells(conn) or 0

    def facts() -> None:
        while True:
            with engine.begin() as conn:
                n = drain_facts(conn, chunk)
            if not n:
                return
            with lock:
                done["facts"] += n
                if progress and total:
                    progress(min(done["facts"], total), total)

    with ThreadPoolExecutor(max_workers=max(workers, 1) + 1) as pool:
        jobs = [pool.submit(cells), *(pool.submit(facts) for _ in range(max(workers, 1)))]
        for job in jobs:
            job.result()
    return done
