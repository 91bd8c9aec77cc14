"""Building blocks of every staff page (CONTRIBUTING.md, "Adding a page").

- ``StaffDep`` / ``staff_with(*roles)``: the signed-in staff member of a page; without a live
  session the browser is sent to the sign-in page (and back afterwards), with a password to
  change to the password page; a role outside ``roles`` gets the 403 page. The areas' role
  groups: ``AdminDep``, ``BureauDep`` (admin, bureau), ``EditorDep`` (admin, bureau, zone),
  ``PromoterDep`` (admin, promoter).
- ``PageContext`` / ``context_with(*roles)``: what a handler takes, in one parameter: the
  request, the session, the settings, the client and the staff member admitted as above
  (``StaffCtx``, ``AdminCtx``, ``BureauCtx``, ``EditorCtx``, ``PromoterCtx``).
- ``render(request, template, **context)``: a template under ``web/templates`` with the base
  context (``staff``, ``csrf_token``, ``nav``, ``flashes``, ``page_url``).
- ``redirect(url, flash=...)``: the POST-redirect-GET answer, with a flash message for the
  next page.
- ``form_errors(exc)``: a service's validation error as ``{field: reason}`` for the form
  macros (``_forms.html``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from landmatch import display, numbers, resources, vocab
from landmatch.accounts import users
from landmatch.accounts.audit import Client
from landmatch.accounts.principals import SESSION_ENDED, Resolved, resolve
from landmatch.accounts.sessions import SignedIn
from landmatch.api.deps import ClientDep, SessionDep, SettingsDep, get_client, submitted_csrf
from landmatch.api.security import SESSION_COOKIE, check_csrf, parse_credentials
from landmatch.auth import Principal
from landmatch.dates import beijing_minute
from landmatch.errors import Forbidden, LandMatchError, Unauthorized
from landmatch.inventory.fields import label_of
from landmatch.settings import Settings

TEMPLATES = resources.TEMPLATES
FLASH_COOKIE = "lm_flash"
LOGIN_URL = "/workbench/login"
PASSWORD_URL = "/workbench/password"
STAFF_ROLES = tuple(vocab.ROLES)
# A form sent back with its errors answers 200, as Django's admin does: htmx swaps only 2xx
# answers by default, and browsers log every 4xx page load as a console error.
FORM_ERROR = 200
log = logging.getLogger("landmatch")


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: tuple[str, ...] = STAFF_ROLES
    group: str | None = None  # the menu it joins when a role's bar would be too full


@dataclass(frozen=True)
class NavMenu:
    """Neighbouring entries of one group as one drop-down menu of the bar."""

    label: str
    items: tuple[NavItem, ...]


# The navigation, in order; each area's author adds its entry here (one place). A group's
# entries stand next to each other.
NAV: list[NavItem] = [
    NavItem("首页", "/workbench"),
    NavItem("地块清单", "/workbench/parcels"),
    NavItem("招商项目", "/workbench/projects", ("admin", "promoter"), "招商"),
    NavItem("意向线索", "/workbench/leads", ("admin", "promoter"), "招商"),
    NavItem("数据导入", "/workbench/imports", ("admin", "bureau")),
    NavItem("内部地图", "/internal/map"),
    NavItem("监测看板", "/dashboard"),
    NavItem("数据质量", "/workbench/qa", ("admin", "bureau", "zone")),
    NavItem("处置案件", "/workbench/cases", ("admin", "bureau")),
    NavItem("开发区", "/workbench/zones", ("admin", "bureau", "zone"), "资料库"),
    NavItem("政策库", "/workbench/policies", ("admin", "bureau", "zone"), "资料库"),
    NavItem("参考图层", "/workbench/layers", ("admin", "bureau"), "资料库"),
    NavItem("账号管理", "/workbench/users", ("admin",), "系统管理"),
    NavItem("团队覆盖", "/workbench/teams", ("admin",), "系统管理"),
    NavItem("审计日志", "/workbench/audit", ("admin",), "系统管理"),
]
# A role with more entries than this gets its groups as menus: ten fit one line of a 1366 px
# window beside the account (a bureau's), the admin's fifteen do not.
NAV_FLAT_MAX = 10


def nav_bar(items: list[NavItem]) -> list[NavItem | NavMenu]:
    """The bar of a role's entries: as they are when they fit, otherwise each group of two
    or more entries as one menu (nothing is left out)."""
    if len(items) <= NAV_FLAT_MAX:
        return list(items)
    bar: list[NavItem | NavMenu] = []
    for item in items:
        last = bar[-1] if bar else None
        if isinstance(last, NavMenu) and last.label == item.group:
            bar[-1] = NavMenu(last.label, (*last.items, item))
        else:
            bar.append(NavMenu(item.group, (item,)) if item.group else item)
    return [e.items[0] if isinstance(e, NavMenu) and len(e.items) == 1 else e for e in bar]


def nav_here(path: str, items: list[NavItem]) -> str | None:
    """The entry of the page at ``path``: its own, or the longest one it lies under."""
    under = [
        i.href
        for i in items
        if path == i.href or (i.href != "/workbench" and path.startswith(i.href))
    ]
    return max(under, key=len) if under else None


class Redirect(Exception):
    """Raised by page dependencies: answer with a 303 to ``url`` (handled in install()), with
    ``flash`` (kind, message) for the next page when given."""

    def __init__(self, url: str, flash: tuple[str, str] | None = None) -> None:
        super().__init__(url)
        self.url = url
        self.flash = flash


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of a page request."""

    principal: Principal
    signed_in: SignedIn
    account: users.Account

    @property
    def csrf_token(self) -> str:
        return self.signed_in.csrf_token


