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
