"""One error hierarchy. Each class carries its HTTP status and a problem type; the API renders
them as ``application/problem+json`` and the CLI prints them without a traceback.

Messages are written for the user, in Chinese; ``detail`` may carry structured context
(row, field, reason) for reports.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


class LandMatchError(Exception):
    status: int = 500
    type: str = "about:blank"
    title: str = "内部错误"

    def __init__(self, message: str, *, detail: Any = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        if status is not None:
            self.status = status

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.message,
        }
        if self.detail is not None:
            body["errors"] = self.detail
        return body


class ConfigError(LandMatchError):
    status = 500
    type = "/problems/config"
    title = "配置错误"


class InvalidInput(LandMatchError):
    status = 400
    type = "/problems/invalid-input"
    title = "输入无效"


class UnprocessableInput(InvalidInput):
    status = 422
    type = "/problems/validation"
    title = "数据校验未通过"


class GeometryError(UnprocessableInput):
    type = "/problems/geometry"
    title = "几何图形无效"


class CRSError(UnprocessableInput):
    type = "/problems/crs"
    title = "坐标系无法确定"


class FormatError(UnprocessableInput):
    type = "/problems/format"
    title = "文件格式错误"


class NotFound(LandMatchError):
    status = 404
    type = "/problems/not-found"
    title = "未找到"


class Unauthorized(LandMatchError):
    status = 401
    type = "/problems/unauthorized"
    title = "未认证"


class Forbidden(LandMatchError):
    status = 403
    type = "/problems/forbidden"
    title = "无权限"


class Conflict(LandMatchError):
    status = 409
    type = "/problems/conflict"
    title = "冲突"


class PreconditionRequired(LandMatchError):
    status = 428
    type = "/problems/precondition-required"
    title = "缺少 If-Match"


class PreconditionFailed(LandMatchError):
    status = 412
    type = "/problems/precondition-failed"
    title = "数据已被他人修改"


class TooManyRequests(LandMatchError):
    """Refused for now; ``retry_at`` says when to try again (sent as ``Retry-After``)."""

    status = 429
    type = "/problems/too-many-requests"
    title = "请求过多"

    def __init__(self, message: str, *, retry_at: dt.datetime, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_at = retry_at

    @property
    def retry_after(self) -> int:
        """Whole seconds until ``retry_at`` (at least 1)."""
        return max(1, math.ceil((self.retry_at - dt.datetime.now(dt.UTC)).total_seconds()))


class PayloadTooLarge(LandMatchError):
    status = 413
    type = "/problems/payload-too-large"
    title = "上传文件过大"


class ServiceUnavailable(LandMatchError):
    status = 503
    type = "/problems/unavailable"
    title = "服务不可用"