def safe_next(value: str | None, default: str = "/workbench") -> str:
    """Only a same-site relative path is followed after sign-in: one "/" then not another
    "/" or "\\", no scheme, no control characters; anything else goes to ``default``."""
    if not value or len(value) > 2000:
        return default
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(c in value for c in "\\\r\n\t\x00") or any(ord(c) < 0x20 for c in value):
        return default
    return value


def login_url(next_url: str) -> str:
    return f"{LOGIN_URL}?next={quote(next_url, safe='/')}"


def _here(request: Request) -> str:
    q = request.url.query
    return request.url.path + (f"?{q}" if q else "")


def _resolved(request: Request, session: Session, settings: Settings) -> Resolved | None:
    """The request's live sign-in session, or None (pages sign in with the cookie only)."""
    try:
        creds = parse_credentials(request)
    except Unauthorized:
        return None
    if creds.kind != "session":
        return None
    try:
        resolved: Resolved = resolve(session, creds, get_client(request, settings), settings)
    except Unauthorized:
        request.state.session_ended = True  # the sign-in page says why (_admit)
        return None
    session.commit()
    assert resolved.signed_in is not None
    return resolved


def _admitted(request: Request, session: Session, resolved: Resolved) -> Staff:
    """The staff member of a resolved sign-in, kept on the request for the page's rendering."""
    assert resolved.signed_in is not None
    account = users.by_id(session, resolved.signed_in.principal.user_id or 0)
    staff = Staff(resolved.principal, resolved.signed_in, account)
    request.state.staff = staff
    request.state.auth = resolved
    return staff


# Said on the sign-in page when a form was sent with a session that had ended.
NOT_SAVED = "刚才提交的内容未保存，请登录后重新提交"


def _reading(request: Request) -> bool:
    return request.method in ("GET", "HEAD")


def _return_to(request: Request) -> str:
    """Where to go once signed in: the page asked for; for a form sent (a POST address answers
    nothing to a GET), the page it was sent from, else the workbench's home."""
    if _reading(request):
        return _here(request)
    return _back(request) or "/workbench"


def _signed_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Annotated[str | None, Depends(submitted_csrf)],
) -> Staff | None:
    """The page's session, or None; CSRF is checked here for unsafe methods, as in the API."""
    resolved = _resolved(request, session, settings)
    if resolved is None:
        return None
    assert resolved.signed_in is not None
    check_csrf(resolved.signed_in, csrf, request.method)
    return _admitted(request, session, resolved)


