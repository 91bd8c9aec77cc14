"""Engine, sessions and migrations; the database time limits (connect, pool, statement)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from psycopg import pq
from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker

from landmatch.dates import BEIJING_ZONE_NAME
from landmatch.db.membership import MIN_SHARE_GUC
from landmatch.db.watchdog import WATCHDOG

if TYPE_CHECKING:
    from landmatch.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
#: How much longer than its statement limit a statement may go unanswered before the client cuts
#: its connection (a running server cancels it at the limit itself).
GRACE_S = 2.0
#: /healthz's own limits: it answers within 2 s whatever the database does.
HEALTH_DEADLINE_S = 1.8
#: Every connection's session time zone is Beijing's, whatever the server's: SQL's
#: ``current_date``, ``now()::date`` and any timestamptz-to-date cast give the Beijing calendar
#: date, as :func:`landmatch.dates.beijing_today` does. Stored instants do not change; psycopg
#: hands timestamps back in ``+08:00``.
SESSION_OPTIONS = f"-c TimeZone={BEIJING_ZONE_NAME}"


@dataclass(frozen=True)
class Limits:
    """How long database work may wait, in seconds: ``connect_s`` to open a connection (libpq
    counts whole seconds, at least 2), ``pool_s`` for a pooled connection to come free,
    ``statement_s`` for one statement (cancelled by the server; 0 = no limit). Past
    ``statement_s + GRACE_S`` — a frozen or unreachable server cancels nothing — the client
    cuts the connection (:mod:`landmatch.db.watchdog`), so no caller waits for ever."""

    connect_s: float = 3
    pool_s: float = 3
    statement_s: float = 5


def request_limits(settings: Settings) -> Limits:
    return Limits(
        settings.db_connect_timeout, settings.db_pool_timeout, settings.db_statement_timeout
    )


def job_limits(settings: Settings) -> Limits:
    """Long jobs (imports, exports, settling, the seed, the CLI): their own statement limit."""
    return Limits(settings.db_connect_timeout, 60, settings.db_job_statement_timeout)


def health_limits(settings: Settings) -> Limits:
    return Limits(min(settings.db_connect_timeout, 2), 0.5, 1)


@lru_cache(maxsize=16)
def get_engine(
    url: str,
    limits: Limits | None = None,
    pool_size: int = 10,
    zone_min_share: float | None = None,
) -> Engine:
    """The engine for ``url``. With ``limits``, every connection, pool wait and statement is
    bounded (:class:`Limits`); without, none is (migrations, test fixtures). With
    ``zone_min_share``, every connection carries that zone-membership threshold
    (:mod:`landmatch.db.membership`); without, the default applies. Every connection runs in
    Beijing time (:data:`SESSION_OPTIONS`)."""
    options = [SESSION_OPTIONS]
    if zone_min_share:
        options.append(f"-c {MIN_SHARE_GUC}={float(zone_min_share)!r}")
    if limits is None:
        extra: dict[str, Any] = {"options": " ".join(options)}
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10, connect_args=extra
        )
        _refuse_pipelined(engine)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": max(2, round(limits.connect_s))}
    if limits.statement_s:
        options.append(f"-c statement_timeout={round(limits.statement_s * 1000)}")
    connect_args["options"] = " ".join(options)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=limits.pool_s,
        connect_args=connect_args,
    )
    _refuse_pipelined(engine)
    _watch(engine, limits)
    return engine


def _refuse_pipelined(engine: Engine) -> None:
    """Never keep a connection returned in psycopg's pipeline mode: one whose batch stream
    (:func:`landmatch.monitoring.sql.column_batches`) was left open when its session ended.
    Its next user's ping would fail (psycopg refuses to change autocommit in a pipeline), and
    the old stream, once collected, would end the pipeline and send its CLOSE on the
    connection someone else holds. The pool closes it and opens a new one when next asked
    (the streams' callers close them; this is the net, and it says so in the log)."""

    @event.listens_for(engine, "checkin")
    def _check(dbapi_conn: Any, record: Any) -> None:
        pgconn = getattr(dbapi_conn, "pgconn", None)
        if pgconn is not None and pgconn.pipeline_status != pq.PipelineStatus.OFF:
            log.warning("a connection came back in pipeline mode (a batch stream left open)")
            record.invalidate()


def _watch(engine: Engine, limits: Limits) -> None:
    """Put every statement, and the ping that checks a pooled connection before it is handed
    out, under the watchdog (SQLAlchemy's own ``pool_pre_ping`` would wait for ever on a
    frozen server)."""
    ping_s = max(limits.connect_s, 1.0)

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        try:
            with WATCHDOG.armed(dbapi_conn, ping_s):
                engine.dialect.do_ping(dbapi_conn)
        except Exception as e:  # noqa: BLE001 - a dead connection: the pool opens a new one
            raise exc.DisconnectionError(str(e)) from e

    if not limits.statement_s:
        return
    overdue = limits.statement_s + GRACE_S

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, cursor: Any, *_: Any) -> None:
        WATCHDOG.arm(cursor.connection, overdue)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn: Any, cursor: Any, *_: Any) -> None:
        WATCHDOG.disarm(cursor.connection)

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        cursor = getattr(context.execution_context, "cursor", None)
        if cursor is not None:
            WATCHDOG.disarm(cursor.connection)

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_conn: Any, record: Any) -> None:
        WATCHDOG.disarm(dbapi_conn)  # whatever happened, a connection at rest is not watched


def request_engine(settings: Settings) -> Engine:
    return get_engine(
        settings.database_url, request_limits(settings), zone_min_share=settings.zone_min_share
    )


def read_engine(settings: Settings) -> Engine | None:
    """The replica's engine for public reads, with the request limits; None without a
    ``read_database_url`` (everything reads the primary)."""
    if not settings.read_database_url:
        return None
    return get_engine(
        settings.read_database_url,
        request_limits(settings),
        zone_min_share=settings.zone_min_share,
    )


def job_engine(settings: Settings) -> Engine:
    return get_engine(
        settings.database_url,
        job_limits(settings),
        pool_size=4,
        zone_min_share=settings.zone_min_share,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The schema revision this code expects (the head of its migrations)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM landmatch.alembic_version")).scalar()
        except Exception:
            return None


@contextmanager
def audited(
    session: Session,
    actor: str | None,
    reason: str | None = None,
    import_id: int | None = None,
) -> Iterator[Session]:
    """Tell the history triggers who writes and why, for this transaction only."""
    session.execute(
        text(
            "SELECT set_config('landmatch.actor', :actor, true),"
            " set_config('landmatch.reason', :reason, true),"
            " set_config('landmatch.import_id', :import_id, true)"
        ),
        {
            "actor": actor or "",
            "reason": reason or "",
            "import_id": "" if import_id is None else str(import_id),
        },
    )
    yield session
