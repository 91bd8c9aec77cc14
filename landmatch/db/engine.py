"""Engine, sessions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


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


def schema_behind(exc: BaseException) -> bool:
    """Whether a database error means the schema is older than the code (a table, column or
    function it expects is missing): the answer is ``landmatch db upgrade``."""
    import psycopg.errors as pe

    orig = getattr(exc, "orig", None)
    return isinstance(orig, pe.UndefinedTable | pe.UndefinedColumn | pe.UndefinedFunction)


UPGRADE_HINT = "数据库结构不是最新版本，请先运行 landmatch db upgrade（或 ./scripts/up）"


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