def staff_of(request: Request) -> Staff | None:
    """The signed-in staff member of a request no page admitted (an unknown path, a refusal
    by a middleware such as the upload limit, a CSRF refusal), for its error page's
    navigation; None when not signed in. Blocks on the database: not on the event loop."""
    staff: Staff | None = getattr(request.state, "staff", None)
    if staff is not None:
        return staff
    with request.app.state.sessions() as session:
        resolved = _resolved(request, session, request.app.state.settings)
        return None if resolved is None else _admitted(request, session, resolved)


OptionalStaffDep = Annotated[Staff | None, Depends(_signed_in)]


def _admit(
    request: Request,
    staff: Staff | None,
    roles: tuple[str, ...],
    allow_password_change: bool = False,
) -> Staff:
    """The signed-in staff member if ``roles`` may open the page (any staff role if none are
    given); otherwise the redirect to sign in or to change the password, or the 403 page."""
    if staff is None:
        ended = getattr(request.state, "session_ended", False)
        message = SESSION_ENDED if _reading(request) else f"{SESSION_ENDED}；{NOT_SAVED}"
        raise Redirect(login_url(_return_to(request)), ("warning", message) if ended else None)
    if staff.signed_in.must_change_password and not allow_password_change:
        raise Redirect(f"{PASSWORD_URL}?next={quote(_return_to(request), safe='/')}")
    if staff.principal.role not in (roles or STAFF_ROLES):
        raise Forbidden(
            f"当前角色（{vocab.label(vocab.ROLES, staff.principal.role)}）无权访问此页面"
        )
    return staff


def staff_with(*roles: str, allow_password_change: bool = False) -> Callable[..., Staff]:
    """A dependency: the signed-in staff member with one of ``roles`` (any staff role if
    none are given)."""

    def dependency(request: Request, staff: OptionalStaffDep) -> Staff:
        return _admit(request, staff, roles, allow_password_change)

    return dependency


@dataclass(frozen=True)
class PageContext:
    """What a staff page's handler works with: the request, its database session, the
    settings, the client (for the audit log) and the signed-in staff member. A page that runs
    a long job takes its ``JobSessionDep`` beside it."""

    request: Request
    session: Session
    settings: Settings
    client: Client
    staff: Staff


def context_with(*roles: str) -> Callable[..., PageContext]:
    """A dependency: the :class:`PageContext` of a page that ``roles`` may open (any staff
    role if none are given), admitted as :func:`staff_with` admits."""

    def dependency(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        client: ClientDep,
        staff: OptionalStaffDep,
    ) -> PageContext:
        return PageContext(request, session, settings, client, _admit(request, staff, roles))

    return dependency


StaffDep = Annotated[Staff, Depends(staff_with())]
AdminDep = Annotated[Staff, Depends(staff_with("admin"))]
#: The version of a record a form was opened at (the service compares it inside the write).
Version = Annotated[int, Form(ge=1)]
# The role groups of the areas (one definition each).
BureauDep = Annotated[Staff, Depends(staff_with("admin", "bureau"))]
EditorDep = Annotated[Staff, Depends(staff_with("admin", "bureau", "zone"))]
PromoterDep = Annotated[Staff, Depends(staff_with("admin", "promoter"))]
# The same groups as a page's whole context.
StaffCtx = Annotated[PageContext, Depends(context_with())]
AdminCtx = Annotated[PageContext, Depends(context_with("admin"))]
BureauCtx = Annotated[PageContext, Depends(context_with("admin", "bureau"))]
EditorCtx = Annotated[PageContext, Depends(context_with("admin", "bureau", "zone"))]
PromoterCtx = Annotated[PageContext, Depends(context_with("admin", "promoter"))]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


# What a saved file's name cannot hold: path separators, the characters Windows refuses,
# control characters, and the bidirectional controls that make a name read as another
# (报价单<U+202E>fdp.exe… shown as …exe.pdf).
_NOT_IN_A_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|' + display.BIDI_CONTROLS + "]")
#: The most characters of a file name's stem (its extension kept): room for any file system.
FILENAME_STEM = 80


