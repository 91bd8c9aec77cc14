"""Packaged analytic SQL (``landmatch/db/sql/*.sql``), read once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


@cache
def load(name: str) -> str:
    return (resources.files("landmatch.db") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def rows(session: Session, name: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of the packaged query ``name`` (bound ``params``), as dicts."""
    return [dict(r) for r in session.execute(text(load(name)), params).mappings()]


def column_batches(
    session: Session, sql: str, params: dict[str, Any], chunk: int = 2000
) -> Iterator[dict[str, Sequence[Any]]]:
    """The rows of ``sql`` read from a server-side cursor ``chunk`` at a time (a province's
    rows never sit in memory at once), each batch as its columns by name."""
    result = session.execute(
        text(sql), params, execution_options={"stream_results": True, "yield_per": chunk}
    )
    keys = list(result.keys())
    for rows in result.partitions(chunk):
        yield dict(zip(keys, zip(*rows, strict=True), strict=True))
