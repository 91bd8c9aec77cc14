"""The CLI: import with --dry-run writes nothing; check prints the checks."""

from __future__ import annotations

import os

from sqlalchemy import text
from typer.testing import CliRunner

from landmatch.cli import app
from tests.inventory.conftest import feature, geojson_bytes


def test_cli_dry_run_and_check(tmp_path, engine, settings, monkeypatch):  # type: ignore[no-untyped-def]
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
