"""A WHERE clause built filter by filter with its bound parameters, and the page of rows it
selects with the count of all of them (listings, exports, map tiles, import reports, alerts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass
class Where:
    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def given(self, value: Any, clause: str, name: str) -> Where:
        """Add ``clause``, binding ``value`` as ``:name``, when there is a value (None, "" or
        an empty list is no filter; False and 0 are one)."""
        if value is None or (isinstance(value, str | list | tuple) and not value):
            return self
        self.clauses.append(clause)
        self.params[name] = value
        return self

    def when(self, condition: object, clause: str) -> Where:
        """Add ``clause``, which binds nothing, when ``condition`` holds."""
        if condition:
            self.clauses.append(clause)
        return self

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) or "true"


def page_of(
    session: Session, select: str, table: str, where: Where, order: str, offset: int, limit: int
) -> tuple[int, list[Any]]:
    """How many rows of ``table`` (aliased as the ``select`` reads it) match, and the page of
    ``select`` … WHERE … ORDER BY ``order`` at ``offset``."""
    total = session.execute(
        text(f"SELECT count(*) FROM {table} WHERE {where.sql}"), where.params
    ).scalar_one()
    rows = session.execute(
        text(f"{select} WHERE {where.sql} ORDER BY {order} OFFSET :o LIMIT :l"),
        where.params | {"o": offset, "l": limit},
    ).all()
    return int(total), list(rows)
