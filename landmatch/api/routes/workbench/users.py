"""``/workbench/users``: the admin's account pages (create, role and scope, disable, reset
password, sessions, tokens)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, Response

from landmatch import vocab
from landmatch.accounts import passwords, sessions, tokens, users
from landmatch.api.routes.workbench.account import issue_token, token_page_context
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    AdminCtx,
    PageContext,
    Version,
    form_errors,
    redirect,
    render,
)
from landmatch.auth import Principal
from landmatch.db.locking import etag
from landmatch.errors import Conflict, LandMatchError, PreconditionFailed, UnprocessableInput

router = APIRouter(include_in_schema=False)
URL = "/workbench/users"
PAGE_SIZE = 50


@dataclass(frozen=True)
class ScopeForm:
    """The role and scope fields of the account forms (a new account, an account's page)."""

    role: str
    city_code: str
    zone_code: str
    team: str

    def spec(self, name: str) -> users.AccountSpec:
        return users.AccountSpec(
            name=name.strip(),
            role=self.role,
            city_code=self.city_code or None,
            zone_code=self.zone_code or None,
            team=self.team or None,
        )

    def values(self) -> dict[str, str]:
        """The fields as sent, for a form shown again."""
        return asdict(self)


def _scope_form(
    role: Annotated[str, Form(max_length=12)] = "",
    city_code: Annotated[str, Form(max_length=6)] = "",
    zone_code: Annotated[str, Form(max_length=64)] = "",
    team: Annotated[str, Form(max_length=100)] = "",
) -> ScopeForm:
    return ScopeForm(role, city_code, zone_code, team)


ScopeFormDep = Annotated[ScopeForm, Depends(_scope_form)]


@router.get(URL, response_class=HTMLResponse)
def user_list(
    ctx: AdminCtx,
    q: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[str | None, Query(max_length=12)] = None,
    active: Annotated[str | None, Query(pattern="^(true|false)?$")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    page = users.listing(
        ctx.session,
        ctx.staff.principal,
        q=q or None,
        role=role if role in vocab.ROLES else None,
        active=None if not active else active == "true",
        offset=offset,
        limit=PAGE_SIZE,
    )
    return render(
        ctx.request,
        "workbench/users.html",
        page=page,
        filters={"q": q or "", "role": role or "", "active": active or ""},
    )


def _new_form(
    ctx: PageContext,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        ctx.request,
        "workbench/user_new.html",
        status=status,
        values=values or {"role": "bureau"},
        errors=errors or {},
        policy=passwords.policy_text(ctx.settings.password_min_length),
        **users.scope_choices(ctx.session),
    )


@router.get(URL + "/new", response_class=HTMLResponse)
def new_user_form(ctx: AdminCtx) -> HTMLResponse:
    return _new_form(ctx)


@router.post(URL)
def create_user(
    ctx: AdminCtx,
    scope: ScopeFormDep,
    name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
) -> Response:
    spec = scope.spec(name)
    try:
        account = users.create(
            ctx.session,
            spec,
            ctx.staff.principal,
            password=password,
            min_length=ctx.settings.password_min_length,
            client=ctx.client,
        )
    except (UnprocessableInput, Conflict) as exc:
        values = {"name": name, **scope.values()}
        return _new_form(ctx, values=values, errors=form_errors(exc), status=FORM_ERROR)
    ctx.session.commit()
    return redirect(
        ctx.request,
        f"{URL}/{account.name}",
        flash=("success", f"账号 {account.name} 已创建；首次登录时须修改初始密码"),
    )


def _detail(
    ctx: PageContext,
    by: Principal,
    name: str,
    *,
    status: int = 200,
    refused: LandMatchError | None = None,
    values: dict[str, str] | None = None,
    opened: int | None = None,
    new_token: str | None = None,
) -> HTMLResponse:
    """The account's page; ``refused``: a form the service refused, its messages by field, and
    ``opened`` the version that form was opened at (it is sent again with it)."""
    account = users.read(ctx.session, name, by)
    return render(
        ctx.request,
        "workbench/user.html",
        status=FORM_ERROR if refused else status,
        account=account,
        version=opened or account.version,
        values=values
        or {
            "role": account.role,
            "city_code": account.city_code or "",
            "zone_code": account.zone_code or "",
            "team": account.team or "",
        },
        errors=form_errors(refused) if refused else {},
        sessions=sessions.of_user(ctx.session, account.id, ctx.settings, by),
        tokens=tokens.of_user(ctx.session, account.id, by),
        policy=passwords.policy_text(ctx.settings.password_min_length),
        new_token=new_token,
        **users.scope_choices(ctx.session),
        **token_page_context(ctx.settings),
    )


@router.get(URL + "/{name}", response_class=HTMLResponse)
def user_detail(ctx: AdminCtx, name: str) -> HTMLResponse:
    return _detail(ctx, ctx.staff.principal, name)


@router.post(URL + "/{name}")
def update_user(
    ctx: AdminCtx,
    name: str,
    scope: ScopeFormDep,
    version: Version,
) -> Response:
    try:
        users.update(
            ctx.session,
            name,
            scope.spec(name),
            ctx.staff.principal,
            ctx.client,
            if_match=etag(name, version),
        )
    except PreconditionFailed:
        # Another admin changed the role or scope since this form was opened: the page shows
        # the account as it is now (with its new version), nothing of this form is saved.
        ctx.session.rollback()
        stale = PreconditionFailed(
            "该账号的角色或范围已被他人修改，未保存。下面是现在的设置，请核对后再保存"
        )
        return _detail(ctx, ctx.staff.principal, name, refused=stale)
    except UnprocessableInput as exc:
        return _detail(
            ctx, ctx.staff.principal, name, refused=exc, values=scope.values(), opened=version
        )
    ctx.session.commit()
    return redirect(ctx.request, f"{URL}/{name}", flash=("success", "账号已保存"))


def _activation(active: bool, done: str) -> Callable[..., Response]:
    def set_active(ctx: AdminCtx, name: str) -> Response:
        users.set_active(ctx.session, name, active, ctx.staff.principal, ctx.client)
        ctx.session.commit()
        return redirect(ctx.request, f"{URL}/{name}", flash=("success", done))

    return set_active


router.post(URL + "/{name}/disable")(_activation(False, "账号已停用：其会话已结束，令牌不再可用"))
router.post(URL + "/{name}/enable")(_activation(True, "账号已启用"))


@router.post(URL + "/{name}/password")
def reset_password(
    ctx: AdminCtx, name: str, password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = ""
) -> Response:
    try:
        users.reset_password(
            ctx.session,
            name,
            password,
            ctx.staff.principal,
            min_length=ctx.settings.password_min_length,
            client=ctx.client,
        )
    except UnprocessableInput as exc:
        return _detail(ctx, ctx.staff.principal, name, refused=exc)
    ctx.session.commit()
    return redirect(
        ctx.request,
        f"{URL}/{name}",
        flash=("success", "密码已重置：该账号的会话已结束，下次登录须修改密码"),
    )


def _revoke(
    ctx: PageContext, name: str, revoke: Callable[..., object], item_id: int, done: str
) -> Response:
    """End one of the account's sessions or tokens (``revoke``: ``sessions.revoke`` or
    ``tokens.revoke``, which refuse an id the account does not own)."""
    account = users.read(ctx.session, name, ctx.staff.principal)
    revoke(ctx.session, item_id, ctx.staff.principal, ctx.client, owner_id=account.id)
    ctx.session.commit()
    return redirect(ctx.request, f"{URL}/{name}", flash=("success", done))


@router.post(URL + "/{name}/sessions/{session_id}/revoke")
def revoke_session(ctx: AdminCtx, name: str, session_id: int) -> Response:
    return _revoke(ctx, name, sessions.revoke, session_id, "会话已撤销")


@router.post(URL + "/{name}/tokens")
def create_token(
    ctx: AdminCtx,
    name: str,
    token_name: Annotated[str, Form(max_length=200)] = "",
    expires_on: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    account = users.read(ctx.session, name, ctx.staff.principal)
    try:
        token = issue_token(ctx, account.id, token_name, expires_on)
    except LandMatchError as exc:
        if exc.status != 422:
            raise
        return _detail(ctx, ctx.staff.principal, name, refused=exc)
    ctx.session.commit()
    return _detail(ctx, ctx.staff.principal, name, status=201, new_token=token)


@router.post(URL + "/{name}/tokens/{token_id}/revoke")
def revoke_token(ctx: AdminCtx, name: str, token_id: int) -> Response:
    return _revoke(ctx, name, tokens.revoke, token_id, "令牌已吊销")
