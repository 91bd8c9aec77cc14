"""Dependencies shared by the routes: settings, database session, caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from landmatch.accounts.audit import AuditFilter, Client
from landmatch.accounts.principals import Resolved, resolve
from landmatch.api.reads import replica_sessions
from landmatch.api.security import (
    PUBLIC_READS,
    check_csrf,
    client_of,
    parse_credentials,
    submitted_csrf,
)
from landmatch.auth import Principal
from landmatch.errors import Forbidden, InvalidInput
from landmatch.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: on the primary, or on the read replica for a public read the
    replica may answer (``landmatch.api.reads``)."""
    factory = replica_sessions(request) or request.app.state.sessions
    with factory() as session:
        yield session


def get_client(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> Client:
    return client_of(request, settings)


def get_job_session(request: Request) -> Iterator[Session]:
    """A session for a long job (an import, an export): the job limits, not the request ones
    (``landmatch.db.engine.job_limits``)."""
    factory = request.app.state.job_sessions
    with factory() as session:
        yield session


@dataclass(frozen=True)
class _Call:
    """What the resolver reads of a request: the credentials it carries, its client, the
    CSRF token it sent."""

    request: Request
    session: Session
    settings: Settings
    client: Client
    csrf: str | None


def _call(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[Settings, Depends(get_settings)],
    client: Annotated[Client, Depends(get_client)],
    csrf: Annotated[str | None, Depends(submitted_csrf)],
) -> _Call:
    return _Call(request, session, settings, client, csrf)


def _resolved(call: _Call, *, ended_as_public: bool) -> Resolved:
    request, session = call.request, call.session
    creds = parse_credentials(request)
    resolved = resolve(session, creds, call.client, call.settings, ended_as_public=ended_as_public)
    if creds.kind is not None:
        session.commit()  # last-used / last-seen marks, independent of what the route does
    if resolved.signed_in is not None:
        check_csrf(resolved.signed_in, call.csrf, request.method)
    request.state.auth = resolved
    return resolved


def get_auth(call: Annotated[_Call, Depends(_call)]) -> Resolved:
    """Who is calling, from the one resolver (bearer, Basic or session cookie). A request
    authenticated by the session cookie with an unsafe method must carry its CSRF token:
    checked here, where the cookie becomes a principal, so every route gets the check.

    A GET or HEAD whose session cookie names no live session (idle, signed out, or not ours)
    is the public's read: it gets what the public gets, the cookie is cleared
    (``security.ClearEndedSession``), and a route that refuses the public answers 401 登录已过期
    (``problems.signed_out``). Any other request with such a cookie is refused with 401, except
    on the public's own writes (:func:`get_public_write_auth`)."""
    return _resolved(call, ended_as_public=call.request.method in PUBLIC_READS)


def get_public_write_auth(call: Annotated[_Call, Depends(_call)]) -> Resolved:
    """:func:`get_auth` for a write the public may make (a match, an inquiry from the public
    map): a session cookie that names no live session makes it the public's, as a read, and
    the cookie is cleared, so a browser left with an old cookie keeps the public map. The
    public's write carries no authority, so no cross-site form gains any from the dead cookie.
    A request that sends a CSRF token (a staff page's script, such as the staff map's match,
    meant to act as the signed-in staff member) is refused 401 登录已过期 instead, so the staff
    member is told to sign in again rather than shown the public's answer."""
    return _resolved(call, ended_as_public=call.csrf is None)


def _principal(auth: Resolved) -> Principal:
    if auth.signed_in is not None and auth.signed_in.must_change_password:
        raise Forbidden("请先在工作台修改初始密码")
    return auth.principal


def get_principal(auth: Annotated[Resolved, Depends(get_auth)]) -> Principal:
    """The caller for the API; a session that must first change its password gets 403."""
    return _principal(auth)


def get_public_write_principal(
    auth: Annotated[Resolved, Depends(get_public_write_auth)],
) -> Principal:
    """:func:`get_principal` of a write the public may make (:func:`get_public_write_auth`)."""
    return _principal(auth)


def audit_filter(
    event: Annotated[str | None, Query(max_length=40)] = None,
    user: Annotated[str | None, Query(max_length=64)] = None,
    address: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> AuditFilter:
    """The audit log's filters, from the query of the API's and the workbench's log (an empty
    field is no filter)."""
    return AuditFilter(event or None, user or None, address or None, since, until)


def single_values(request: Request) -> None:
    """400 for a query parameter given twice (``status=ready&status=idle``), as the OGC API
    answers: a route whose parameters each take one value would otherwise keep the last one
    silently. A list goes in one value, comma-separated."""
    qp = request.query_params
    for name in qp.keys():  # noqa: SIM118 (MultiDict)
        if len(qp.getlist(name)) > 1:
            reason = "只能出现一次（多个取值请用逗号分隔，如 status=ready,idle）"
            raise InvalidInput(
                f"参数 {name[:40]} 无效：{reason}", detail=[{"field": name[:40], "reason": reason}]
            )


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
ClientDep = Annotated[Client, Depends(get_client)]
AuthDep = Annotated[Resolved, Depends(get_auth)]
JobSessionDep = Annotated[Session, Depends(get_job_session)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
# The caller of a write the public may make (the match, an inquiry): see get_public_write_auth.
PublicWritePrincipalDep = Annotated[Principal, Depends(get_public_write_principal)]
AuditFilterDep = Annotated[AuditFilter, Depends(audit_filter)]
