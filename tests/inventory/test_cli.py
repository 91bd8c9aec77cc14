"""The CLI: import with --dry-run writes nothing; check prints the checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from landmatch.cli import app
from landmatch.settings import Settings
from tests.inventory.conftest import feature, geojson_bytes


def test_cli_dry_run_and_check(
    tmp_path: Path, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from landmatch.settings import get_settings

    monkeypatch.setenv("LANDMATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    f = tmp_path / "p.geojson"
    f.write_bytes(geojson_bytes(feature("CLI-001")))
    with engine.connect() as c:
        before = c.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar()
    r = CliRunner().invoke(app, ["import", str(f), "--dry-run", "--city", "130100"])
    assert r.exit_code == 0, r.output
    assert "试运行" in r.output and "新增" in r.output
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar() == before
    r = CliRunner().invoke(app, ["check", "--city", "130100", "--limit", "2"])
    assert r.exit_code == 0, r.output
    assert "熟地缺少核查项" in r.output and "管控区核查" in r.output
    assert os.environ["LANDMATCH_DATABASE_URL"] == settings.database_url


def test_cli_import_settles_after_commit_and_rolls_back(
    tmp_path: Path, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A committed CLI import that defers its derived data (as a large one does): the parcels,
    their history (who, why) and, right after, their facts; then the whole import undone."""
    from landmatch.settings import get_settings
    from tests.inventory.conftest import square

    monkeypatch.setenv("LANDMATCH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LANDMATCH_IMPORT_SETTLE_INLINE_MAX", "0")
    get_settings.cache_clear()
    codes = ["CLI-S1", "CLI-S2"]
    f = tmp_path / "s.geojson"
    f.write_bytes(geojson_bytes(feature(codes[0]), feature(codes[1], square(114.52, 38.05))))
    try:
        r = CliRunner().invoke(app, ["import", str(f), "--reason", "年度更新"])
        assert r.exit_code == 0, r.output
        with engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT p.code, v.actor, v.reason, v.import_id, f.constraint_hits IS NOT NULL "
                    "FROM landmatch.parcel p JOIN landmatch.parcel_version v ON v.parcel_id = p.id "
                    "LEFT JOIN landmatch.parcel_fact f ON f.parcel_id = p.id "
                    "WHERE p.code = ANY(:c) ORDER BY p.code"
                ),
                {"c": codes},
            ).all()
            queued = c.execute(
                text(
                    "SELECT count(*) FROM landmatch.parcel_dirty d JOIN landmatch.parcel p "
                    "ON p.id = d.parcel_id WHERE p.code = ANY(:c)"
                ),
                {"c": codes},
            ).scalar()
        assert [r_[0] for r_ in rows] == codes
        assert all(r_[1].startswith("cli") and r_[2] == "年度更新" for r_ in rows)
        assert all(r_[4] for r_ in rows) and queued == 0  # settled right after the commit
        import_id = rows[0][3]
        r = CliRunner().invoke(app, ["import-rollback", str(import_id)])
        assert r.exit_code == 0, r.output
        with engine.connect() as c:
            live = c.execute(
                text(
                    "SELECT count(*) FROM landmatch.parcel WHERE code = ANY(:c) "
                    "AND deleted_at IS NULL"
                ),
                {"c": codes},
            ).scalar()
        assert live == 0
    finally:
        with engine.begin() as c:
            batches = (
                c.execute(
                    text(
                        "SELECT DISTINCT import_id FROM landmatch.parcel_version WHERE code = ANY(:c)"
                    ),
                    {"c": codes},
                )
                .scalars()
                .all()
            )
            c.execute(text("DELETE FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": codes})
            c.execute(
                text("DELETE FROM landmatch.parcel_version WHERE code = ANY(:c)"), {"c": codes}
            )
            c.execute(
                text("DELETE FROM landmatch.import_batch WHERE id = ANY(:i)"),
                {"i": [b for b in batches if b is not None]},
            )
        get_settings.cache_clear()