def attachment(filename: str, ascii_name: str = "") -> str:
    r"""The ``Content-Disposition`` of a file the browser saves as ``filename`` (any script:
    RFC 6266's ``filename*``; a name made of user text, such as a project's, loses what a file
    name cannot hold), with ``ascii_name`` (by default the name itself when it is plain
    ASCII) for clients that read only the plain ``filename`` (``curl -OJ``).

    >>> print(attachment("甲/乙\u202eexe.pdf-对比.xlsx", "compare.xlsx"))
    attachment; filename="compare.xlsx"; filename*=UTF-8''%E7%94%B2_%E4%B9%99_exe.pdf-%E5%AF%B9%E6%AF%94.xlsx
    """
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = _NOT_IN_A_FILENAME.sub("_", stem).strip(" .")[:FILENAME_STEM] or "download"
    name = stem + dot + _NOT_IN_A_FILENAME.sub("_", ext)
    ascii_name = ascii_name or (name if name.isascii() else "")
    plain = f'filename="{ascii_name}"; ' if ascii_name else ""
    return f"attachment; {plain}filename*=UTF-8''{quote(name, safe='')}"


def download(data: bytes, filename: str, media_type: str, ascii_name: str = "") -> Response:
    """A file the browser saves as ``filename`` (:func:`attachment`)."""
    disposition = attachment(filename, ascii_name)
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


# ---- flash messages (a signed cookie read once) ---------------------------------------------


def _sign(settings: Settings, payload: bytes) -> str:
    mac = hmac.new(settings.secret_key.encode(), payload, hashlib.sha256).hexdigest()[:32]
    return base64.urlsafe_b64encode(payload).decode() + "." + mac


def _unsign(settings: Settings, value: str) -> Any:
    data, _, mac = value.partition(".")
    try:
        payload = base64.urlsafe_b64decode(data.encode())
    except ValueError:
        return None
    if not hmac.compare_digest(_sign(settings, payload), value):
        return None
    return json.loads(payload)


def redirect(
    request: Request, url: str, flash: tuple[str, str] | None = None, status: int = 303
) -> RedirectResponse:
    """POST-redirect-GET; ``flash`` = (kind, message), kind one of success, info, warning,
    danger (Bootstrap's alert colours), shown once on the next page."""
    resp = RedirectResponse(url, status_code=status)
    if flash is not None:
        settings: Settings = request.app.state.settings
        value = _sign(settings, json.dumps([list(flash)], ensure_ascii=False).encode())
        resp.set_cookie(FLASH_COOKIE, value, max_age=120, httponly=True, samesite="lax", path="/")
    return resp


#: The warnings a save's flash names (a cookie: the rest are counted).
FLASH_WARNINGS = 3


def saved_flash(warnings: list[dict[str, Any]], done: str) -> tuple[str, str]:
    """The flash of a parcel saved by the edit service: ``done`` (已保存), with what the
    validation warned of (the API's warnings: a price below the minimum, a declared area off
    the measured one …) to check."""
    if not warnings:
        return "success", done
    said = [f"{label_of(w['field'])}：{w['message']}" for w in warnings[:FLASH_WARNINGS]]
    more = len(warnings) - len(said)
    tail = f"；另有 {more} 条提示" if more > 0 else ""
    return "warning", f"{done}，请核实：{'；'.join(said)}{tail}"


def act(
    request: Request,
    session: Any,
    action: Callable[[], Any],
    *,
    back: str,
    done: str,
    then: str | Callable[[Any], str] | None = None,
) -> RedirectResponse:
    """A one-button form: run ``action`` (a service call) and commit, then to ``then`` (by
    default ``back``; a function of what ``action`` answered, if one) with ``done``; a refusal
    (any :class:`LandMatchError`) rolls back and goes to ``back`` with its message."""
    try:
        result = action()
    except LandMatchError as exc:
        session.rollback()
        return redirect(request, back, ("danger", exc.message))
    session.commit()
    target = then(result) if callable(then) else then or back
    return redirect(request, target, ("success", done))


@dataclass(frozen=True)
class Posted:
    """A one-button form on a versioned record (a lead, a project): the request, the session,
    the signed-in staff member and the version the form was opened at."""

    request: Request
    session: Any
    staff: Staff
    version: int

    def act(
        self,
        action: Callable[[], Any],
        *,
        back: str,
        done: str,
        then: str | Callable[[Any], str] | None = None,
    ) -> RedirectResponse:
        """:func:`act` in this request."""
        return act(self.request, self.session, action, back=back, done=done, then=then)


