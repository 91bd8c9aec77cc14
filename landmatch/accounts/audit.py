"""The audit log: who signed in, out or failed to, and every change to accounts and tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.db.where import Where, page_of
from landmatch.errors import InvalidInput
from landmatch.paging import Page

EVENTS: dict[str, str] = {
    "login": "登录成功",
    "login_failed": "登录失败",
    "login_throttled": "登录受限（尝试过多）",
    "logout": "退出登录",
    "session_revoked": "会话被撤销",
    "password_changed": "修改密码",
    "password_reset": "管理员重置密码",
    "user_created": "创建账号",
    "user_updated": "修改账号",
    "user_disabled": "停用账号",
    "user_enabled": "启用账号",
    "token_created": "创建令牌",
    "token_revoked": "吊销令牌",
}


@dataclass(frozen=True)
class Client:
    """Where a request came from, as recorded in the log (and used for throttling)."""

    address: str | None = None
    user_agent: str | None = None


NO_CLIENT = Client()


@dataclass(frozen=True)
class Entry:
    id: int
    at: dt.datetime
    event: str
    actor: str | None
    subject: str | None
    address: str | None
    user_agent: str | None
    detail: dict[str, Any] | None

    @property
    def label(self) -> str:
        return EVENTS.get(self.event, self.event)


def record(
    session: Session,
    event: str,
    *,
    actor: str | None,
    subject: str | None = None,
    client: Client = NO_CLIENT,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one entry (in the caller's transaction)."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event}")
    session.execute(
        text(
            "INSERT INTO landmatch.audit_log (event, actor, subject, address, user_agent, detail) "
            "VALUES (:e, :a, :s, :ip, :ua, CAST(:d AS jsonb))"
        ),
        {
            "e": event,
            "a": actor,
            "s": subject[:64] if subject else subject,
            "ip": client.address,
            "ua": (client.user_agent or "")[:300] or None,
            "d": None if detail is None else _json(detail),
        },
    )


def _json(detail: dict[str, Any]) -> str:
    import json

    return json.dumps(detail, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class AuditFilter:
    event: str | None = None
    user: str | None = None  # actor or subject
    address: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive

    def __post_init__(self) -> None:
        if self.event and self.event not in EVENTS:
            raise InvalidInput(
                f"未知事件类型 {self.event}",
                detail=[{"field": "event", "reason": "取值不在允许范围内"}],
            )
        if self.since and self.until and self.since > self.until:
            raise InvalidInput(
                "起始日期不能晚于截止日期",
                detail=[{"field": "since", "reason": "起始日期不能晚于截止日期"}],
            )


def entries(
    session: Session, by: Principal, f: AuditFilter, offset: int, limit: int
) -> Page[Entry]:
    """The log, newest first, filtered; ``total`` counts every matching entry (admins only)."""
    by.require("admin")
    where = (
        Where()
        .given(f.event, "event = :event", "event")
        .given(f.user, "(actor = :user OR subject = :user)", "user")
        .given(f.address, "address = :addr", "addr")
        .given(f.since, "at >= CAST(:since AS date)", "since")
        .given(f.until, "at < CAST(:until AS date) + 1", "until")
    )
    select = (
        "SELECT id, at, event, actor, subject, address, user_agent, detail FROM landmatch.audit_log"
    )
    total, rows = page_of(
        session, select, "landmatch.audit_log", where, "at DESC, id DESC", offset, limit
    )
    return Page([Entry(*r) for r in rows], total, offset, limit)
