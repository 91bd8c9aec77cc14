"""``landmatch db backup`` / ``db restore``: a seeded database round-trips through the real
commands (pg_dump / pg_restore / psql underneath); a dump of another schema revision and a
damaged file are refused and leave the target database as it was."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from landmatch.db.engine import upgrade
from landmatch.settings import Settings

# Every table whose contents must survive; data_state is bumped on purpose by a restore.
COMPARED = (
    "parcel",
    "parcel_version",
    "dev_zone",
    "zone_assessment",
    "policy",
    "facility",
    "constraint_area",
    "admin_division",
    "layer_version",
    "app_user",
    "api_token",
    "project",
    "reservation",
)


def cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landmatch.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "LANDMATCH_DATABASE_URL": url, "COLUMNS": "400"},
        timeout=600,
    )


def digest(engine: Engine, table: str) -> tuple[int, str]:
    """Row count and an order-independent digest of a table's whole contents (timestamps as
    text in one zone, whatever the engine's sessions use)."""
    with engine.connect() as conn:
        conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
        row = conn.execute(
            text(
                f"SELECT count(*), coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') "
                f"FROM landmatch.{table} t"
            )
        ).one()
    return int(row[0]), str(row[1])


@pytest.fixture
def scratch_db(settings: Settings) -> Iterator[str]:
    """URL of a new, empty database on the same server, dropped afterwards."""
    name = f"lm_scratch_{uuid.uuid4().hex[:10]}"
    base = make_url(settings.database_url)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    yield url
    from landmatch.db.engine import get_engine

    get_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_round_trip_keeps_every_parcel_and_version(
    engine: Engine, settings: Settings, scratch_db: str, tmp_path: Path
) -> None:
    dump = tmp_path / "landmatch.dump"
    r = cli("db", "backup", str(dump), url=settings.database_url)
    assert r.returncode == 0, r.stderr
    assert dump.read_bytes()[:5] == b"PGDMP"
    assert "已备份" in r.stdout

    r = cli("db", "restore", str(dump), "--yes", url=scratch_db)
    assert r.returncode == 0, r.stderr + r.stdout
    restored = create_engine(scratch_db)
    try:
        for table in COMPARED:
            assert digest(restored, table) == digest(engine, table), table
        n_parcels, _ = digest(restored, "parcel")
        n_versions, _ = digest(restored, "parcel_version")
        assert n_parcels > 0 and n_versions >= n_parcels
        # The history still works on the restored copy: a write there is versioned.
        with restored.begin() as conn:
            code = conn.execute(text("SELECT code FROM landmatch.parcel LIMIT 1")).scalar_one()
            before = conn.execute(
                text(
                    "SELECT count(*) FROM landmatch.parcel_version v "
                    "JOIN landmatch.parcel p ON p.id = v.parcel_id WHERE p.code = :c"
                ),
                {"c": code},
            ).scalar_one()
            conn.execute(
                text("UPDATE landmatch.parcel SET name = name || '·' WHERE code = :c"), {"c": code}
            )
            after = conn.execute(
                text(
                    "SELECT count(*) FROM landmatch.parcel_version v "
                    "JOIN landmatch.parcel p ON p.id = v.parcel_id WHERE p.code = :c"
                ),
                {"c": code},
            ).scalar_one()
        assert after == before + 1
    finally:
        restored.dispose()

    # Restoring again over a database that already has (changed) data replaces it, and its
    # data versions end above every version it had, so no server cache serves older data.
    restored = create_engine(scratch_db)
    with restored.connect() as conn:
        seen = conn.execute(text("SELECT max(version) FROM landmatch.data_state")).scalar_one()
    restored.dispose()
    r = cli("db", "restore", str(dump), "--yes", url=scratch_db)
    assert r.returncode == 0, r.stderr + r.stdout
    restored = create_engine(scratch_db)
    try:
        assert digest(restored, "parcel") == digest(engine, "parcel")
        with restored.connect() as conn:
            low = conn.execute(text("SELECT min(version) FROM landmatch.data_state")).scalar_one()
        assert low > seen
    finally:
        restored.dispose()


def test_other_revision_and_damaged_files_change_nothing(
    engine: Engine, settings: Settings, scratch_db: str, tmp_path: Path
) -> None:
    good = tmp_path / "good.dump"
    assert cli("db", "backup", str(good), url=settings.database_url).returncode == 0
    assert cli("db", "restore", str(good), "--yes", url=scratch_db).returncode == 0
    target = create_engine(scratch_db)
    before = digest(target, "parcel"), digest(target, "parcel_version")

    # A dump of an older schema revision.
    old_db = scratch_db.rsplit("/", 1)[0] + f"/lm_old_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(settings.database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{old_db.rsplit("/", 1)[1]}"'))
    try:
        upgrade(old_db, "0013_parcel_write_indexes")
        old = tmp_path / "old.dump"
        assert cli("db", "backup", str(old), url=old_db).returncode == 0
        r = cli("db", "restore", str(old), "--yes", url=scratch_db)
        assert r.returncode != 0
        assert "0013_parcel_write_indexes" in r.stderr and "版本不一致" in r.stderr
        assert "Traceback" not in r.stderr
    finally:
        from landmatch.db.engine import get_engine

        get_engine(old_db).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{old_db.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()

    # A truncated dump: its table of contents reads, its data does not.
    data = good.read_bytes()
    cut = tmp_path / "cut.dump"
    cut.write_bytes(data[: len(data) * 2 // 3])
    r = cli("db", "restore", str(cut), "--yes", url=scratch_db)
    assert r.returncode != 0 and "未做任何更改" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr

    # Not a dump at all.
    junk = tmp_path / "notes.txt"
    junk.write_text("地块清单", encoding="utf-8")
    r = cli("db", "restore", str(junk), "--yes", url=scratch_db)
    assert r.returncode != 0 and "不是 landmatch 备份文件" in r.stderr

    try:
        assert (digest(target, "parcel"), digest(target, "parcel_version")) == before
    finally:
        target.dispose()


def test_backup_of_an_empty_database_says_so(scratch_db: str, tmp_path: Path) -> None:
    r = cli("db", "backup", str(tmp_path / "x.dump"), url=scratch_db)
    assert r.returncode != 0 and "db upgrade" in r.stderr
    assert not (tmp_path / "x.dump").exists()
