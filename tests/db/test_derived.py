"""Derived parcel data (spatial facts, low-zoom cells) kept level with the inventory: settled
inside small writes, queued by large imports and drained after their commit."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from landmatch.auth import Principal
from landmatch.db import derived
from landmatch.db.facts import refresh_facts
from landmatch.inventory.imports import ImportOptions, run_import
from tests.locks import wait_for_lock

ADMIN = Principal(name="t-derived", role="admin")


def _site(conn: Connection, inside_exclusion: bool) -> tuple[float, float]:
    """A point well inside an excluding constraint area, or one clear of every area."""
    if inside_exclusion:
        row = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM "
                "landmatch.constraint_area WHERE severity = 'excludes' AND ST_Area(geom) > 1e-4 "
                "ORDER BY code LIMIT 1) x"
            )
        ).one()
        return float(row[0]), float(row[1])
    return 114.62, 38.11  # 石家庄, east of the city: no constraint area here (checked below)


def _cover_clear_site(conn: Connection) -> None:
    """Declare basic farmland covered for 石家庄 (the seed covers its red lines and water
    sources only), so a parcel at the clear site reads "checked and clear" (false) rather
    than "not checked" (NULL). Rolled back with the test."""
    conn.execute(
        text(
            "INSERT INTO landmatch.constraint_coverage (kind, city_code, source, as_of, "
            "declared_by) VALUES ('basic_farmland', '130100', '测试', '2025-01-01', 't-derived')"
        )
    )


def _square(lon: float, lat: float, d: float = 0.002) -> dict:  # type: ignore[type-arg]
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
        ],
    }


def _file(features: list[tuple[str, dict]]) -> bytes:  # type: ignore[type-arg]
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "code": code,
                        "name": f"派生{code}",
                        "land_use": "100102",
                        "status": "ready",
                    },
                    "geometry": g,
                }
                for code, g in features
            ],
        },
        ensure_ascii=False,
    ).encode()


def _facts(conn: Connection, codes: list[str]) -> dict[str, tuple]:  # type: ignore[type-arg]
    rows = conn.execute(
        text(
            "SELECT p.code, f.excluded, f.dist_highway_interchange_km, f.status FROM "
            "landmatch.parcel p LEFT JOIN landmatch.parcel_fact f ON f.parcel_id = p.id "
            "WHERE p.code = ANY(:c)"
        ),
        {"c": codes},
    ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _queued(conn: Connection, codes: list[str]) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM landmatch.parcel_dirty d JOIN landmatch.parcel p "
                "ON p.id = d.parcel_id WHERE p.code = ANY(:c)"
            ),
            {"c": codes},
        ).scalar_one()
    )


def test_the_clear_site_is_clear(conn: Connection) -> None:
    lon, lat = _site(conn, inside_exclusion=False)
    hits = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.constraint_area WHERE ST_Intersects(geom, "
            "ST_Buffer(ST_SetSRID(ST_MakePoint(:x, :y), 4490), 0.01))"
        ),
        {"x": lon, "y": lat},
    ).scalar()
    assert hits == 0


def test_a_small_import_settles_its_facts_inside_the_import(conn: Connection) -> None:
    _cover_clear_site(conn)
    red = _site(conn, inside_exclusion=True)
    clear = _site(conn, inside_exclusion=False)
    data = _file([("DV-RED", _square(*red, d=0.0005)), ("DV-CLEAR", _square(*clear))])
    report = run_import(conn, data, "d.geojson", ADMIN, ImportOptions())
    assert report["derived"] == "settled"
    facts = _facts(conn, ["DV-RED", "DV-CLEAR"])
    assert facts["DV-RED"][0] is True  # inside the red line: a match will exclude it
    assert facts["DV-CLEAR"][0] is False  # checked and clear, not "not checked"
    assert facts["DV-CLEAR"][1] is not None and facts["DV-CLEAR"][2] == "ready"
    assert _queued(conn, ["DV-RED", "DV-CLEAR"]) == 0


def test_a_large_import_queues_and_the_drain_settles(conn: Connection) -> None:
    _cover_clear_site(conn)
    clear = _site(conn, inside_exclusion=False)
    codes = [f"DV-Q{i}" for i in range(3)]
    data = _file([(c, _square(clear[0] + 0.003 * i, clear[1])) for i, c in enumerate(codes)])
    cells_before = conn.execute(
        text("SELECT coalesce(sum(n), 0) FROM landmatch.parcel_cell_total WHERE z = 11")
    ).scalar_one()
    report = run_import(conn, data, "d.geojson", ADMIN, ImportOptions(settle_inline_max=2))
    assert report["derived"] == "pending"
    # Committed parcels without facts are simply not matched yet; nothing stale is stored.
    assert all(f[0] is None and f[2] is None for f in _facts(conn, codes).values())
    assert _queued(conn, codes) == 3
    assert derived.pending(conn)["cells"] >= 3
    assert (derived.drain_cells(conn) or 0) >= 3
    while derived.drain_facts(conn, chunk=2):
        pass
    assert derived.pending(conn) == {"facts": 0, "cells": 0}
    facts = _facts(conn, codes)
    assert all(f[0] is False and f[1] is not None and f[2] == "ready" for f in facts.values())
    cells_after = conn.execute(
        text("SELECT coalesce(sum(n), 0) FROM landmatch.parcel_cell_total WHERE z = 11")
    ).scalar_one()
    assert cells_after == cells_before + 3


def test_a_moved_parcel_reads_not_checked_until_settled(conn: Connection) -> None:
    _cover_clear_site(conn)
    red = _site(conn, inside_exclusion=True)
    clear = _site(conn, inside_exclusion=False)
    run_import(conn, _file([("DV-MOVE", _square(*clear))]), "d.geojson", ADMIN, ImportOptions())
    assert _facts(conn, ["DV-MOVE"])["DV-MOVE"][0] is False
    pid = conn.execute(text("SELECT id FROM landmatch.parcel WHERE code = 'DV-MOVE'")).scalar_one()
    conn.execute(
        text(
            "UPDATE landmatch.parcel SET geom = ST_Multi(ST_Expand(ST_SetSRID("
            "ST_MakePoint(:x, :y), 4490), 0.0002)) WHERE id = :id"
        ),
        {"x": red[0], "y": red[1], "id": pid},
    )
    assert _facts(conn, ["DV-MOVE"])["DV-MOVE"][0] is None  # not checked, never the old "clear"
    assert derived.settle(conn, [pid]) == 1
    assert _facts(conn, ["DV-MOVE"])["DV-MOVE"][0] is True


@pytest.fixture
def committed_codes(engine: Engine) -> Iterator[list[str]]:
    """Codes of parcels a test commits; removed again afterwards (versions and batches too)."""
    codes: list[str] = []
    yield codes
    with engine.begin() as conn:
        ids = conn.execute(
            text("SELECT id, import_id FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": codes}
        ).all()
        conn.execute(text("DELETE FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": codes})
        conn.execute(
            text("DELETE FROM landmatch.parcel_version WHERE code = ANY(:c)"), {"c": codes}
        )
        conn.execute(
            text("DELETE FROM landmatch.import_batch WHERE id = ANY(:i)"),
            {"i": sorted({r[1] for r in ids if r[1] is not None})},
        )
        conn.execute(
            text("DELETE FROM landmatch.parcel_dirty WHERE parcel_id = ANY(:i)"),
            {"i": [r[0] for r in ids]},
        )
    derived.drain(engine)  # the hard delete's cell deltas are applied inline; nothing is left


def test_drain_settles_a_committed_import_on_two_connections(
    engine: Engine, committed_codes: list[str]
) -> None:
    with engine.connect() as conn:
        clear = _site(conn, inside_exclusion=False)
    codes = [f"DV-C{i}" for i in range(25)]
    committed_codes.extend(codes)
    data = _file(
        [
            (c, _square(clear[0] + 0.003 * (i % 5), clear[1] + 0.003 * (i // 5)))
            for i, c in enumerate(codes)
        ]
    )
    with engine.begin() as conn:
        report = run_import(conn, data, "d.geojson", ADMIN, ImportOptions(settle_inline_max=0))
    assert report["derived"] == "pending"
    seen: list[tuple[int, int]] = []
    done = derived.drain(engine, chunk=4, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert done["facts"] >= 25 and done["cells"] >= 25
    assert seen and seen[-1][0] == seen[-1][1]
    with engine.connect() as conn:
        assert _queued(conn, codes) == 0
        facts = _facts(conn, codes)
    # Settled (distances computed); "not checked" for exclusions, as the seed declares no
    # basic-farmland layer for 石家庄 (the coverage is not committed here).
    assert len(facts) == 25 and all(f[0] is None and f[1] is not None for f in facts.values())


def _queued_import(
    engine: Engine, committed_codes: list[str], prefix: str, n: int, north: float
) -> list[str]:
    """Commit an import of ``n`` parcels in a row near the clear site (``north`` degrees up)
    whose derived data is queued, not settled; their codes."""
    with engine.connect() as conn:
        clear = _site(conn, inside_exclusion=False)
    codes = [f"{prefix}{i}" for i in range(n)]
    committed_codes.extend(codes)
    data = _file(
        [(c, _square(clear[0] + 0.003 * i, clear[1] + north)) for i, c in enumerate(codes)]
    )
    with engine.begin() as conn:
        run_import(conn, data, "d.geojson", ADMIN, ImportOptions(settle_inline_max=0))
    return codes


def test_a_cell_drain_and_a_concurrent_edit_take_their_locks_in_one_order(
    engine: Engine, committed_codes: list[str]
) -> None:
    """A write takes the data-version rows first (its ``data_version`` trigger), then the cells;
    the cell drain must too. Taking 'all' last, the drain held the new parcels' cells and
    waited for 'all' while the write held 'all' and waited for those cells: a deadlock."""
    codes = _queued_import(engine, committed_codes, "DV-L", 4, 0.01)
    errors: list[BaseException] = []
    with engine.connect() as edit, engine.connect() as drainer:
        drainer_pid = int(drainer.execute(text("SELECT pg_backend_pid()")).scalar_one())
        drainer.rollback()
        # The write holds the data versions (any parcel elsewhere will do)...
        edit.execute(
            text(
                "UPDATE landmatch.parcel SET name = name WHERE id = (SELECT min(id) FROM "
                "landmatch.parcel WHERE city_code <> '130100' AND deleted_at IS NULL)"
            )
        )

        def drain_cells() -> None:
            try:
                with drainer.begin():
                    derived.drain_cells(drainer)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        worker = threading.Thread(target=drain_cells)
        worker.start()
        wait_for_lock(engine, drainer_pid)
        # ... then touches the new parcels' cells, which the drain holds if it took them first.
        try:
            edit.execute(
                text("UPDATE landmatch.parcel SET name = name || '改' WHERE code = :c"),
                {"c": codes[0]},
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        edit.rollback()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert errors == []
    with engine.connect() as conn:
        assert derived.pending(conn)["cells"] == 0
        counted = conn.execute(
            text(
                "SELECT (SELECT sum(n) FROM landmatch.parcel_cell WHERE z = 11), "
                "(SELECT count(*) FROM landmatch.parcel WHERE deleted_at IS NULL)"
            )
        ).one()
    assert counted[0] == counted[1]


def test_a_drain_worker_that_finds_nothing_left_makes_no_new_version(
    engine: Engine, committed_codes: list[str]
) -> None:
    """Two facts workers: the second finds every queued parcel claimed by the first and
    returns at once, without taking the data versions, so tiles and the match's reference
    data keep their version."""
    _queued_import(engine, committed_codes, "DV-N", 3, 0.02)
    version = "SELECT version FROM landmatch.data_state WHERE name = 'all'"
    with engine.connect() as first, engine.connect() as second:
        assert derived.drain_facts(first) >= 3  # everything queued, held until its commit
        after_first = int(first.execute(text(version)).scalar_one())
        with second.begin():
            assert derived.drain_facts(second) == 0
        first.commit()
    with engine.connect() as conn:
        assert int(conn.execute(text(version)).scalar_one()) == after_first
        assert _queued(conn, committed_codes) == 0


def _drain_behind(engine: Engine, holder: Connection) -> tuple[threading.Thread, list[object]]:
    """A facts drain on a connection of its own, started while ``holder`` holds the data
    versions; returns once the drain waits for them (its thread, and its outcome when done)."""
    out: list[object] = []
    worker_conn = engine.connect()
    pid = int(worker_conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    worker_conn.rollback()

    def run() -> None:
        try:
            with worker_conn.begin():
                out.append(derived.drain_facts(worker_conn))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            out.append(exc)
        finally:
            worker_conn.close()

    holder.execute(text("UPDATE landmatch.data_state SET version = version WHERE name = 'all'"))
    worker = threading.Thread(target=run)
    worker.start()
    wait_for_lock(engine, pid)
    out.append(pid)
    return worker, out


def test_facts_are_computed_before_the_data_versions_are_taken(
    engine: Engine, committed_codes: list[str]
) -> None:
    """Several drains compute side by side: a drain waiting for the data versions (which
    every write and every other drain takes) has already read the reference layers."""
    _queued_import(engine, committed_codes, "DV-P", 3, 0.03)
    with engine.connect() as holder:
        worker, out = _drain_behind(engine, holder)
        read = holder.execute(
            text(
                "SELECT array_agg(relation::regclass::text ORDER BY relation::regclass::text) "
                "FROM pg_locks WHERE pid = :p AND relation = ANY(ARRAY["
                "'landmatch.facility'::regclass, 'landmatch.constraint_area'::regclass, "
                "'landmatch.dev_zone'::regclass])"
            ),
            {"p": out[0]},
        ).scalar_one()
        holder.rollback()
        worker.join(timeout=60)
    assert not worker.is_alive() and out[1] == 3
    assert read == ["landmatch.constraint_area", "landmatch.dev_zone", "landmatch.facility"]


def _dist(conn: Connection, code: str) -> float | None:
    value = conn.execute(
        text(
            "SELECT f.dist_highway_interchange_km FROM landmatch.parcel_fact f "
            "JOIN landmatch.parcel p ON p.id = f.parcel_id WHERE p.code = :c"
        ),
        {"c": code},
    ).scalar_one()
    return None if value is None else float(value)


def test_a_parcel_moved_while_its_facts_were_computed_is_computed_again(
    engine: Engine, committed_codes: list[str]
) -> None:
    """The drain computed a parcel's facts from its old place; the parcel moved (and the
    move committed) before the drain took the data versions: the drain computes it again
    from where it is now, instead of storing distances of a place it left."""
    code = _queued_import(engine, committed_codes, "DV-M", 1, 0.04)[0]
    with engine.connect() as holder:
        worker, out = _drain_behind(engine, holder)
        # Its queue row is claimed by the drain: queuing it again must not wait for the drain.
        holder.execute(
            text("UPDATE landmatch.parcel SET geom = ST_Translate(geom, 0.3, 0.2) WHERE code = :c"),
            {"c": code},
        )
        holder.commit()
        worker.join(timeout=60)
    assert not worker.is_alive() and out[1] == 1
    with engine.connect() as conn:
        drained = _dist(conn, code)
        assert _queued(conn, [code]) == 0
        pid = conn.execute(text("SELECT id FROM landmatch.parcel WHERE code = :c"), {"c": code})
        refresh_facts(conn, [pid.scalar_one()])
        assert drained is not None and drained == _dist(conn, code)
        conn.rollback()


def test_a_reference_change_while_facts_were_computed_counts(
    engine: Engine, committed_codes: list[str]
) -> None:
    """A facility added (and committed) while the drain computed: the drain computes its
    parcels again under the data versions, so the new facility counts."""
    code = _queued_import(engine, committed_codes, "DV-F", 1, 0.05)[0]
    with engine.connect() as holder:
        worker, out = _drain_behind(engine, holder)
        holder.execute(text("SET LOCAL landmatch.bulk = 'on'"))  # no history for a test row
        holder.execute(
            text(
                "INSERT INTO landmatch.facility (code, name, kind, geom) SELECT 'DV-FAC', "
                "'测试互通', 'highway_interchange', ST_PointOnSurface(geom) "
                "FROM landmatch.parcel WHERE code = :c"
            ),
            {"c": code},
        )
        holder.commit()
        worker.join(timeout=60)
    try:
        assert not worker.is_alive() and out[1] == 1
        with engine.connect() as conn:
            assert _dist(conn, code) == 0.0
    finally:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL landmatch.bulk = 'on'"))
            conn.execute(text("DELETE FROM landmatch.facility WHERE code = 'DV-FAC'"))


def test_a_parcel_another_transaction_holds_stays_queued(
    engine: Engine, committed_codes: list[str]
) -> None:
    """The drain does not wait for a parcel another transaction holds (a write holding it
    waits for the data versions the drain holds: they would deadlock); it stays queued and
    the next drain settles it."""
    codes = _queued_import(engine, committed_codes, "DV-H", 2, 0.06)
    with engine.connect() as holder, engine.connect() as drainer:
        holder.execute(
            text("SELECT 1 FROM landmatch.parcel WHERE code = :c FOR NO KEY UPDATE"),
            {"c": codes[1]},
        )
        with drainer.begin():
            assert derived.drain_facts(drainer) == 1
        assert _queued(drainer, codes) == 1 and _queued(drainer, codes[1:]) == 1
        drainer.rollback()
        holder.rollback()
        with drainer.begin():
            assert derived.drain_facts(drainer) == 1
        assert _queued(drainer, codes) == 0
        assert all(f[1] is not None for f in _facts(drainer, codes).values())


def test_every_fact_source_has_a_data_version(conn: Connection) -> None:
    """A drain notices a reference layer changed meanwhile by its data_state counter: each
    table the facts are computed from must have one (a write bumps only an existing row)."""
    from landmatch.db.facts import SOURCES

    names = set(conn.execute(text("SELECT name FROM landmatch.data_state")).scalars())
    assert set(SOURCES) <= names
