"""The ``landmatch`` command: plain-language errors, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from landmatch.errors import ConfigError
from landmatch.settings import load_settings


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landmatch.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_every_command_has_help():
    for cmd in (
        ["--help"],
        ["db", "upgrade", "--help"],
        ["db", "settle", "--help"],
        ["db", "backup", "--help"],
        ["db", "restore", "--help"],
        ["seed", "--help"],
        ["serve", "--help"],
        ["users", "add", "--help"],
    ):
        r = run(*cmd)
        assert r.returncode == 0, r.stderr
        assert "Usage" in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["seed", "--parcels", "lots"],
        ["seed", "--as-of", "yesterday"],
        ["frobnicate"],
        ["users", "add", "x", "--role", "king"],
    ],
)
def test_cli_mistakes_exit_non_zero_without_a_traceback(args, settings):
    r = run(*args, env={"LANDMATCH_DATABASE_URL": settings.database_url})
    assert r.returncode != 0
    assert "Traceback" not in r.stderr + r.stdout
    assert (r.stderr + r.stdout).strip()


def test_unreachable_database_is_a_plain_message():
    r = run(
        "seed", "--parcels", "10", env={"LANDMATCH_DATABASE_URL": "postgresql://x@127.0.0.1:1/none"}
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "LANDMATCH_DATABASE_URL" in r.stderr


def test_a_wrong_setting_names_the_variable():
    r = run("db", "upgrade", env={"LANDMATCH_DATABASE_URL": "mysql://x@y/z"})
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "LANDMATCH_DATABASE_URL" in r.stderr
    with pytest.raises(ConfigError, match="LANDMATCH_PORT"):
        load_settings(port=0)


def test_production_refuses_the_default_secret():
    with pytest.raises(ConfigError, match="LANDMATCH_SECRET_KEY"):
        load_settings(mode="production")
    assert load_settings(mode="production", secret_key="s3cret-for-real").mode == "production"


def test_users_add_prints_a_token_that_authenticates(settings, engine):
    r = run(
        "users",
        "add",
        "cli-test-user",
        "--role",
        "promoter",
        env={"LANDMATCH_DATABASE_URL": settings.database_url},
    )
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert token.startswith("lm_")
    from sqlalchemy import text

    from landmatch.accounts.tokens import principal_for_token
    from landmatch.db.engine import session_factory

    with session_factory(engine).begin() as s:
        assert principal_for_token(s, token).role == "promoter"
        s.execute(text("DELETE FROM landmatch.app_user WHERE name = 'cli-test-user'"))


def test_an_old_schema_asks_for_db_upgrade(settings, tmp_path):
    """Code newer than the database: the command says what to run, not a table name."""
    from sqlalchemy import create_engine, text

    from landmatch.db.engine import upgrade
    from landmatch.db.failures import UPGRADE_HINT

    base, _, _name = settings.database_url.rpartition("/")
    name = f"landmatch_old_{os.getpid()}"
    admin = create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = f"{base}/{name}"
        upgrade(url, "0003_perfmatch")  # before the write-path migrations
        r = run("db", "settle", env={"LANDMATCH_DATABASE_URL": url})
        assert r.returncode != 0 and "Traceback" not in r.stderr + r.stdout
        assert UPGRADE_HINT in r.stderr, r.stderr
        # No reference layers loaded yet: an import says so instead of failing inside.
        upgrade(url)
        f = tmp_path / "one.geojson"
        f.write_text(
            '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
            '{"code":"OLD-1","name":"旧库","land_use":"100102"},"geometry":{"type":"Polygon",'
            '"coordinates":[[[114.5,38.04],[114.502,38.04],[114.502,38.042],[114.5,38.04]]]}}]}',
            encoding="utf-8",
        )
        r = run("import", str(f), env={"LANDMATCH_DATABASE_URL": url})
        assert r.returncode != 0 and "Traceback" not in r.stderr + r.stdout
        assert "行政区划图层未加载" in r.stderr, r.stderr
        r = run("db", "settle", env={"LANDMATCH_DATABASE_URL": url})
        assert r.returncode == 0 and "nothing queued" in r.stdout
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
