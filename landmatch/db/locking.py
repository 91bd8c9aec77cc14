"""Optimistic locking for every resource that carries an ETag (parcels, zones, policies,
projects, disposal cases, reference-layer features, accounts' role and scope, the monitoring
settings: a disposal target, a city's idle-land rule set).

A resource's ETag is its key and version. A write names the version it was made against in
``If-Match``; the check is part of the write itself: the row is locked (``SELECT … FOR UPDATE``)
in the writing transaction and only then compared. Of two writers holding the same ETag, the
second waits for the first to commit, then reads the new version and gets 412 — exactly one
of them writes.

A setting that may not be made yet (the monitoring settings) is version 0 until it is: its
first write names version 0 and inserts with ``ON CONFLICT DO NOTHING``; of two first writers
the second finds the first's row, locks it and is compared with it (``landmatch.monitoring``'s
``set_target``, ``set_rule``).

Callers that are not HTTP clients (the CLI, imports, the seed) pass :data:`ANY`: the row is still
locked, whatever its version.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.errors import NotFound, PreconditionFailed, PreconditionRequired

#: ``If-Match: *``: any current version (the row must exist).
ANY = "*"


def etag(key: object, version: int) -> str:
    """The strong ETag of version ``version`` of the resource ``key``. A header holds Latin-1
    only: the key (a parcel code such as 石经开2025-31号) is percent-encoded, as in its URL."""
    return f'"{quote(str(key), safe="")}.v{version}"'


def matches(if_match: str, current: str) -> bool:
    """Whether an ``If-Match`` value (``*`` or a list of tags) names the current ETag. Weak
    tags (``W/``) are compared by their value: proxies may weaken them."""
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    return ANY in tags or current in tags


def require_if_match(if_match: str | None, action: str) -> str:
    """428 unless the caller said which version it writes against."""
    if not if_match or not if_match.strip():
        raise PreconditionRequired(f"{action}需要 If-Match 请求头（取自 GET 响应的 ETag）")
    return if_match


def check_version(
    if_match: str | None, key: object, version: int, *, what: str, action: str = "修改"
) -> None:
    """428 without ``If-Match``; 412 unless it names version ``version`` of ``key``. Call it
    with the version read under the row lock (:func:`lock_row`). ``what`` names the kind of
    resource for the messages (地块, 开发区…), ``action`` the write (修改, 删除, 恢复…)."""
    value = require_if_match(if_match, f"{action}{what}")
    current = etag(key, version)
    if not matches(value, current):
        raise PreconditionFailed(
            f"{what} {key} 已被他人修改（当前版本 {version}），请重新获取后再提交",
            detail=[{"field": "If-Match", "reason": "版本已过期", "current": current}],
        )


def read_row(session: Session, sql: str, params: dict[str, Any], not_found: str) -> dict[str, Any]:
    """The row of ``sql`` (a SELECT of one row); 404 with ``not_found`` when there is none."""
    row = session.execute(text(sql), params).mappings().first()
    if row is None:
        raise NotFound(not_found)
    return dict(row)


def lock_row(session: Session, sql: str, params: dict[str, Any], not_found: str) -> dict[str, Any]:
    """The row of ``sql`` (a SELECT of one row, with its ``version``), locked until the end of
    the transaction: ``FOR UPDATE`` is appended (name the table with ``FOR UPDATE OF`` in
    ``sql`` itself when it joins)."""
    if " FOR UPDATE" not in sql:
        sql += " FOR UPDATE"
    return read_row(session, sql, params, not_found)
