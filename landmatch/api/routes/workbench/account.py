"""``/workbench/account``: my account — password, my sessions, my API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from landmatch.accounts import sessions, tokens
from landmatch.api.deps import ClientDep, SessionDep, SettingsDep
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    LOGIN_URL,
    StaffDep,
    form_errors,
    redirect,
    render,
)
from landmatch.api.security import clear_session_cookie
from landmatch.errors import UnprocessableInput
from landmatch.settings import Settings

router = APIRouter(include_in_schema=False)
URL = "/workbench/account"


def expiry(value: str | None, settings: Settings) -> dt.datetime | None:
    """The form's expiry date (end of that day, Beijing time); empty means the default."""
    tz = dt.timezone(dt.timedelta(hours=8))
    if not value:
        day = dt.datetime.now(tz).date() + dt.timedelta(days=settings.token_default_days)
    else:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise UnprocessableInput(
                "到期日期格式应为 YYYY-MM-DD",
                detail=[{"field": "expires_on", "reason": "日期格式应为 YYYY-MM-DD"}],
            ) from None
    return dt.datetime.combine(day, dt.time(23, 59, 59), tz)


def token_page_context(settings: Settings) -> dict[str, object]:
    tz = dt.timezone(dt.timedelta(hours=8))
    today = dt.datetime.now(tz).date()
    return {
        "default_expiry": (today + dt.timedelta(days=settings.token_default_days)).isoformat(),
        "max_expiry": (today + dt.timedelta(days=settings.token_max_days)).isoformat(),
        "min_expiry": (today + dt.timedelta(days=1)).isoformat(),
    }


def _page(
    request: Request,
    session: SessionDep,
    settings: Settings,
    staff: StaffDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    new_token: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "workbench/account.html",
        status=status,
        account=staff.account,
        sessions=sessions.of_user(session, staff.account.id, settings, staff.principal),
        current_session=staff.signed_in.session_id,
        tokens=tokens.of_user(session, staff.account.id, staff.principal),
        errors=errors or {},
        new_token=new_token,
        **token_page_context(settings),
    )


@router.get(URL, response_class=HTMLResponse)
def account(
    request: Request, session: SessionDep, settings: SettingsDep, staff: StaffDep
) -> HTMLResponse:
    return _page(request, session, settings, staff)


@router.post(URL + "/sessions/{session_id}/revoke")
def revoke_session(
    request: Request,
    session_id: int,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    staff: StaffDep,
) -> Response:
    sessions.revoke(session, session_id, staff.principal, client, owner_id=staff.account.id)
    session.commit()
    if session_id == staff.signed_in.session_id:
        resp = redirect(request, LOGIN_URL, flash=("info", "当前会话已撤销，请重新登录"))
        clear_session_cookie(resp, request, settings)
        return resp
    return redirect(request, URL, flash=("success", "会话已撤销"))


@router.post(URL + "/tokens")
def create_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    staff: StaffDep,
    name: Annotated[str, Form(max_length=200)] = "",
    expires_on: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        _, token = tokens.create(
            session,
            staff.account.id,
            staff.principal,
            name=name,
            expires_at=expiry(expires_on, settings),
            max_days=settings.token_max_days,
            client=client,
        )
    except UnprocessableInput as exc:
        return _page(request, session, settings, staff, status=FORM_ERROR, errors=form_errors(exc))
    session.commit()
    # Shown once, on this response (not kept anywhere to show again).
    return _page(request, session, settings, staff, status=201, new_token=token)


@router.post(URL + "/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: int, session: SessionDep, client: ClientDep, staff: StaffDep
) -> Response:
    tokens.revoke(session, token_id, staff.principal, client, owner_id=staff.account.id)
    session.commit()
    return redirect(request, URL, flash=("success", "令牌已吊销"))
