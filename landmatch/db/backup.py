"""Backup and restore of the landmatch schema with PostgreSQL's own tools.

A backup is ``pg_dump --format=custom`` of the ``landmatch`` schema (parcels, their whole
history, zones, policies, reference layers, users, projects, match runs and the Alembic
revision). A restore refuses a dump whose schema revision is not the one this code expects,
then replaces the schema in ONE transaction: ``DROP SCHEMA landmatch CASCADE`` and the dump's
script run by ``psql --single-transaction``, so a failure at any point leaves the database as it
was. The data versions end above any value the servers may have cached, so no tile or match
cache serves data from before the restore.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from landmatch.db.engine import current_revision, get_engine, head_revision
from landmatch.db.tables import SCHEMA
from landmatch.errors import ConfigError, Conflict, InvalidInput, LandMatchError

Progress = Callable[[int, int], None]
MAGIC = b"PGDMP"
# pg_restore names every entry of its script in a comment header like these.
_ENTRY = re.compile(rb"^-- (?:Data for )?Name: ")
# pg_dump --verbose announces each table it copies.
_DUMPING = re.compile(r"dumping contents of table")


class BackupError(LandMatchError):
    status = 500
    type = "/problems/backup"
    title = "备份或恢复失败"


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries it
    (never on a command line, where ``ps`` would show it)."""
    u = make_url(url)
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    clean = u.set(drivername="postgresql", password=None)
    return clean.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    for candidate in (f"/usr/lib/postgresql/15/bin/{name}", f"/usr/bin/{name}"):
        if os.access(candidate, os.X_OK):
            return candidate
    raise ConfigError(f"找不到 {name}：请安装 postgresql-client-15（./scripts/up 会安装）")


def _fail(what: str, stderr: str) -> BackupError:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    tail = "\n".join(lines[-5:]) if lines else "（无输出）"
    return BackupError(f"{what}：\n{tail}")


def _catalog(url: str) -> tuple[int, list[str]]:
    """How many tables the schema has (for the progress bar) and the extensions installed in
    the database (PostGIS, btree_gist: the schema's types and indexes need them, and a schema
    dump leaves them out unless they are named)."""
    with get_engine(url).connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND c.relkind IN ('r', 'p')"
            ),
            {"s": SCHEMA},
        ).scalar()
        extensions = conn.execute(
            text("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname")
        ).scalars()
        return int(n or 0), list(extensions)


def backup(url: str, path: Path, progress: Progress | None = None) -> str:
    """Write the schema to ``path`` (custom format) and return its schema revision."""
    revision = current_revision(get_engine(url))
    if revision is None:
        raise InvalidInput(
            "数据库中没有 landmatch 数据结构，无可备份的内容（先运行 landmatch db upgrade）"
        )
    tables, extensions = _catalog(url)
    total = max(tables, 1)
    dsn, env = _libpq(url)
    tmp = path.with_name(path.name + ".partial")
    cmd = [
        _tool("pg_dump"),
        "--format=custom",
        f"--schema={SCHEMA}",
        *(f"--extension={name}" for name in extensions),
        "--no-owner",
        "--no-privileges",
        "--verbose",
        f"--file={tmp}",
        f"--dbname={dsn}",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, env=env, text=True)
    assert proc.stderr is not None
    done, errors = 0, []
    for line in proc.stderr:
        if _DUMPING.search(line):
            done += 1
            if progress:
                progress(min(done, total), total)
        elif "error" in line.lower():
            errors.append(line)
    if proc.wait() != 0:
        tmp.unlink(missing_ok=True)
        raise _fail("pg_dump 失败", "".join(errors))
    tmp.replace(path)
    if progress:
        progress(total, total)
    return revision