def _promoter_post(
    request: Request, session: SessionDep, staff: PromoterDep, version: Version
) -> Posted:
    return Posted(request, session, staff, version)


def _admin_post(request: Request, session: SessionDep, staff: AdminDep, version: Version) -> Posted:
    return Posted(request, session, staff, version)


PromoterPost = Annotated[Posted, Depends(_promoter_post)]
AdminPost = Annotated[Posted, Depends(_admin_post)]


def _flashes(request: Request) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    found = _unsign(request.app.state.settings, raw)
    if not isinstance(found, list):
        return []
    return [(str(k), str(m)) for k, m in found if k in ("success", "info", "warning", "danger")]


# ---- form errors ---------------------------------------------------------------------------


def form_errors(exc: LandMatchError) -> dict[str, str]:
    """``{field: reason}`` from a service error's ``detail`` (list of {field, reason}); the
    whole message under ``""`` when no field is named."""
    out: dict[str, str] = {}
    if isinstance(exc.detail, list):
        for e in exc.detail:
            if isinstance(e, dict) and e.get("field"):
                out.setdefault(str(e["field"]), str(e.get("reason", "")))
    if not out:
        out[""] = exc.message
    return out


def refused(
    session: Any, exc: LandMatchError, raise_on: tuple[int, ...] = (403,)
) -> dict[str, str]:
    """A service's refusal of a form's values: the write rolled back, the errors by field for
    the form (:func:`form_errors`). A refusal with a status in ``raise_on`` (scope: 403) or a
    server error is raised on, to the error page."""
    if exc.status >= 500 or exc.status in raise_on:
        raise exc
    session.rollback()
    return form_errors(exc)


# ---- rendering -----------------------------------------------------------------------------

_env: Environment | None = None


def templates() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=display.shown,  # user text reads in the order it was typed
        )
        _env.filters["dt"] = fmt_datetime
        _env.globals["ROLES"] = vocab.ROLES
        # How a figure is written for people, areas in 亩 and 公顷 (docs/domain.md §0).
        _env.globals.update(num=numbers.num, mu=numbers.mu, ha=numbers.ha)
    return _env


def fmt_datetime(value: Any) -> str:
    """A timestamp in Beijing time, ``2026-11-01 14:03`` (``dates.beijing_minute``); empty
    for None."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return beijing_minute(value)
    return str(value)


def page_url(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one): for pagers,
    sorting and filter links, so every view has its URL."""
    params = dict(request.query_params)
    for k, v in changes.items():
        if v is None or v == "":
            params.pop(k, None)
        else:
            params[k] = str(v)
    return request.url.path + ("?" + urlencode(params) if params else "")


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the base context; a flash message shown is cleared."""
    staff: Staff | None = getattr(request.state, "staff", None)
    role = staff.principal.role if staff else None
    # Until a forced password change is done, the navigation offers nothing else.
    nav = (
        [n for n in NAV if role in n.roles]
        if staff and not staff.signed_in.must_change_password
        else []
    )
    base = {
        "request": request,
        "staff": staff,
        "csrf_token": staff.csrf_token if staff else "",
        "nav": nav,
        "nav_bar": nav_bar(nav),
        "nav_here": nav_here(request.url.path, nav),
        "path": request.url.path,
        "flashes": _flashes(request),
        "page_url": lambda **changes: page_url(request, **changes),
        # The upload cap (BodyLimitMiddleware's): workbench.js says it before sending a file.
        "upload_max_mb": request.app.state.settings.max_upload_mb,
    }
    html = templates().get_template(template).render(**base, **context)
    resp = HTMLResponse(html, status_code=status)
    if base["flashes"]:
        resp.delete_cookie(FLASH_COOKIE, path="/")
    return resp


def conflict_page(
    request: Request,
    *,
    what: str,
    title: str,
    url: str,
    opened: Any,
    saved: dict[str, Any],
    rows: list[dict[str, Any]],
    mine: Iterable[str],
    sent: dict[str, Any],
    reason: str,
    form_names: dict[str, str] | None = None,
    **nav: Any,
) -> HTMLResponse:
    """The conflict screen of a versioned record's form (``workbench/conflict.html``): the
    version ``opened``, the version ``saved`` since (actor, at, reason, version), the field
    ``rows``, and a form that sends ``mine`` (the fields changed, as ``sent``) again on the
    saved version — a list as its values after a ``<name>__present`` marker, so that an emptied
    list is sent too; ``form_names`` renames a field whose form name differs. ``nav``: the
    page's navigation (``parcel_code`` or ``crumbs``)."""
    hidden: list[tuple[str, str]] = []
    for name in mine:
        key, value = (form_names or {}).get(name, name), sent[name]
        if isinstance(value, list):
            hidden.append((f"{key}__present", "1"))
            hidden += [(key, v) for v in value]
        else:
            hidden.append((key, value))
    return render(
        request,
        "workbench/conflict.html",
        status=FORM_ERROR,
        what=what,
        title=title,
        url=url,
        opened=opened,
        saved=saved,
        rows=rows,
        hidden=hidden,
        reason=reason,
        **nav,
    )


