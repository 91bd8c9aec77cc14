"""Packaged analytic SQL (``landmatch/db/sql/*.sql``), read once."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    return (resources.files("landmatch.db") / "sql" / f"{name}.sql").read_text(encoding="utf-8")
