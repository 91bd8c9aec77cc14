"""The ``landmatch`` command: plain-language errors, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from landmatch.errors import ConfigError
from landmatch.settings import Settings, load_settings


def run(
    *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landmatch.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        input=input,
    )


def test_every_command_has_help() -> None:
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
def test_cli_mistakes_exit_non_zero_without_a_traceback(
    args: list[str], settings: Settings
) -> None:
    r = run(*args, env={"LANDMATCH_DATABASE_URL": settings.database_url})
    assert r.returncode != 0
    assert "Traceback" not in r.stderr + r.stdout
    assert (r.stderr + r.stdout).strip()


def test_unreachable_database_is_a_plain_message() -> None:
    r = run(
        "seed", "--parcels", "10", env={"LANDMATCH_DATABASE_URL": "postgresql://x@127.0.0.1:1/none"}
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "LANDMATCH_DATABASE_URL" in r.stderr


def test_a_wrong_setting_names_the_variable() -> None:
    r = run("db", "upgrade", env={"LANDMATCH_DATABASE_URL": "mysql://x@y/z"})
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "LANDMATCH_DATABASE_URL" in r.stderr
    with pytest.raises(ConfigError, match="LANDMATCH_PORT"):
        load_settings(port=0)


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigError, match="LANDMATCH_SECRET_KEY"):
        load_settings(mode="production")
    assert load_settings(mode="production", secret_key="s3cret-for-real").mode == "production"


def test_users_add_prints_a_token_that_authenticates(settings: Settings, engine: Engine) -> None:
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


def test_an_old_schema_asks_for_db_upgrade(settings: Settings, tmp_path: Path) -> None:
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


def test_a_missing_table_asks_for_an_upgrade_wrapped_or_not() -> None:
    """psycopg's own error (a batch stream reads without SQLAlchemy) as much as SQLAlchemy's
    wrapper of it means the schema is behind the code."""
    import psycopg
    from sqlalchemy import exc

    from landmatch.db.failures import schema_behind

    missing = psycopg.errors.UndefinedTable('relation "landmatch.x" does not exist')
    assert schema_behind(missing)
    assert schema_behind(exc.ProgrammingError("SELECT 1", {}, missing))
    assert not schema_behind(psycopg.errors.DivisionByZero("division by zero"))


def test_users_commands_add_list_revoke_disable(settings: Settings, engine: Engine) -> None:
    """users add with a password from stdin (and a token), list, tokens, revoke, disable."""
    from sqlalchemy import text

    from landmatch.accounts.tokens import principal_for_token
    from landmatch.db.engine import session_factory
    from landmatch.errors import Unauthorized

    env = {"LANDMATCH_DATABASE_URL": settings.database_url}
    name = "cli-pw-user"
    try:
        r = run(
            "users",
            "add",
            name,
            "--role",
            "promoter",
            "--team",
            "南区",
            "--password-stdin",
            "--token",
            env=env,
            input="石家庄-招商-口令-1\n",
        )
        assert r.returncode == 0, r.stderr
        token = r.stdout.strip()
        assert token.startswith("lm_") and "石家庄" not in r.stdout
        weak = run(
            "users",
            "add",
            "cli-weak",
            "--role",
            "promoter",
            "--password-stdin",
            env=env,
            input="password123\n",
        )
        assert weak.returncode == 2 and "过于常见" in weak.stderr
        listed = run("users", "list", env=env)
        assert name in listed.stdout and "待改密码" in listed.stdout and "南区" in listed.stdout
        tok_list = run("users", "tokens", name, env=env)
        assert "命令行创建" in tok_list.stdout and "有效" in tok_list.stdout
        assert run("users", "revoke", token, env=env).returncode == 0
        with session_factory(engine).begin() as s, pytest.raises(Unauthorized):
            principal_for_token(s, token)
        second = run(
            "users", "token", name, "--name", "夜间导出", "--days", "7", env=env
        ).stdout.strip()
        assert run("users", "disable", name, env=env).returncode == 0
        with session_factory(engine).begin() as s, pytest.raises(Unauthorized):
            principal_for_token(s, second)
        assert "已停用" in run("users", "list", "--all", env=env).stdout
        assert run("users", "enable", name, env=env).returncode == 0
        with session_factory(engine).begin() as s:
            assert principal_for_token(s, second).name == name
            events = (
                s.execute(
                    text("SELECT event FROM landmatch.audit_log WHERE subject = :n"), {"n": name}
                )
                .scalars()
                .all()
            )
            assert {"user_created", "token_created", "token_revoked", "user_disabled"} <= set(
                events
            )
            assert all(
                a.startswith("cli")
                for a in s.execute(
                    text("SELECT actor FROM landmatch.audit_log WHERE subject = :n"), {"n": name}
                ).scalars()
            )
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.app_user WHERE name = :n"), {"n": name})
            c.execute(text("DELETE FROM landmatch.audit_log WHERE subject = :n"), {"n": name})


def test_idle_scan_writes_areas_as_people_read_them(settings: Settings, engine: Engine) -> None:
    """亩 to 0.01 with thousands separators (docs/domain.md §0), as everywhere else."""
    import re

    env = {"LANDMATCH_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    r = run("idle-scan", "--show", "0", env=env)
    assert r.returncode == 0, r.stderr
    areas = [line.split("│")[3].strip() for line in r.stdout.splitlines() if line.count("│") == 4]
    assert areas and all(re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2}", a) for a in areas), r.stdout
    assert any("," in a for a in areas), r.stdout
