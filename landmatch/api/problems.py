"""Errors as ``application/problem+json`` (RFC 9457), and as an error page for a browser
that asked for a page (:class:`PageErrors`)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.accounts.principals import SESSION_ENDED
from landmatch.api.asgi import HTTPMiddleware, buffered
from landmatch.db.failures import as_domain_error
from landmatch.errors import (
    InvalidInput,
    LandMatchError,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
)
from landmatch.errors import validation_reason as _reason

PROBLEM = "application/problem+json"
# The schemes a 401 names (RFC 9110 §11.6.1): a bearer token, or HTTP Basic (landmatch.api.security).
CHALLENGE = 'Bearer realm="landmatch", Basic realm="landmatch", charset="UTF-8"'
log = logging.getLogger("landmatch")

# Paths that programs read (the JSON API, the OGC API, tiles, health, the OpenAPI document,
# static files): their errors are problem+json whatever the client accepts.
PROGRAM_PATHS = ("/api", "/ogc", "/tiles", "/healthz", "/openapi.json", "/static")
# Response headers an error page keeps. Not WWW-Authenticate: its Basic challenge would open
# the browser's own password dialog over the page.
PAGE_HEADERS = ("allow", "retry-after", "cache-control")

# What renders the error page: (request, status, title, message) -> the page.
ErrorPage = Callable[[Request, int, str, str], Response]

# A NUL escape in JSON text: ``\u0000`` after an even number of backslashes (an odd one makes
# it the six characters ``\u0000``, which is fine).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return False


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def prefers_html(accept: str) -> bool:
    """Whether an Accept header ranks ``text/html`` (named, not through ``*/*``) above JSON: a
    browser opening a page does, ``fetch()``'s ``*/*`` and an API client's JSON do not."""
    html = data = 0.0
    for part in accept.split(","):
        kind, *params = part.split(";")
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = kind.strip().lower()
        if kind == "text/html":
            html = max(html, q)
        elif kind in ("application/json", PROBLEM, "application/*"):
            data = max(data, q)
    return html > data


def wants_page(scope: Scope) -> bool:
    """Whether an error for this request is answered as a page rather than problem+json: a
    browser's request (:func:`prefers_html`) for anything but a path that programs read."""
    if _under(scope.get("path", ""), PROGRAM_PATHS):
        return False
    return prefers_html(Headers(scope=scope).get("accept", ""))


class PageErrors(HTTPMiddleware):
    """A problem+json answer to a request that :func:`wants_page` becomes the error page, with
    the same status, title and detail, whatever answered it (a route's error, an unknown path,
    a refused parameter, a guard, :class:`CatchAll`'s 500). Sits inside the CSP middleware
    (the page's scripts get their nonce) and outside ``CatchAll``."""

    def __init__(self, app: ASGIApp, page: ErrorPage) -> None:
        super().__init__(app)
        self.page = page

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not wants_page(scope):
            await self.app(scope, receive, send)
            return

        async def paged(start: Message, body: bytes, send: Send) -> None:
            try:
                # The page may read the database (the signed-in staff member's navigation).
                response = await run_in_threadpool(self._page, scope, start, body)
            except Exception:  # noqa: BLE001 - the problem itself still answers
                log.exception("%s: error page failed", scope.get("path"))
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await response(scope, receive, send)

        await self.app(scope, receive, buffered(send, PROBLEM, paged))

    def _page(self, scope: Scope, start: Message, body: bytes) -> Response:
        status = int(start["status"])
        found = json.loads(body) if body else {}
        response = self.page(
            Request(scope),
            status,
            str(found.get("title") or "请求错误"),
            str(found.get("detail") or ""),
        )
        kept = Headers(raw=start["headers"])
        for name in PAGE_HEADERS:
            if name in kept:
                response.headers[name] = kept[name]
        return response


class RejectNul(HTTPMiddleware):
    """Refuse a request whose path, query or JSON body carries a NUL character (PostgreSQL
    text cannot hold one) before any route sees it: 400, in Chinese."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            "\x00" in scope.get("path", "")
            or b"%00" in scope.get("query_string", b"").lower()
            or b"\x00" in scope.get("query_string", b"")
        ):
            response = problem(400, "请求无效", "请求地址或参数中含有空字符（NUL），已拒绝")
            await response(scope, receive, send)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        # A JSON body is read whole by its route anyway: read it here, look, hand it on.
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"\x00" in body or _JSON_NUL.search(body):
            response = problem(400, "请求无效", "请求体中含有空字符（NUL），已拒绝")
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class CatchAll(HTTPMiddleware):
    """The last resort for an exception no handler took: a problem+json answer (503 when the
    database is away or too slow, 4xx for what a database constraint refused, 500 for a
    defect), logged in one line unless it is a defect.

    Starlette's own last resort (``ServerErrorMiddleware``) re-raises after answering, and the
    server then closes the connection: the client's next request on the same keep-alive
    connection is reset. Here the exception ends with the answer, and the connection stays
    usable."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = {"started": False, "done": False}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["done"] = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 - the last resort
            where = f"{scope.get('method')} {scope.get('path')}"
            if state["done"]:  # a background task after the answer: the answer stands
                log.exception("%s: background task failed", where)
                return
            if state["started"]:  # cut mid-answer: the connection must close
                raise
            response = _unexpected(exc, where)
            await response(scope, receive, send)


def _unexpected(exc: Exception, where: str) -> JSONResponse:
    if isinstance(exc, StarletteHTTPException):  # raised by a middleware (a body's size cap)
        return http_problem(exc)
    known = as_domain_error(exc)
    if known is None:
        if isinstance(exc, RecursionError):
            known = InvalidInput("请求数据嵌套层级过深，无法处理")
        else:
            log.exception("%s: unhandled error", where)
            return problem(500, "内部错误", "服务器内部错误，已记录", "/problems/internal")
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()
    log.warning(
        "%s: %s %s (%s)", where, known.status, known.message, reason[0][:200] if reason else ""
    )
    return JSONResponse(known.to_problem(), status_code=known.status, media_type=PROBLEM)


def problem(
    status: int,
    title: str,
    detail: str,
    type_: str = "about:blank",
    errors: object = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"type": type_, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


# A 422 lists at most this many of a request's errors (and counts the rest).
NAMED_ERRORS = 20

# Starlette's and FastAPI's own English details, in Chinese.
_HTTP_DETAILS = {
    "Not Found": "请求的资源不存在",
    "Method Not Allowed": "不支持的请求方法",
    "There was an error parsing the body": "请求体无法解析（格式错误或嵌套层级过深）",
}


_FIELD_TOO_LARGE = re.compile(r"Field exceeded maximum size of (\d+)KB\.?")


def http_problem(exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's (or a middleware's) HTTP error as problem+json, in Chinese."""
    titles = {
        404: "未找到",
        405: "不支持的请求方法",
        401: "未认证",
        403: "无权限",
        413: PayloadTooLarge.title,
    }
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    detail = _HTTP_DETAILS.get(detail, detail)
    field = _FIELD_TOO_LARGE.fullmatch(detail)
    if field:  # Starlette's cap on one form field (multipart)
        detail = (
            f"表单中有一项超过 {int(field.group(1)):,} KB 的上限，未保存；"
            "边界坐标很多时，请改用“上传边界文件”（Shapefile、GeoJSON 或界址点 TXT）"
        )
    return problem(
        exc.status_code,
        titles.get(exc.status_code, "请求错误"),
        detail,
        headers=challenge(exc.status_code, getattr(exc, "headers", None)),
    )


def challenge(status: int, headers: dict[str, str] | None = None) -> dict[str, str] | None:
    """Every 401 names the schemes a client may use (RFC 9110 §11.6.1)."""
    if status != 401:
        return headers
    return {**(headers or {}), "WWW-Authenticate": CHALLENGE}


def signed_out(request: Request | None, exc: LandMatchError) -> LandMatchError:
    """A refusal of the public (401, 403) to a request whose session cookie named no live
    session and was read as the public (``Resolved.ended``, ``landmatch.api.deps.get_auth``):
    401, sign in again, which is what the cookie's holder needs to hear."""
    auth = getattr(request.state, "auth", None) if request is not None else None
    if getattr(auth, "ended", False) and exc.status in (401, 403):
        return Unauthorized(SESSION_ENDED)
    return exc


def domain_response(exc: LandMatchError, request: Request | None = None) -> JSONResponse:
    exc = signed_out(request, exc)
    headers = challenge(exc.status)
    if isinstance(exc, TooManyRequests):
        headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    return JSONResponse(
        exc.to_problem(), status_code=exc.status, media_type=PROBLEM, headers=headers
    )


def install(
    app: FastAPI,
    guards: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    page: ErrorPage | None = None,
) -> None:
    """The error handlers and the middleware that answers problem+json: ``RejectNul``, then
    ``guards`` (refusals that must come before any route reads the request, e.g.
    ``landmatch.api.security.RefuseQueryCredentials``), ``CatchAll``, and outermost
    :class:`PageErrors` with ``page``, when given, for the browser's error pages."""
    app.add_middleware(RejectNul)
    for guard in guards:
        app.add_middleware(guard)
    app.add_middleware(CatchAll)  # also catches what the middlewares raise
    if page is not None:
        app.add_middleware(PageErrors, page=page)

    @app.exception_handler(LandMatchError)
    async def _domain(request: Request, exc: LandMatchError) -> JSONResponse:
        return domain_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, str | None]] = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            if e.get("type") == "json_invalid":  # loc is (body, character offset)
                at = loc[1] if len(loc) > 1 else "?"
                detail = f"请求体不是有效的 JSON（第 {at} 个字符附近有误）"
                errors.append({"field": "body", "in": "body", "reason": "JSON 格式错误"})
                return problem(422, "请求参数无效", detail, "/problems/validation", errors)
            field = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
            errors.append({"field": field, "in": loc[0] if loc else None, "reason": _reason(e)})
        # However many errors the request made, the answer names the first few (its size
        # stays small whatever was sent).
        shown, more = errors[:NAMED_ERRORS], len(errors) - NAMED_ERRORS
        where = "；".join(f"{err['field']}：{err['reason']}" for err in shown if err["field"])
        if more > 0:
            where += f"；另有 {more:,} 处"
        return problem(
            422, "请求参数无效", f"请求参数无效（{where}）", "/problems/validation", shown
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_problem(exc)