WORKBENCH_PATHS = ("/workbench", "/dashboard")


def _back(request: Request) -> str | None:
    """The page the browser came from (a same-site ``Referer``), for the error page's way
    back; None when there is none or it is this very address."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or referer.scheme not in ("http", "https"):
        return None
    back = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""), "")
    if not back or (request.method == "GET" and back == _here(request)):
        return None
    return back


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """The error page that answers a page's error instead of problem+json (when: the handler
    below and ``problems.PageErrors``): the workbench's look, with the navigation of the
    signed-in staff member's role (looked up here when no page admitted the request: an
    unknown path, the upload limit) or the sign-in link, on the workbench's paths and for
    staff; the public map's look and link for everyone else. Reads the database: called off
    the event loop."""
    workbench = request.url.path.startswith(WORKBENCH_PATHS)
    staff: Staff | None = getattr(request.state, "staff", None)
    if staff is None and workbench and status < 500:
        try:
            staff = staff_of(request)
        except (LandMatchError, SQLAlchemyError):  # the page answers, without the navigation
            log.warning("%s: no navigation on the error page", request.url.path, exc_info=True)
    public = staff is None and not workbench
    sign_in = None
    if staff is None and workbench:
        sign_in = login_url(_here(request)) if request.method == "GET" else LOGIN_URL
    if status == 405 and request.method == "GET":  # a form's address opened, or reloaded
        message = "这个地址用于提交页面上的表单，不能直接打开：请回到原来的页面重新操作。"
    error = {"status": status, "title": title, "message": message}
    return render(
        request,
        "workbench/error.html",
        status=status,
        error=error,
        public=public,
        back=_back(request),
        sign_in=sign_in,
    )


def install_handlers(app: Any) -> None:
    """Redirects from page dependencies; a domain error of a /workbench page is the error page
    whatever the request accepts (a form's post, an htmx request). A browser's other errors
    become the error page in ``problems.PageErrors``."""
    from landmatch.api.problems import domain_response

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, exc: Redirect) -> Response:
        return redirect(request, exc.url, exc.flash)

    @app.exception_handler(LandMatchError)
    async def _domain(request: Request, exc: LandMatchError) -> Response:
        if request.url.path.startswith(WORKBENCH_PATHS) and exc.status < 500:
            return await run_in_threadpool(error_page, request, exc.status, exc.title, exc.message)
        return domain_response(exc, request)


__all__ = [
    "AdminCtx",
    "AdminDep",
    "AdminPost",
    "BureauCtx",
    "BureauDep",
    "EditorCtx",
    "EditorDep",
    "PromoterCtx",
    "PromoterDep",
    "FORM_ERROR",
    "NAV",
    "NavItem",
    "NavMenu",
    "OptionalStaffDep",
    "PDF",
    "PageContext",
    "Posted",
    "PromoterPost",
    "Redirect",
    "SESSION_COOKIE",
    "Staff",
    "StaffCtx",
    "StaffDep",
    "Version",
    "XLSX",
    "act",
    "conflict_page",
    "context_with",
    "attachment",
    "download",
    "error_page",
    "fmt_datetime",
    "form_errors",
    "login_url",
    "page_url",
    "redirect",
    "refused",
    "render",
    "safe_next",
    "staff_of",
    "staff_with",
    "templates",
]
