"""Packaged analytic SQL (``landmatch/db/sql/*.sql``), read once."""

from __future__ import annotations

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
