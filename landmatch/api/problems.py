"""Errors as ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from landmatch.errors import LandMatchError

PROBLEM = "application/problem+json"
log = logging.getLogger("landmatch")

_MESSAGES = {
    "missing": "缺少必填项",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "less_than_equal": "超出允许的最大值",
    "greater_than_equal": "低于允许的最小值",
    "literal_error": "取值不在允许范围内",
    "json_invalid": "JSON 格式错误",
    "string_pattern_mismatch": "格式不正确",
    "extra_forbidden": "不支持的字段",
}


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


def install(app: FastAPI) -> None:
    @app.exception_handler(LandMatchError)
    async def _domain(_: Request, exc: LandMatchError) -> JSONResponse:
        return JSONResponse(exc.to_problem(), status_code=exc.status, media_type=PROBLEM)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            field = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
            errors.append(
                {
                    "field": field,
                    "in": loc[0] if loc else None,
                    "reason": _MESSAGES.get(e.get("type", ""), e.get("msg", "")),
                    "message": e.get("msg"),
                }
            )
        fields = "、".join(err["field"] for err in errors if err["field"])
        return problem(
            422, "请求参数无效", f"请求参数无效：{fields}", "/problems/validation", errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "未找到", 405: "不支持的请求方法", 401: "未认证", 403: "无权限"}
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "请求的资源不存在"
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "请求错误"),
            detail,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            return problem(
                503, "服务不可用", "数据库暂时无法访问，请稍后再试", "/problems/unavailable"
            )
        log.exception("unhandled error")
        return problem(500, "内部错误", "服务器内部错误，已记录", "/problems/internal")
