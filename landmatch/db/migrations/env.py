"""Alembic environment: runs the packaged migrations against the configured database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from landmatch.db.engine import SESSION_OPTIONS
from landmatch.db.tables import SCHEMA, Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("sqlalchemy.url is not set in the Alembic config")
        engine = create_engine(
            url, poolclass=pool.NullPool, connect_args={"options": SESSION_OPTIONS}
        )
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _only_our_schema(name, type_, parent_names):  # type: ignore[no-untyped-def]
    if type_ == "schema":
        return name == SCHEMA
    return True


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=SCHEMA,
        include_schemas=True,
        include_name=_only_our_schema,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
