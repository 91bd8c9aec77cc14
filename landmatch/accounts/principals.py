"""One principal resolver: a bearer token, HTTP Basic (user name + password, or user name +
token) or a workbench session cookie becomes a ``Principal``. The API, the pages and the tile
server all call ``resolve``; the HTTP parsing lives in ``landmatch.api.security``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from landmatch.accounts import passwords, sessions, tokens
from landmatch.accounts.audit import Client
from landmatch.accounts.sessions import SignedIn
from landmatch.auth import PUBLIC, Principal
from landmatch.errors import Unauthorized
from landmatch.settings import Settings


@dataclass(frozen=True)
class Credentials:
    """What a request presented. ``kind`` None: nothing (the public)."""

    kind: Literal["bearer", "basic", "session"] | None = None
    secret: str = ""  # the token, the password (or token) of Basic, or the cookie value
    user: str = ""  # Basic only

    def cache_key(self) -> tuple[str, str, str]:
        return (self.kind or "", self.user, self.secret)


NONE = Credentials()
#: The answer to a session cookie that names no live session (signed out, idle, too old, or
#: never ours) where a signed-in caller is needed.
SESSION_ENDED = "登录已过期或已退出，请重新登录"


@dataclass(frozen=True)
class Resolved:
    principal: Principal
    signed_in: SignedIn | None = None  # set for a session cookie
    # A session cookie that names no live session, read as the public (``ended_as_public``):
    # the cookie is cleared, and a refusal of the public says to sign in again.
    ended: bool = False


def basic(
    session: Session, name: str, secret: str, client: Client, settings: Settings
) -> Principal:
    """HTTP Basic: the password (throttled like the sign-in form), or one of the user's
    tokens in the password field (what QGIS users can store instead of a password)."""
    if secret.startswith(tokens.PREFIX):
        try:
            principal = tokens.principal_for_token(session, secret)
        except Unauthorized:
            principal = PUBLIC
        if principal.name != name:  # unknown token, or another account's
            raise sessions.record_failure(session, name, client, "bad_token", "basic")
        return principal
    account = sessions.check_password(
        session, name, secret, client, settings, via="basic", cache=passwords.verified
    )
    if account.must_change_password:
        raise Unauthorized("该账号须先在工作台登录并修改初始密码，才能用密码访问接口")
    return account.principal()


def resolve(
    session: Session,
    creds: Credentials,
    client: Client,
    settings: Settings,
    *,
    ended_as_public: bool = False,
) -> Resolved:
    """The caller behind the credentials (401 when they are not valid).

    With ``ended_as_public`` (a read the public may make), a session cookie that names no live
    session is the public, marked ``ended``, rather than a 401: a browser left with an old
    cookie still reads public data. It never stands for anyone but the public; a bearer token
    or Basic credentials that are not valid are refused either way."""
    if creds.kind is None:
        return Resolved(PUBLIC)
    if creds.kind == "bearer":
        return Resolved(tokens.principal_for_token(session, creds.secret))
    if creds.kind == "basic":
        return Resolved(basic(session, creds.user, creds.secret, client, settings))
    found = sessions.resolve(session, creds.secret, settings)
    if found is None:
        if ended_as_public:
            return Resolved(PUBLIC, ended=True)
        raise Unauthorized(SESSION_ENDED)
    return Resolved(found.principal, found)
