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
    """The root of the hierarchy. A subclass states its status, problem type and title as
    class keywords: ``class NotFound(LandMatchError, status=404, type=…, title=…)``; what it
    leaves out it inherits."""

    status: int = 500
    type: str = "about:blank"
    title: str = "内部错误"

    def __init_subclass__(
        cls, *, status: int | None = None, type: str | None = None, title: str | None = None
    ) -> None:
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if type is not None:
            cls.type = type
        if title is not None:
            cls.title = title

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


class ConfigError(LandMatchError, status=500, type="/problems/config", title="配置错误"): ...


class InvalidInput(
    LandMatchError, status=400, type="/problems/invalid-input", title="输入无效"
): ...


class UnprocessableInput(
    InvalidInput, status=422, type="/problems/validation", title="数据校验未通过"
): ...


class GeometryError(UnprocessableInput, type="/problems/geometry", title="几何图形无效"): ...


class CRSError(UnprocessableInput, type="/problems/crs", title="坐标系无法确定"): ...


class FormatError(UnprocessableInput, type="/problems/format", title="文件格式错误"): ...


class NotFound(LandMatchError, status=404, type="/problems/not-found", title="未找到"): ...


class Unauthorized(LandMatchError, status=401, type="/problems/unauthorized", title="未认证"): ...


class Forbidden(LandMatchError, status=403, type="/problems/forbidden", title="无权限"): ...


class Conflict(LandMatchError, status=409, type="/problems/conflict", title="冲突"): ...


class PreconditionRequired(
    LandMatchError, status=428, type="/problems/precondition-required", title="缺少 If-Match"
): ...


class PreconditionFailed(
    LandMatchError, status=412, type="/problems/precondition-failed", title="数据已被他人修改"
): ...


class TooManyRequests(
    LandMatchError, status=429, type="/problems/too-many-requests", title="请求过多"
):
    """Refused for now; ``retry_at`` says when to try again (sent as ``Retry-After``)."""

    def __init__(self, message: str, *, retry_at: dt.datetime, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_at = retry_at

    @property
    def retry_after(self) -> int:
        """Whole seconds until ``retry_at`` (at least 1)."""
        return max(1, math.ceil((self.retry_at - dt.datetime.now(dt.UTC)).total_seconds()))


class PayloadTooLarge(
    LandMatchError, status=413, type="/problems/payload-too-large", title="上传文件过大"
): ...


class BodyTooLarge(PayloadTooLarge, title="提交内容过大"):
    """A request body (JSON, a form) over its route's cap: no file was sent."""


class UnsupportedMediaType(
    LandMatchError, status=415, type="/problems/unsupported-media-type", title="不支持的内容类型"
): ...


class ServiceUnavailable(
    LandMatchError, status=503, type="/problems/unavailable", title="服务不可用"
): ...


# pydantic error types in Chinese (the API's 422s and the services' own model checks).
VALIDATION_MESSAGES = {
    "missing": "缺少必填项",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "model_attributes_type": "应为 JSON 对象",
    "less_than_equal": "超出允许的最大值",
    "less_than": "超出允许的最大值",
    "greater_than_equal": "低于允许的最小值",
    "greater_than": "低于允许的最小值",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "json_invalid": "JSON 格式错误",
    "json_type": "应为 JSON",
    "string_pattern_mismatch": "格式不正确",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "too_long": "条目过多",
    "too_short": "条目过少",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "datetime_parsing": "应为日期时间",
    "extra_forbidden": "不支持的字段",
}


def validation_reason(e: Any) -> str:
    """A pydantic error in Chinese: known types by table, our own validators' messages as
    they are (they are written in Chinese), anything else generically."""
    kind = str(e.get("type", ""))
    if kind == "string_too_short" and e.get("input") in ("", None):
        return "不能为空"
    if kind in VALIDATION_MESSAGES:
        return VALIDATION_MESSAGES[kind]
    msg = str(e.get("msg", ""))
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return "取值无效"
