"""An account's own credentials (its API tokens, its sign-in sessions): managed by the account
itself or by an admin, and an admin's write of another account's checked inside the write."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.errors import Forbidden


def require_still_admin(session: Session, by: Principal, owner_id: int, action: str) -> None:
    """An admin's write of another account's credentials (``action``: what it does), checked
    inside the write: the caller's account is read ``FOR SHARE`` (which a demotion or
    disabling, ``FOR UPDATE``, waits for or is waited for by), and the write refused (403)
    unless it is still an active admin. The role a request was signed in with is read before
    its write (as for the accounts' own writes, ``users._lock_as_admin``). The owner's own
    write and an account-less caller (the CLI's operator) need no such check."""
    if by.user_id is None or by.user_id == owner_id:
        return
    row = session.execute(
        text("SELECT role, active FROM landmatch.app_user WHERE id = :i FOR SHARE"),
        {"i": by.user_id},
    ).first()
    if row is None or tuple(row) != ("admin", True):
        raise Forbidden(f"本账号已不是有效的管理员账号，不能{action}（请重新登录）")
