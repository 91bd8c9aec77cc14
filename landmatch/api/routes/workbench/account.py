"""``/workbench/account``: my account — password, my sessions, my API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from landmatch.accounts import sessions, tokens
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    LOGIN_URL,
    PageContext,
    StaffCtx,
    form_errors,
    redirect,
    render,
)
from landmatch.api.security import clear_session_cookie
from landmatch.dates import BEIJING, beijing_today
from landmatch.errors import UnprocessableInput
from landmatch.settings import Settings

router = APIRouter(include_in_schema=False)
URL = "/workbench/account"


def expiry(value: str | None, settings: Settings) -> dt.datetime | None:
    """The form's expiry date (end of that day, Beijing time); empty means the default."""
    if not value:
        day = beijing_today() + dt.timedelta(days=settings.token_default_days)
    else:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise UnprocessableInput(
                "到期日期格式应为 YYYY-MM-DD",
                detail=[{"field": "expires_on", "reason": "日期格式应为 YYYY-MM-DD"}],
            ) from None
    return dt.datetime.combine(day, dt.time(23, 59, 59), BEIJING)


def token_page_context(settings: Settings) -> dict[str, object]:
    today = beijing_today()
    return {
        "default_expiry": (today + dt.timedelta(days=settings.token_default_days)).isoformat(),
        "max_expiry": (today + dt.timedelta(days=settings.token_max_days)).isoformat(),
        "min_expiry": (today + dt.timedelta(days=1)).isoformat(),
    }


def issue_token(ctx: PageContext, account_id: int, name: str, expires_on: str) -> str:
    """A new API token for the account from a token form (its name and expiry date, empty for
    the default), issued by the signed-in staff member: the secret, to show once."""
    _, token = tokens.create(
        ctx.session,
        account_id,
        ctx.staff.principal,
        name=name,
        expires_at=expiry(expires_on, ctx.settings),
        max_days=ctx.settings.token_max_days,
        client=ctx.client,
    )
    return token


def _page(
    ctx: PageContext,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    new_token: str | None = None,
) -> HTMLResponse:
    return render(
        ctx.request,
        "workbench/account.html",
        status=status,
        account=ctx.staff.account,
        sessions=sessions.of_user(
            ctx.session, ctx.staff.account.id, ctx.settings, ctx.staff.principal
        ),
        current_session=ctx.staff.signed_in.session_id,
        tokens=tokens.of_user(ctx.session, ctx.staff.account.id, ctx.staff.principal),
        errors=errors or {},
        new_token=new_token,
        **token_page_context(ctx.settings),
    )


@router.get(URL, response_class=HTMLResponse)
def account(ctx: StaffCtx) -> HTMLResponse:
    return _page(ctx)


@router.post(URL + "/sessions/{session_id}/revoke")
def revoke_session(ctx: StaffCtx, session_id: int) -> Response:
    sessions.revoke(
        ctx.session, session_id, ctx.staff.principal, ctx.client, owner_id=ctx.staff.account.id
    )
    ctx.session.commit()
    if session_id == ctx.staff.signed_in.session_id:
        resp = redirect(ctx.request, LOGIN_URL, flash=("info", "当前会话已撤销，请重新登录"))
        clear_session_cookie(resp, ctx.request, ctx.settings)
        return resp
    return redirect(ctx.request, URL, flash=("success", "会话已撤销"))


@router.post(URL + "/tokens")
def create_token(
    ctx: StaffCtx,
    name: Annotated[str, Form(max_length=200)] = "",
    expires_on: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        token = issue_token(ctx, ctx.staff.account.id, name, expires_on)
    except UnprocessableInput as exc:
        return _page(ctx, status=FORM_ERROR, errors=form_errors(exc))
    ctx.session.commit()
    # Shown once, on this response (not kept anywhere to show again).
    return _page(ctx, status=201, new_token=token)


@router.post(URL + "/tokens/{token_id}/revoke")
def revoke_token(ctx: StaffCtx, token_id: int) -> Response:
    tokens.revoke(
        ctx.session, token_id, ctx.staff.principal, ctx.client, owner_id=ctx.staff.account.id
    )
    ctx.session.commit()
    return redirect(ctx.request, URL, flash=("success", "令牌已吊销"))
