"""``/workbench/users``: the admin's account pages (create, role and scope, disable, reset
password, sessions, tokens)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from landmatch import vocab
from landmatch.accounts import passwords, sessions, tokens, users
from landmatch.api.deps import ClientDep, SessionDep, SettingsDep
from landmatch.api.routes.workbench.account import expiry, token_page_context
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    AdminDep,
    form_errors,
    redirect,
    render,
)
from landmatch.auth import Principal
from landmatch.errors import Conflict, LandMatchError, UnprocessableInput
from landmatch.settings import Settings

router = APIRouter(include_in_schema=False)
URL = "/workbench/users"
PAGE_SIZE = 50

Text = Annotated[str, Form(max_length=100)]


def _spec(name: str, role: str, city_code: str, zone_code: str, team: str) -> users.AccountSpec:
    return users.AccountSpec(
        name=name.strip(),
        role=role,
        city_code=city_code or None,
        zone_code=zone_code or None,
        team=team or None,
    )


@router.get(URL, response_class=HTMLResponse)
def user_list(
    request: Request,
    session: SessionDep,
    staff: AdminDep,
    q: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[str | None, Query(max_length=12)] = None,
    active: Annotated[str | None, Query(pattern="^(true|false)?$")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    page = users.listing(
        session,
        staff.principal,
        q=q or None,
        role=role if role in vocab.ROLES else None,
        active=None if not active else active == "true",
        offset=offset,
        limit=PAGE_SIZE,
    )
    return render(
        request,
        "workbench/users.html",
        page=page,
        filters={"q": q or "", "role": role or "", "active": active or ""},
    )


def _new_form(
    request: Request,
    session: SessionDep,
    settings: Settings,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "workbench/user_new.html",
        status=status,
        values=values or {"role": "bureau"},
        errors=errors or {},
        policy=passwords.policy_text(settings.password_min_length),
        **users.scope_choices(session),
    )


@router.get(URL + "/new", response_class=HTMLResponse)
def new_user_form(
    request: Request, session: SessionDep, settings: SettingsDep, staff: AdminDep
) -> HTMLResponse:
    return _new_form(request, session, settings)


@router.post(URL)
def create_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    staff: AdminDep,
    name: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=12)] = "",
    city_code: Annotated[str, Form(max_length=6)] = "",
    zone_code: Annotated[str, Form(max_length=64)] = "",
    team: Text = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
) -> Response:
    spec = _spec(name, role, city_code, zone_code, team)
    try:
        account = users.create(
            session,
            spec,
            staff.principal,
            password=password,
            min_length=settings.password_min_length,
            client=client,
        )
    except (UnprocessableInput, Conflict) as exc:
        values = {"name": name, "role": role, "city_code": city_code, "zone_code": zone_code}
        values["team"] = team
        return _new_form(
            request, session, settings, values=values, errors=form_errors(exc), status=FORM_ERROR
        )
    session.commit()
    return redirect(
        request,
        f"{URL}/{account.name}",
        flash=("success", f"账号 {account.name} 已创建；首次登录时须修改初始密码"),
    )


def _detail(
    request: Request,
    session: SessionDep,
    settings: Settings,
    by: Principal,
    name: str,
    *,
    status: int = 200,
    refused: LandMatchError | None = None,
    values: dict[str, str] | None = None,
    new_token: str | None = None,
) -> HTMLResponse:
    """The account's page; ``refused``: a form the service refused, its messages by field."""
    account = users.read(session, name, by)
    return render(
        request,
        "workbench/user.html",
        status=FORM_ERROR if refused else status,
        account=account,
        values=values
        or {
            "role": account.role,
            "city_code": account.city_code or "",
            "zone_code": account.zone_code or "",
            "team": account.team or "",
        },
        errors=form_errors(refused) if refused else {},
        sessions=sessions.of_user(session, account.id, settings, by),
        tokens=tokens.of_user(session, account.id, by),
        policy=passwords.policy_text(settings.password_min_length),
        new_token=new_token,
        **users.scope_choices(session),
        **token_page_context(settings),
    )


