"""Bearer tokens for scripts: named, with an expiry, revocable; only their hash is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.accounts import audit, owners
from landmatch.accounts.audit import NO_CLIENT, Client
from landmatch.auth import Principal
from landmatch.errors import NotFound, Unauthorized, UnprocessableInput

PREFIX = "lm_"
NAME_MAX = 100


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_name: str
    name: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    created_by: str | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= dt.datetime.now(dt.UTC):
            return "expired"
        return "active"

    @property
    def state_label(self) -> str:
        return {"revoked": "已吊销", "expired": "已过期", "active": "有效"}[self.state]


_SELECT = (
    "SELECT t.id, u.name, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, "
    "t.created_by FROM landmatch.api_token t JOIN landmatch.app_user u ON u.id = t.user_id "
)


def _may_manage(by: Principal, owner_id: int) -> None:
    by.require_own(owner_id, "只能管理自己的令牌（管理员可管理所有账号的令牌）")


def _still_admin(session: Session, by: Principal, owner_id: int) -> None:
    owners.require_still_admin(session, by, owner_id, "管理其他账号的令牌")


def create(
    session: Session,
    user_id: int,
    by: Principal,
    *,
    name: str | None = None,
    expires_at: dt.datetime | None = None,
    max_days: int | None = None,
    client: Client = NO_CLIENT,
) -> tuple[TokenInfo, str]:
    """A new token for the account; returns it with the token itself (shown once)."""
    _may_manage(by, user_id)
    _still_admin(session, by, user_id)
    label = (name or "").strip() or None
    if label is not None and len(label) > NAME_MAX:
        raise UnprocessableInput(
            f"令牌名称最多 {NAME_MAX} 个字符",
            detail=[{"field": "name", "reason": f"最多 {NAME_MAX} 个字符"}],
        )
    now = dt.datetime.now(dt.UTC)
    if expires_at is not None:
        if expires_at <= now:
            raise UnprocessableInput(
                "到期时间应在今天之后", detail=[{"field": "expires_on", "reason": "应在今天之后"}]
            )
        if max_days is not None and expires_at > now + dt.timedelta(days=max_days + 1):
            raise UnprocessableInput(
                f"令牌有效期最长 {max_days} 天",
                detail=[{"field": "expires_on", "reason": f"最长 {max_days} 天"}],
            )
    token = PREFIX + secrets.token_urlsafe(32)
    tid = session.execute(
        text(
            "INSERT INTO landmatch.api_token (user_id, token_hash, name, expires_at, created_by) "
            "VALUES (:u, :h, :n, :e, :b) RETURNING id"
        ),
        {"u": user_id, "h": hash_token(token), "n": label, "e": expires_at, "b": by.actor},
    ).scalar_one()
    info = get(session, tid)
    audit.record(
        session,
        "token_created",
        actor=by.actor,
        subject=info.user_name,
        client=client,
        detail={"token_id": tid, "name": label, "expires_at": expires_at},
    )
    return info, token


def get(session: Session, token_id: int) -> TokenInfo:
    row = session.execute(text(_SELECT + "WHERE t.id = :i"), {"i": token_id}).first()
    if row is None:
        raise NotFound(f"令牌 {token_id} 不存在")
    return TokenInfo(*row)


def of_user(session: Session, user_id: int, by: Principal) -> list[TokenInfo]:
    """The account's tokens, live ones first (its owner or an admin)."""
    _may_manage(by, user_id)
    rows = session.execute(
        text(_SELECT + "WHERE t.user_id = :u ORDER BY t.revoked_at IS NOT NULL, t.id DESC"),
        {"u": user_id},
    ).all()
    return [TokenInfo(*r) for r in rows]


def revoke(
    session: Session,
    token_id: int,
    by: Principal,
    client: Client = NO_CLIENT,
    *,
    owner_id: int | None = None,
) -> TokenInfo:
    """Revoke one token (its owner or an admin; ``owner_id`` when the caller names the account
    it belongs to). Revoking twice changes nothing."""
    owner = session.execute(
        text("SELECT user_id FROM landmatch.api_token WHERE id = :i"), {"i": token_id}
    ).scalar()
    if owner is None or (owner_id is not None and owner != owner_id):
        raise NotFound(f"令牌 {token_id} 不存在")
    _may_manage(by, owner)
    _still_admin(session, by, owner)
    done = session.execute(
        text(
            "UPDATE landmatch.api_token SET revoked_at = now() "
            "WHERE id = :i AND revoked_at IS NULL RETURNING id"
        ),
        {"i": token_id},
    ).first()
    info = get(session, token_id)
    if done:
        audit.record(
            session,
            "token_revoked",
            actor=by.actor,
            subject=info.user_name,
            client=client,
            detail={"token_id": token_id, "name": info.name},
        )
    return info


def id_of(session: Session, token: str) -> int:
    """The id of a token given as the token itself (to revoke a leaked one)."""
    tid = session.execute(
        text("SELECT id FROM landmatch.api_token WHERE token_hash = :h"), {"h": hash_token(token)}
    ).scalar()
    if tid is None:
        raise NotFound("没有这个令牌")
    return int(tid)


def principal_for_token(session: Session, token: str) -> Principal:
    """The account behind a bearer token; refused when revoked, expired or the account is
    disabled. Notes when it was last used (at most once a minute; the caller commits)."""
    row = session.execute(
        text(
            "SELECT t.id, u.id, u.name, u.role, u.city_code, u.zone_id, u.team, "
            "t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' "
            "FROM landmatch.api_token t JOIN landmatch.app_user u ON u.id = t.user_id "
            "WHERE t.token_hash = :h AND t.revoked_at IS NULL "
            "AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.active"
        ),
        {"h": hash_token(token)},
    ).first()
    if row is None:
        raise Unauthorized("令牌无效、已过期或已被吊销")
    if row[7]:
        session.execute(
            text("UPDATE landmatch.api_token SET last_used_at = now() WHERE id = :i"),
            {"i": row[0]},
        )
    return Principal(
        name=row[2], role=row[3], city_code=row[4], zone_id=row[5], team=row[6], user_id=row[1]
    )
