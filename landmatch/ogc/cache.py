"""Small in-process caches keyed by the table's data version.

Every write bumps ``landmatch.data_state`` (a statement trigger), so an entry stored under the
version a snapshot saw can never be served for different data. Reads inside a transaction that
has itself written (tests, or a write-then-read request) bypass the cache: their version number
may be rolled back and reused.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

_MAX = 512
_lock = threading.Lock()
_store: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

_VERSION_SQL = text(
    "SELECT version, pg_current_xact_id_if_assigned() IS NULL "
    "FROM landmatch.data_state WHERE name = :s"
)


def data_version(session: Session, state: str) -> int | None:
    """The table's data version, or None when caching must be bypassed."""
    if not state:
        return None
    row = session.execute(_VERSION_SQL, {"s": state}).first()
    if row is None or not row[1]:
        return None
    return int(row[0])


def database_key(session: Session) -> str:
    return str(session.get_bind().engine.url)


def get(key: tuple[Any, ...]) -> Any:
    with _lock:
        if key in _store:
            _store.move_to_end(key)
            return _store[key]
    return None


def put(key: tuple[Any, ...], value: Any) -> None:
    with _lock:
        _store[key] = value
        _store.move_to_end(key)
        while len(_store) > _MAX:
            _store.popitem(last=False)


def clear() -> None:
    with _lock:
        _store.clear()
