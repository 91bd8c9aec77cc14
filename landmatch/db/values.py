"""Database values as JSON values: dates as ISO strings, NUMERIC as float."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


def json_value(v: Any) -> Any:
    """A value read from PostgreSQL, ready for JSON (other values pass through)."""
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def json_row(row: Any) -> dict[str, Any]:
    """A result row (or mapping) as a dict of JSON values."""
    mapping = row._mapping if hasattr(row, "_mapping") else row
    return {k: json_value(v) for k, v in mapping.items()}