@router.get(URL + "/{name}", response_class=HTMLResponse)
def user_detail(
    request: Request, name: str, session: SessionDep, settings: SettingsDep, staff: AdminDep
) -> HTMLResponse:
    return _detail(request, session, settings, staff.principal, name)


@router.post(URL + "/{name}")
def update_user(
    request: Request,
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    staff: AdminDep,
    role: Annotated[str, Form(max_length=12)] = "",
    city_code: Annotated[str, Form(max_length=6)] = "",
    zone_code: Annotated[str, Form(max_length=64)] = "",
    team: Text = "",
) -> Response:
    spec = _spec(name, role, city_code, zone_code, team)
    try:
        users.update(session, name, spec, staff.principal, client)
    except UnprocessableInput as exc:
        values = {"role": role, "city_code": city_code, "zone_code": zone_code, "team": team}
        return _detail(
            request, session, settings, staff.principal, name, refused=exc, values=values
        )
    session.commit()
    return redirect(request, f"{URL}/{name}", flash=("success", "账号已保存"))


def _activation(active: bool, done: str) -> Callable[..., Response]:
    def set_active(
        request: Request, name: str, session: SessionDep, client: ClientDep, staff: AdminDep
    ) -> Response:
        users.set_active(session, name, active, staff.principal, client)
        session.commit()
        return redirect(request, f"{URL}/{name}", flash=("success", done))

    return set_active


router.post(URL + "/{name}/disable")(_activation(False, "账号已停用：其会话已结束，令牌不再可用"))
router.post(URL + "/{name}/enable")(_activation(True, "账号已启用"))


@router.post(URL + "/{name}/password")
def reset_password(
    request: Request,
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    staff: AdminDep,
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
) -> Response:
    try:
        users.reset_password(
            session,
            name,
            password,
            staff.principal,
            min_length=settings.password_min_length,
            client=client,
        )
    except UnprocessableInput as exc:
        return _detail(request, session, settings, staff.principal, name, refused=exc)
    session.commit()
    return redirect(
        request,
        f"{URL}/{name}",
        flash=("success", "密码已重置：该账号的会话已结束，下次登录须修改密码"),
    )


@router.post(URL + "/{name}/sessions/{session_id}/revoke")
def revoke_session(
    request: Request,
    name: str,
    session_id: int,
    session: SessionDep,
    client: ClientDep,
    staff: AdminDep,
) -> Response:
    account = users.read(session, name, staff.principal)
    sessions.revoke(session, session_id, staff.principal, client, owner_id=account.id)
    session.commit()
    return redirect(request, f"{URL}/{name}", flash=("success", "会话已撤销"))


@router.post(URL + "/{name}/tokens")
def create_token(
    request: Request,
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    staff: AdminDep,
    token_name: Annotated[str, Form(max_length=200)] = "",
    expires_on: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    account = users.read(session, name, staff.principal)
    try:
        _, token = tokens.create(
            session,
            account.id,
            staff.principal,
            name=token_name,
            expires_at=expiry(expires_on, settings),
            max_days=settings.token_max_days,
            client=client,
        )
    except LandMatchError as exc:
        if exc.status != 422:
            raise
        return _detail(request, session, settings, staff.principal, name, refused=exc)
    session.commit()
    return _detail(request, session, settings, staff.principal, name, status=201, new_token=token)


@router.post(URL + "/{name}/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    name: str,
    token_id: int,
    session: SessionDep,
    client: ClientDep,
    staff: AdminDep,
) -> Response:
    account = users.read(session, name, staff.principal)
    tokens.revoke(session, token_id, staff.principal, client, owner_id=account.id)
    session.commit()
    return redirect(request, f"{URL}/{name}", flash=("success", "令牌已吊销"))
