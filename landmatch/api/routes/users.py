"""``/api/users`` (admin: accounts, their tokens and sessions), ``/api/me`` (my tokens and
sessions) and ``/api/audit`` (admin). Thin: each calls one service of ``landmatch.accounts``,
which checks who may do it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from landmatch.accounts import audit, passwords, sessions, tokens, users
from landmatch.api.deps import AuthDep, ClientDep, PrincipalDep, SessionDep, SettingsDep
from landmatch.api.schemas.accounts import Account, AccountPage, SignInSession, Token
from landmatch.auth import Principal
from landmatch.errors import Unauthorized

router = APIRouter(tags=["users"])


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64, description="Login name")
    role: str = Field(max_length=12, description="admin, bureau, zone or promoter")
    city_code: str | None = Field(None, pattern=r"^\d{6}$", description="130000 = province")
    zone_code: str | None = Field(None, max_length=64)
    team: str | None = Field(None, max_length=64)
    password: str | None = Field(
        None,
        max_length=passwords.MAX_LENGTH,
        description="Initial password (to be changed at first sign-in); none = token-only",
    )


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(None, max_length=12)
    city_code: str | None = Field(None, pattern=r"^\d{6}$")
    zone_code: str | None = Field(None, max_length=64)
    team: str | None = Field(None, max_length=64)
    active: bool | None = None


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=passwords.MAX_LENGTH)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=tokens.NAME_MAX)
    expires_at: dt.datetime | None = Field(None, description="Default: token_default_days from now")


def _account(a: users.Account) -> dict[str, Any]:
    return {
        "name": a.name,
        "role": a.role,
        "role_label": a.role_label,
        "city_code": a.city_code,
        "zone_code": a.zone_code,
        "team": a.team,
        "scope": a.scope_label,
        "active": a.active,
        "must_change_password": a.must_change_password,
        "has_password": a.has_password,
        "last_login_at": a.last_login_at,
        "created_at": a.created_at,
    }


def _token(t: tokens.TokenInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "user": t.user_name,
        "name": t.name,
        "created_at": t.created_at,
        "created_by": t.created_by,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
        "state": t.state,
    }


def _session(s: sessions.SessionInfo) -> dict[str, Any]:
    return {
        "id": s.id,
        "address": s.address,
        "user_agent": s.user_agent,
        "created_at": s.created_at,
        "last_seen_at": s.last_seen_at,
        "expires_at": s.expires_at,
    }


def _admin(principal: Principal) -> Principal:
    principal.require("admin")
    return principal


def _me(principal: Principal) -> int:
    if principal.user_id is None:
        raise Unauthorized("需要登录")
    return principal.user_id


@router.get("/api/users", summary="Accounts (admin)", response_model=AccountPage)
def list_users(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[str | None, Query(max_length=12)] = None,
    active: bool | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    _admin(principal)
    page = users.listing(session, q=q, role=role, active=active, offset=offset, limit=limit)
    return {"total": page.total, "users": [_account(a) for a in page.items]}


@router.post("/api/users", status_code=201, summary="Create an account (admin)")
def create_user(
    body: AccountIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    spec = users.AccountSpec(body.name, body.role, body.city_code, body.zone_code, body.team)
    account = users.create(
        session,
        spec,
        principal,
        password=body.password,
        min_length=settings.password_min_length,
        client=client,
    )
    session.commit()
    return _account(account)


@router.get("/api/users/{name}", summary="One account (admin)", response_model=Account)
def get_user(name: str, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    _admin(principal)
    return _account(users.get(session, name))


@router.patch("/api/users/{name}", summary="Change role, scope, team or active (admin)")
def patch_user(
    name: str, body: AccountPatch, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> dict[str, Any]:
    _admin(principal)
    current = users.get(session, name)
    fields = body.model_fields_set
    if fields & {"role", "city_code", "zone_code", "team"}:
        spec = users.AccountSpec(
            name,
            body.role if "role" in fields and body.role else current.role,
            body.city_code if "city_code" in fields else current.city_code,
            body.zone_code if "zone_code" in fields else current.zone_code,
            body.team if "team" in fields else current.team,
        )
        users.update(session, name, spec, principal, client)
    if "active" in fields and body.active is not None:
        users.set_active(session, name, body.active, principal, client)
    session.commit()
    return _account(users.get(session, name))


@router.post(
    "/api/users/{name}/disable", summary="Disable an account (admin)", response_model=Account
)
def disable_user(
    name: str, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> dict[str, Any]:
    account = users.set_active(session, name, False, principal, client)
    session.commit()
    return _account(account)


@router.post(
    "/api/users/{name}/enable", summary="Enable an account (admin)", response_model=Account
)
def enable_user(
    name: str, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> dict[str, Any]:
    account = users.set_active(session, name, True, principal, client)
    session.commit()
    return _account(account)


@router.post("/api/users/{name}/password", summary="Reset the password (admin)")
def reset_password(
    name: str,
    body: PasswordIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    account = users.reset_password(
        session,
        name,
        body.password,
        principal,
        min_length=settings.password_min_length,
        client=client,
    )
    session.commit()
    return _account(account)


@router.get(
    "/api/users/{name}/tokens", summary="An account's tokens (admin)", response_model=list[Token]
)
def user_tokens(name: str, session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    _admin(principal)
    return [_token(t) for t in tokens.of_user(session, users.get(session, name).id)]


def _expiry(body: TokenIn, default_days: int) -> dt.datetime:
    if body.expires_at is None:
        return dt.datetime.now(dt.UTC) + dt.timedelta(days=default_days)
    if body.expires_at.tzinfo is None:
        return body.expires_at.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return body.expires_at


@router.post("/api/users/{name}/tokens", status_code=201, summary="Create a token (admin)")
def create_user_token(
    name: str,
    body: TokenIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    _admin(principal)
    info, token = tokens.create(
        session,
        users.get(session, name).id,
        principal,
        name=body.name,
        expires_at=_expiry(body, settings.token_default_days),
        max_days=settings.token_max_days,
        client=client,
    )
    session.commit()
    return {**_token(info), "token": token}


@router.delete("/api/users/{name}/tokens/{token_id}", summary="Revoke a token (admin)")
def revoke_user_token(
    name: str, token_id: int, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> dict[str, Any]:
    _admin(principal)
    owner = users.get(session, name).id
    info = tokens.revoke(session, token_id, principal, client, owner_id=owner)
    session.commit()
    return _token(info)


@router.get(
    "/api/users/{name}/sessions",
    summary="An account's live sessions (admin)",
    response_model=list[SignInSession],
)
def user_sessions(
    name: str, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    _admin(principal)
    account = users.get(session, name)
    return [_session(s) for s in sessions.of_user(session, account.id, settings)]


@router.delete("/api/users/{name}/sessions/{session_id}", summary="End a session (admin)")
def revoke_user_session(
    name: str, session_id: int, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> dict[str, str]:
    _admin(principal)
    owner = users.get(session, name).id
    sessions.revoke(session, session_id, principal, client, owner_id=owner)
    session.commit()
    return {"status": "revoked"}


@router.get("/api/me", summary="The caller's account", response_model=Account)
def me(session: SessionDep, auth: AuthDep) -> dict[str, Any]:
    return _account(users.by_id(session, _me(auth.principal)))


@router.get("/api/me/tokens", summary="My tokens", response_model=list[Token])
def my_tokens(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return [_token(t) for t in tokens.of_user(session, _me(principal))]


@router.post("/api/me/tokens", status_code=201, summary="Create a token for myself")
def create_my_token(
    body: TokenIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    info, token = tokens.create(
        session,
        _me(principal),
        principal,
        name=body.name,
        expires_at=_expiry(body, settings.token_default_days),
        max_days=settings.token_max_days,
        client=client,
    )
    session.commit()
    return {**_token(info), "token": token}


@router.delete("/api/me/tokens/{token_id}", summary="Revoke one of my tokens")
def revoke_my_token(
    token_id: int, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> dict[str, Any]:
    info = tokens.revoke(session, token_id, principal, client, owner_id=_me(principal))
    session.commit()
    return _token(info)


@router.get("/api/me/sessions", summary="My live sessions", response_model=list[SignInSession])
def my_sessions(
    session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    return [_session(s) for s in sessions.of_user(session, _me(principal), settings)]


@router.delete("/api/me/sessions/{session_id}", summary="End one of my sessions")
def revoke_my_session(
    session_id: int, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> dict[str, str]:
    sessions.revoke(session, session_id, principal, client, owner_id=_me(principal))
    session.commit()
    return {"status": "revoked"}


@router.get("/api/audit", summary="The audit log (admin)")
def audit_log(
    session: SessionDep,
    principal: PrincipalDep,
    event: Annotated[str | None, Query(max_length=40)] = None,
    user: Annotated[str | None, Query(max_length=64)] = None,
    address: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    _admin(principal)
    page = audit.entries(
        session, audit.AuditFilter(event, user, address, since, until), offset, limit
    )
    return {
        "total": page.total,
        "entries": [
            {
                "id": e.id,
                "at": e.at,
                "event": e.event,
                "label": e.label,
                "actor": e.actor,
                "subject": e.subject,
                "address": e.address,
                "user_agent": e.user_agent,
                "detail": e.detail,
            }
            for e in page.items
        ],
    }