def dump_revision(path: Path) -> str:
    """The schema revision recorded in a backup file (its alembic_version row)."""
    if not path.is_file():
        raise InvalidInput(f"备份文件不存在：{path}")
    with path.open("rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise InvalidInput(
                f"{path.name} 不是 landmatch 备份文件"
                "（应为 landmatch db backup 生成的 pg_dump 自定义格式）"
            )
    out = subprocess.run(
        [
            _tool("pg_restore"),
            "--data-only",
            f"--schema={SCHEMA}",
            "--table=alembic_version",
            "--file=-",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise _fail(f"无法读取备份文件 {path.name}（可能已损坏）", out.stderr)
    lines = out.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"COPY {SCHEMA}.alembic_version") and i + 1 < len(lines):
            value = lines[i + 1].strip()
            if value and value != "\\.":
                return value
    raise InvalidInput(f"{path.name} 中没有 landmatch 数据结构版本，不是完整的 landmatch 备份")


def _contents(path: Path, into: Path) -> int:
    """Write the list of the dump's entries to restore into ``into`` and return their number.

    Extensions are created only if missing (pg_restore says IF NOT EXISTS); their comments are
    left out, since only an extension's owner may set them and the target's may be another."""
    out = subprocess.run([_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        raise _fail(f"无法读取备份文件 {path.name}（可能已损坏）", out.stderr)
    kept = [
        ln
        for ln in out.stdout.splitlines()
        if ln and not ln.startswith(";") and " COMMENT - EXTENSION " not in ln
    ]
    into.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return len(kept)


def _old_max_version(url: str) -> int:
    """The highest data version now in the database (0 without a schema); also makes sure
    PostGIS, which the schema's types need, is installed."""
    with get_engine(url).begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        exists = conn.execute(
            text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{SCHEMA}.data_state"}
        ).scalar()
        old = (
            conn.execute(
                text(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.data_state")
            ).scalar()
            if exists
            else 0
        )
    get_engine(url).dispose()  # our own pooled connections must not hold up the DROP SCHEMA
    return int(old or 0)


def restore(url: str, path: Path, progress: Progress | None = None) -> str:
    """Replace the database's landmatch schema with the backup in ``path``, atomically.

    Refuses a backup of another schema revision (restore it with the landmatch version that
    wrote it, then upgrade). Returns the restored revision."""
    revision = dump_revision(path)
    expected = head_revision()
    if revision != expected:
        raise Conflict(
            f"备份的数据结构版本为 {revision}，当前程序需要 {expected}：版本不一致，未做任何更改。"
            "请用生成该备份的 landmatch 版本恢复，再运行 landmatch db upgrade"
        )
    with tempfile.TemporaryDirectory(prefix="lm-restore-") as tmp:
        listing = Path(tmp) / "contents.list"
        total = max(_contents(path, listing), 1)
        old_max = _old_max_version(url)
        _replace_schema(url, path, listing, total, old_max, progress)
    return revision


def _replace_schema(
    url: str, path: Path, listing: Path, total: int, old_max: int, progress: Progress | None
) -> None:
    """Pipe the dump's script into one psql transaction that first drops the schema."""
    dsn, env = _libpq(url)
    script = subprocess.Popen(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            f"--use-list={listing}",
            "--file=-",
            str(path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    psql = subprocess.Popen(
        [
            _tool("psql"),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={dsn}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert script.stdout is not None and script.stderr is not None
    assert psql.stdin is not None and psql.stderr is not None
    psql_err: list[bytes] = []
    stderr = psql.stderr
    reader = threading.Thread(target=lambda: psql_err.append(stderr.read()), daemon=True)
    reader.start()
    psql_failed = False
    try:
        # Fail rather than wait forever behind a running server's locks.
        psql.stdin.write(
            b"SET lock_timeout = '30s';\nSET client_min_messages = warning;\n"
            + f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;\n".encode()
        )
        done = 0
        for line in script.stdout:
            if _ENTRY.match(line):
                done += 1
                if progress and done <= total:
                    progress(done, total)
            psql.stdin.write(line)
    except BrokenPipeError:  # psql stopped on an error (reported below): stop the reader too
        psql_failed = True
        script.kill()
    script_err = script.stderr.read().decode(errors="replace")
    if script.wait() != 0 and not psql_failed:
        # A truncated or damaged file: psql must never reach the end of its input (which would
        # commit what it has read so far). Killing it ends its session; the server rolls the
        # transaction back.
        psql.kill()
        psql.wait()
        reader.join()
        raise _fail(f"无法读取备份文件 {path.name}（可能已损坏），数据库未做任何更改", script_err)
    try:
        if psql_failed:
            raise BrokenPipeError
        # Above every version a running server may have cached (tiles, match references).
        psql.stdin.write(
            f"UPDATE {SCHEMA}.data_state SET version = version + {old_max + 1};\n".encode()
        )
        psql.stdin.close()
    except BrokenPipeError:
        pass
    rc_psql = psql.wait()
    reader.join()
    if rc_psql != 0:
        msg = b"".join(psql_err).decode(errors="replace")
        if "lock timeout" in msg:
            raise BackupError(
                "数据库正被使用，30 秒内未能取得锁：请先停止 landmatch 服务再恢复；"
                "数据库未做任何更改"
            )
        raise _fail("恢复失败，数据库未做任何更改", msg)
    if progress:
        progress(total, total)
