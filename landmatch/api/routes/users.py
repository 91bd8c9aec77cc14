"""``/api/users`` (admin: accounts, their tokens and sessions), ``/api/me`` (my tokens and
sessions) and ``/api/audit`` (admin). Thin: each calls one service of ``landmatch.accounts``,
which checks who may do it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from landmatch.accounts import audit, passwords, sessions, tokens, users
from landmatch.api.deps import (
    AuditFilterDep,
    AuthDep,
    ClientDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
)
from landmatch.api.schemas.accounts import (
    Account,
    AccountPage,
    AuditEntry,
    AuditPage,
    NewToken,
    Revoked,
    SignInSession,
    Token,
)
from landmatch.dates import BEIJING
from landmatch.db.locking import etag

router = APIRouter(tags=["users"])

IfMatch = Annotated[
    str | None,
    Header(description="The account's ETag (from GET): needed to change its role or scope"),
]


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


@router.get("/api/users", summary="Accounts (admin)", response_model=AccountPage)
def list_users(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[str | None, Query(max_length=12)] = None,
    active: bool | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AccountPage:
    page = users.listing(
        session, principal, q=q, role=role, active=active, offset=offset, limit=limit
    )
    return AccountPage(total=page.total, users=[Account.of(a) for a in page.items])


@router.post(
    "/api/users", status_code=201, summary="Create an account (admin)", response_model=Account
)
def create_user(
    body: AccountIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> Account:
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
    return Account.of(account)


def _tagged(response: Response, account: users.Account) -> Account:
    response.headers["ETag"] = etag(account.name, account.version)
    return Account.of(account)


@router.get("/api/users/{name}", summary="One account (admin)", response_model=Account)
def get_user(
    name: str, session: SessionDep, principal: PrincipalDep, response: Response
) -> Account:
    return _tagged(response, users.read(session, name, principal))


@router.patch(
    "/api/users/{name}",
    summary="Change role, scope, team or active (admin); a change of role or scope needs If-Match",
    response_model=Account,
)
def patch_user(
    name: str,
    body: AccountPatch,
    session: SessionDep,
    client: ClientDep,
    principal: PrincipalDep,
    response: Response,
    if_match: IfMatch = None,
) -> Account:
    current = users.read(session, name, principal)
    fields = body.model_fields_set
    if fields & {"role", "city_code", "zone_code", "team"}:
        spec = users.AccountSpec(
            name,
            body.role if "role" in fields and body.role else current.role,
            body.city_code if "city_code" in fields else current.city_code,
            body.zone_code if "zone_code" in fields else current.zone_code,
            body.team if "team" in fields else current.team,
        )
        users.update(session, name, spec, principal, client, if_match=if_match)
    if "active" in fields and body.active is not None:
        users.set_active(session, name, body.active, principal, client)
    session.commit()
    return _tagged(response, users.get(session, name))


def _activation(active: bool) -> Callable[..., Account]:
    def set_active(
        name: str, session: SessionDep, client: ClientDep, principal: PrincipalDep
    ) -> Account:
        account = users.set_active(session, name, active, principal, client)
        session.commit()
        return Account.of(account)

    return set_active


router.post(
    "/api/users/{name}/disable", summary="Disable an account (admin)", response_model=Account
)(_activation(False))
router.post(
    "/api/users/{name}/enable", summary="Enable an account (admin)", response_model=Account
)(_activation(True))


@router.post(
    "/api/users/{name}/password", summary="Reset the password (admin)", response_model=Account
)
def reset_password(
    name: str,
    body: PasswordIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> Account:
    account = users.reset_password(
        session,
        name,
        body.password,
        principal,
        min_length=settings.password_min_length,
        client=client,
    )
    session.commit()
    return Account.of(account)


@router.get(
    "/api/users/{name}/tokens", summary="An account's tokens (admin)", response_model=list[Token]
)
def user_tokens(name: str, session: SessionDep, principal: PrincipalDep) -> list[Token]:
    owner = users.read(session, name, principal).id
    return [Token.of(t) for t in tokens.of_user(session, owner, principal)]


def _expiry(body: TokenIn, default_days: int) -> dt.datetime:
    if body.expires_at is None:
        return dt.datetime.now(dt.UTC) + dt.timedelta(days=default_days)
    if body.expires_at.tzinfo is None:
        return body.expires_at.replace(tzinfo=BEIJING)
    return body.expires_at


def _new_token(
    session: SessionDep,
    owner: int,
    body: TokenIn,
    settings: SettingsDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> NewToken:
    info, token = tokens.create(
        session,
        owner,
        principal,
        name=body.name,
        expires_at=_expiry(body, settings.token_default_days),
        max_days=settings.token_max_days,
        client=client,
    )
    session.commit()
    return NewToken.model_validate(Token.of(info).model_dump() | {"token": token})


def _revoke_token(
    session: SessionDep, token_id: int, owner: int, client: ClientDep, principal: PrincipalDep
) -> Token:
    info = tokens.revoke(session, token_id, principal, client, owner_id=owner)
    session.commit()
    return Token.of(info)


def _revoke_session(
    session: SessionDep, session_id: int, owner: int, client: ClientDep, principal: PrincipalDep
) -> Revoked:
    sessions.revoke(session, session_id, principal, client, owner_id=owner)
    session.commit()
    return Revoked()


@router.post(
    "/api/users/{name}/tokens",
    status_code=201,
    summary="Create a token (admin)",
    response_model=NewToken,
)
def create_user_token(
    name: str,
    body: TokenIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> NewToken:
    owner = users.read(session, name, principal).id
    return _new_token(session, owner, body, settings, client, principal)


@router.delete(
    "/api/users/{name}/tokens/{token_id}", summary="Revoke a token (admin)", response_model=Token
)
def revoke_user_token(
    name: str, token_id: int, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> Token:
    owner = users.read(session, name, principal).id
    return _revoke_token(session, token_id, owner, client, principal)


@router.get(
    "/api/users/{name}/sessions",
    summary="An account's live sessions (admin)",
    response_model=list[SignInSession],
)
def user_sessions(
    name: str, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> list[SignInSession]:
    owner = users.read(session, name, principal).id
    return [SignInSession.of(s) for s in sessions.of_user(session, owner, settings, principal)]


@router.delete(
    "/api/users/{name}/sessions/{session_id}",
    summary="End a session (admin)",
    response_model=Revoked,
)
def revoke_user_session(
    name: str, session_id: int, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> Revoked:
    owner = users.read(session, name, principal).id
    return _revoke_session(session, session_id, owner, client, principal)


@router.get("/api/me", summary="The caller's account", response_model=Account)
def me(session: SessionDep, auth: AuthDep) -> Account:
    return Account.of(users.me(session, auth.principal))


@router.get("/api/me/tokens", summary="My tokens", response_model=list[Token])
def my_tokens(session: SessionDep, principal: PrincipalDep) -> list[Token]:
    return [Token.of(t) for t in tokens.of_user(session, users.own_id(principal), principal)]


@router.post(
    "/api/me/tokens", status_code=201, summary="Create a token for myself", response_model=NewToken
)
def create_my_token(
    body: TokenIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> NewToken:
    return _new_token(session, users.own_id(principal), body, settings, client, principal)


@router.delete("/api/me/tokens/{token_id}", summary="Revoke one of my tokens", response_model=Token)
def revoke_my_token(
    token_id: int, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> Token:
    return _revoke_token(session, token_id, users.own_id(principal), client, principal)


@router.get("/api/me/sessions", summary="My live sessions", response_model=list[SignInSession])
def my_sessions(
    session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> list[SignInSession]:
    mine = sessions.of_user(session, users.own_id(principal), settings, principal)
    return [SignInSession.of(s) for s in mine]


@router.delete(
    "/api/me/sessions/{session_id}", summary="End one of my sessions", response_model=Revoked
)
def revoke_my_session(
    session_id: int, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> Revoked:
    return _revoke_session(session, session_id, users.own_id(principal), client, principal)


@router.get("/api/audit", summary="The audit log (admin)", response_model=AuditPage)
def audit_log(
    session: SessionDep,
    principal: PrincipalDep,
    f: AuditFilterDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    page = audit.entries(session, principal, f, offset, limit)
    return AuditPage(total=page.total, entries=[AuditEntry.of(e) for e in page.items])
