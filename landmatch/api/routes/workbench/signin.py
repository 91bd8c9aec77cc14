"""Sign-in, sign-out and the (forced) password change."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from landmatch.accounts import passwords, sessions, users
from landmatch.api.deps import ClientDep, SessionDep, SettingsDep
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    LOGIN_URL,
    PASSWORD_URL,
    OptionalStaffDep,
    Staff,
    form_errors,
    redirect,
    render,
    safe_next,
    staff_with,
)
from landmatch.api.security import clear_session_cookie, own_origin, set_session_cookie
from landmatch.errors import Forbidden, TooManyRequests, Unauthorized, UnprocessableInput

router = APIRouter(include_in_schema=False)
# The sign-in form (name, password, next, CSRF): anyone may post it.
LOGIN_MAX_BODY = 16 * 1024
PasswordStaffDep = Annotated[Staff, Depends(staff_with(allow_password_change=True))]


def _same_origin(request: Request) -> None:
    """Refuse a sign-in posted from another site (login CSRF): the browser's Origin header,
    when sent, must be this site."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and not own_origin(origin, request, request.app.state.settings):
        raise Forbidden("登录请求来自其他网站，已拒绝")


@router.get(LOGIN_URL, response_class=HTMLResponse)
def login_form(request: Request, staff: OptionalStaffDep, next: str = "/workbench") -> Response:
    target = safe_next(next)
    if staff is not None and not staff.signed_in.must_change_password:
        return RedirectResponse(target, status_code=303)
    return render(request, "workbench/login.html", next=target, name="", errors={})


@router.post(LOGIN_URL, max_body_size=LOGIN_MAX_BODY)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/workbench",
) -> Response:
    _same_origin(request)
    target = safe_next(next)
    name = name.strip()

    def again(message: str, status: int = FORM_ERROR) -> HTMLResponse:
        # Not 401 for a wrong password: a 401 carries the Basic challenge, and browsers
        # answer that with their own password dialog.
        errors = {"": message}
        return render(
            request, "workbench/login.html", status=status, next=target, name=name, errors=errors
        )

    if not name or not password:
        return again("请输入用户名和密码")
    try:
        cookie, signed_in = sessions.sign_in(session, name, password, client, settings)
    except TooManyRequests as exc:
        page = again(exc.message, 429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except Unauthorized as exc:
        return again(exc.message)
    session.commit()
    resp: Response
    if signed_in.must_change_password:
        # The password page says why (its #forced notice); no flash repeats it.
        resp = RedirectResponse(f"{PASSWORD_URL}?next={quote(target, safe='/')}", status_code=303)
    else:
        resp = RedirectResponse(target, status_code=303)
    set_session_cookie(resp, request, settings, cookie)
    return resp


@router.get("/workbench/logout", response_class=HTMLResponse)
def logout_confirm(request: Request, staff: OptionalStaffDep) -> Response:
    if staff is None:
        return RedirectResponse(LOGIN_URL, status_code=303)
    return render(request, "workbench/logout.html")


@router.post("/workbench/logout")
def logout(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    staff: PasswordStaffDep,
) -> Response:
    sessions.sign_out(session, staff.signed_in, client)
    session.commit()
    resp = redirect(request, LOGIN_URL, flash=("success", "已退出登录"))
    clear_session_cookie(resp, request, settings)
    return resp


@router.get(PASSWORD_URL, response_class=HTMLResponse)
def password_form(
    request: Request, staff: PasswordStaffDep, settings: SettingsDep, next: str = "/workbench"
) -> Response:
    return render(
        request,
        "workbench/password.html",
        next=safe_next(next),
        errors={},
        policy=passwords.policy_text(settings.password_min_length),
        forced=staff.signed_in.must_change_password,
    )


@router.post(PASSWORD_URL)
def change_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    staff: PasswordStaffDep,
    current: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    new: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    confirm: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/workbench",
) -> Response:
    target = safe_next(next)
    try:
        if new != confirm:
            raise UnprocessableInput(
                "两次输入的新密码不一致",
                detail=[{"field": "confirm", "reason": "两次输入的新密码不一致"}],
            )
        users.change_password(
            session,
            staff.account.id,
            current,
            new,
            min_length=settings.password_min_length,
            keep_session=staff.signed_in.session_id,
            client=client,
        )
    except UnprocessableInput as exc:
        return render(
            request,
            "workbench/password.html",
            status=FORM_ERROR,
            next=target,
            errors=form_errors(exc),
            policy=passwords.policy_text(settings.password_min_length),
            forced=staff.signed_in.must_change_password,
        )
    session.commit()
    return redirect(request, target, flash=("success", "密码已修改；其他设备上的登录已退出"))
