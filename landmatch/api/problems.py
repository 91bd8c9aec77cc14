"""Errors as ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.api.asgi import HTTPMiddleware
from landmatch.db.failures import as_domain_error
from landmatch.errors import InvalidInput, LandMatchError, TooManyRequests
from landmatch.errors import validation_reason as _reason

PROBLEM = "application/problem+json"
# The schemes a 401 names (RFC 9110 §11.6.1): a bearer token, or HTTP Basic (landmatch.api.security).
CHALLENGE = 'Bearer realm="landmatch", Basic realm="landmatch", charset="UTF-8"'
log = logging.getLogger("landmatch")

# A NUL escape in JSON text: ``\u0000`` after an even number of backslashes (an odd one makes
# it the six characters ``\u0000``, which is fine).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return False


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


# Starlette's and FastAPI's own English details, in Chinese.
_HTTP_DETAILS = {
    "Not Found": "请求的资源不存在",
    "Method Not Allowed": "不支持的请求方法",
    "There was an error parsing the body": "请求体无法解析（格式错误或嵌套层级过深）",
}


def challenge(status: int, headers: dict[str, str] | None = None) -> dict[str, str] | None:
    """Every 401 names the schemes a client may use (RFC 9110 §11.6.1)."""
    if status != 401:
        return headers
    return {**(headers or {}), "WWW-Authenticate": CHALLENGE}


def domain_response(exc: LandMatchError) -> JSONResponse:
    headers = challenge(exc.status)
    if isinstance(exc, TooManyRequests):
        headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    return JSONResponse(
        exc.to_problem(), status_code=exc.status, media_type=PROBLEM, headers=headers
    )


def install(app: FastAPI, guards: Sequence[Callable[[ASGIApp], ASGIApp]] = ()) -> None:
    """The error handlers and the middleware that answers problem+json: ``RejectNul``, then
    ``guards`` (refusals that must come before any route reads the request, e.g.
    ``landmatch.api.security.RefuseQueryCredentials``), and ``CatchAll`` outermost."""
    app.add_middleware(RejectNul)
    for guard in guards:
        app.add_middleware(guard)
    app.add_middleware(CatchAll)  # outermost: also catches what the middlewares raise

    @app.exception_handler(LandMatchError)
    async def _domain(_: Request, exc: LandMatchError) -> JSONResponse:
        return domain_response(exc)

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
        where = "；".join(f"{err['field']}：{err['reason']}" for err in errors if err["field"])
        return problem(
            422, "请求参数无效", f"请求参数无效（{where}）", "/problems/validation", errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "未找到", 405: "不支持的请求方法", 401: "未认证", 403: "无权限"}
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        detail = _HTTP_DETAILS.get(detail, detail)
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "请求错误"),
            detail,
            headers=challenge(exc.status_code, getattr(exc, "headers", None)),
        )
