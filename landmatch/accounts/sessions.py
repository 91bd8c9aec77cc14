"""Workbench sign-in: password check (throttled), server-side sessions, sign-out, revocation.

The cookie carries a random value; the database keeps only its SHA-256, the session's CSRF
token, the address and user agent it was made from, and its timestamps. A session ends when it
is revoked (sign-out, by the user or an admin, a password change or reset, the account
disabled), ``session_idle_minutes`` after its last request, or ``session_absolute_hours``
after the sign-in.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.accounts import audit, owners, passwords, throttle, users
from landmatch.accounts.audit import NO_CLIENT, Client
from landmatch.accounts.tokens import hash_token
from landmatch.auth import Principal
from landmatch.errors import NotFound, TooManyRequests, Unauthorized
from landmatch.settings import Settings

BAD_LOGIN = "用户名或密码错误"
# last_seen_at is written at most this often per session (one write a minute, not per request).
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class SignedIn:
    """A resolved session: who, which session, its CSRF token, and whether the account must
    choose a new password before doing anything else."""

    principal: Principal
    session_id: int
    csrf_token: str
    must_change_password: bool


@dataclass(frozen=True)
class SessionInfo:
    id: int
    address: str | None
    user_agent: str | None
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    end_reason: str | None


def record_failure(
    session: Session, name: str, client: Client, reason: str, via: str, message: str = BAD_LOGIN
) -> Unauthorized:
    """Record a failed sign-in and commit it now (the request fails, the record stays)."""
    audit.record(
        session,
        "login_failed",
        actor=None,
        subject=name,
        client=client,
        detail={"reason": reason, "via": via},
    )
    session.commit()
    return Unauthorized(message)


def check_password(
    session: Session,
    name: str,
    password: str,
    client: Client,
    settings: Settings,
    *,
    via: str = "form",
    cache: passwords.VerifiedCache | None = None,
) -> users.Account:
    """The account whose name and password these are, throttled per account and address.

    Every failure (unknown name, wrong password, disabled account) is recorded as
    ``login_failed`` and answered with the same message."""
    try:
        throttle.check(session, name, client.address, throttle.Limits.of(settings))
    except TooManyRequests:
        audit.record(
            session, "login_throttled", actor=None, subject=name, client=client, detail={"via": via}
        )
        session.commit()
        raise
    row = session.execute(
        text("SELECT id, password_hash, active FROM landmatch.app_user WHERE name = :n"),
        {"n": name},
    ).first()
    stored = row[1] if row else None
    verify = cache.verify if cache is not None else passwords.verify_password
    ok = verify(stored, password)  # always one verification, known name or not
    if row is None:
        raise record_failure(session, name, client, "unknown_user", via)
    if not ok:
        raise record_failure(session, name, client, "bad_password", via)
    if not row[2]:
        raise record_failure(session, name, client, "disabled", via)
    if stored and passwords.needs_rehash(stored):
        session.execute(
            text("UPDATE landmatch.app_user SET password_hash = :p WHERE id = :i"),
            {"p": passwords.hash_password(password), "i": row[0]},
        )
    return users.by_id(session, int(row[0]))


def sign_in(
    session: Session, name: str, password: str, client: Client, settings: Settings
) -> tuple[str, SignedIn]:
    """Check the password and open a session; returns the cookie value and the session."""
    account = check_password(session, name, password, client, settings)
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    sid = session.execute(
        text(
            "INSERT INTO landmatch.user_session (user_id, token_hash, csrf_token, address, "
            "user_agent, expires_at) VALUES (:u, :h, :c, :ip, :ua, now() + :abs) RETURNING id"
        ),
        {
            "u": account.id,
            "h": hash_token(cookie),
            "c": csrf,
            "ip": client.address,
            "ua": (client.user_agent or "")[:300] or None,
            "abs": dt.timedelta(hours=settings.session_absolute_hours),
        },
    ).scalar_one()
    session.execute(
        text("UPDATE landmatch.app_user SET last_login_at = now() WHERE id = :i"),
        {"i": account.id},
    )
    audit.record(
        session, "login", actor=name, subject=name, client=client, detail={"session_id": sid}
    )
    return cookie, SignedIn(account.principal(), int(sid), csrf, account.must_change_password)


def resolve(session: Session, cookie: str, settings: Settings) -> SignedIn | None:
    """The live session of this cookie value, or None (unknown, ended, idle or too old)."""
    row = session.execute(
        text(
            "SELECT s.id, s.csrf_token, s.last_seen_at < now() - :touch, u.id, u.name, u.role, "
            "u.city_code, u.zone_id, u.team, u.must_change_password "
            "FROM landmatch.user_session s JOIN landmatch.app_user u ON u.id = s.user_id "
            "WHERE s.token_hash = :h AND s.revoked_at IS NULL AND s.expires_at > now() "
            "AND s.last_seen_at > now() - :idle AND u.active"
        ),
        {
            "h": hash_token(cookie),
            "touch": TOUCH_EVERY,
            "idle": dt.timedelta(minutes=settings.session_idle_minutes),
        },
    ).first()
    if row is None:
        return None
    if row[2]:
        session.execute(
            text("UPDATE landmatch.user_session SET last_seen_at = now() WHERE id = :i"),
            {"i": row[0]},
        )
    principal = Principal(
        name=row[4], role=row[5], city_code=row[6], zone_id=row[7], team=row[8], user_id=row[3]
    )
    return SignedIn(principal, int(row[0]), row[1], bool(row[9]))


def sign_out(session: Session, signed_in: SignedIn, client: Client = NO_CLIENT) -> None:
    session.execute(
        text(
            "UPDATE landmatch.user_session SET revoked_at = now(), end_reason = 'logout' "
            "WHERE id = :i AND revoked_at IS NULL"
        ),
        {"i": signed_in.session_id},
    )
    name = signed_in.principal.name
    audit.record(
        session,
        "logout",
        actor=name,
        subject=name,
        client=client,
        detail={"session_id": signed_in.session_id},
    )


def of_user(session: Session, user_id: int, settings: Settings, by: Principal) -> list[SessionInfo]:
    """The account's live sessions (not ended, idle or too old), newest first (its owner or
    an admin)."""
    by.require_own(user_id, "只能查看自己的会话（管理员可查看所有账号的会话）")
    rows = session.execute(
        text(
            "SELECT id, address, user_agent, created_at, last_seen_at, expires_at, revoked_at, "
            "end_reason FROM landmatch.user_session WHERE user_id = :u AND revoked_at IS NULL "
            "AND expires_at > now() AND last_seen_at > now() - :idle "
            "ORDER BY created_at DESC LIMIT 200"
        ),
        {"u": user_id, "idle": dt.timedelta(minutes=settings.session_idle_minutes)},
    ).all()
    return [SessionInfo(*r) for r in rows]


def revoke(
    session: Session,
    session_id: int,
    by: Principal,
    client: Client = NO_CLIENT,
    *,
    owner_id: int | None = None,
) -> None:
    """End one session: its owner or an admin (``owner_id``: the account it must belong to)."""
    row = session.execute(
        text(
            "SELECT s.user_id, u.name FROM landmatch.user_session s "
            "JOIN landmatch.app_user u ON u.id = s.user_id WHERE s.id = :i"
        ),
        {"i": session_id},
    ).first()
    if row is None or (owner_id is not None and row[0] != owner_id):
        raise NotFound("会话不存在")
    by.require_own(row[0], "只能撤销自己的会话（管理员可撤销所有账号的会话）")
    owners.require_still_admin(session, by, row[0], "结束其他账号的会话")
    done = session.execute(
        text(
            "UPDATE landmatch.user_session SET revoked_at = now(), end_reason = 'revoked' "
            "WHERE id = :i AND revoked_at IS NULL RETURNING id"
        ),
        {"i": session_id},
    ).first()
    if done:
        audit.record(
            session,
            "session_revoked",
            actor=by.actor,
            subject=row[1],
            client=client,
            detail={"session_id": session_id},
        )
