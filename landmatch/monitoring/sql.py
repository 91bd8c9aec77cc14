"""Packaged analytic SQL (``landmatch/db/sql/*.sql``), read once."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from functools import cache
from importlib import resources
from itertools import count
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.orm import Session

_CURSORS = count(1)  # names of server cursors, unique in a process


@cache
def load(name: str) -> str:
    return (resources.files("landmatch.db") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def rows(session: Session, name: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of the packaged query ``name`` (bound ``params``), as dicts."""
    return [dict(r) for r in session.execute(text(load(name)), params).mappings()]


def column_batches(
    session: Session, sql: str, params: dict[str, Any], chunk: int = 2000
) -> Generator[dict[str, Sequence[Any]], None, None]:
    """The rows of ``sql`` read from a server cursor ``chunk`` at a time (a province's rows
    never sit in memory at once), each batch as its columns by name, in the session's
    transaction.

    The database works out the next batch while the caller handles this one: each ``FETCH``
    is sent, in psycopg's pipeline mode, before the previous one's rows are handed out. (A
    server cursor computes its rows only when asked for them: fetching one batch at a time
    left the database idle while Python wrote rows, and Python idle while it made them.)
    Rows come as psycopg reads them, without SQLAlchemy's result layer.

    Until the stream is used up or closed its connection has a FETCH in flight: the session
    must not be used meanwhile, nor another stream of it overlap. Callers close it with
    :func:`contextlib.closing` (a writer that fails must not leave the stream to the garbage
    collector; the pool also refuses a connection left so: ``db.engine._refuse_pipelined``)."""
    connection = session.connection()
    raw = connection.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError("column_batches needs a psycopg connection")
    compiled = text(sql).compile(dialect=connection.dialect)
    name = f"lm_batches_{next(_CURSORS)}"
    raw.execute(
        f"DECLARE {name} NO SCROLL CURSOR FOR {compiled.string}",
        compiled.construct_params(params),
    )
    fetch = f"FETCH FORWARD {int(chunk)} FROM {name}"
    try:
        with raw.cursor() as this, raw.cursor() as ahead, raw.pipeline():
            this.execute(fetch)
            while True:
                ahead.execute(fetch)  # sent with the wait for this one's rows
                rows = this.fetchall()
                if not rows:
                    break
                keys = [c.name for c in this.description or ()]
                yield dict(zip(keys, zip(*rows, strict=True), strict=True))
                this, ahead = ahead, this
    finally:  # also when the caller stops early; a failed transaction has no cursor to close
        if raw.info.transaction_status == TransactionStatus.INTRANS:
            raw.execute(f"CLOSE {name}")
