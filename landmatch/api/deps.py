"""Dependencies shared by the routes: settings, database session, caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from landmatch.auth import PUBLIC, Principal, parse_bearer, principal_for_token
from landmatch.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    factory = request.app.state.sessions
    with factory() as session:
        yield session


# The staff map's login stores the token in this HttpOnly, SameSite=Strict cookie. It is read
# for safe methods only (GET/HEAD), so a forged cross-site form can never write as staff.
STAFF_COOKIE = "lm_staff"


def caller_token(request: Request) -> str | None:
    """The caller's token: the bearer header, else (GET/HEAD only) the staff cookie."""
    header = request.headers.get("authorization")
    if not header:
        cookie = request.cookies.get(STAFF_COOKIE)
        return cookie if cookie and request.method in ("GET", "HEAD") else None
    return parse_bearer(header)


def get_principal(request: Request, session: Annotated[Session, Depends(get_session)]) -> Principal:
    token = caller_token(request)
    return PUBLIC if token is None else principal_for_token(session, token)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
