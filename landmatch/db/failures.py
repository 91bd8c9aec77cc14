"""Database errors as the domain's errors: what the caller caused (a duplicate, a missing
reference, a value out of range) is a 4xx with a Chinese message; a database that is away,
frozen or too slow is a 503. Used by the API (``landmatch.api.problems``) and the CLI alike, so
no database error reaches a user as an internal error.
"""

from __future__ import annotations

import re

import psycopg
import psycopg.errors as pe
import sqlalchemy.exc as sa_exc

from landmatch.errors import (
    Conflict,
    LandMatchError,
    ServiceUnavailable,
    UnprocessableInput,
)

UPGRADE_HINT = "数据库结构不是最新版本，请先运行 landmatch db upgrade（或 ./scripts/up）"
UNREACHABLE = "数据库暂时无法访问，请稍后再试"

_KEY = re.compile(r"Key \((?P<cols>[^)]*)\)=\((?P<vals>.*)\)")


def _key(err: psycopg.Error) -> str:
    """``列 = 值`` from PostgreSQL's "Key (code)=(X) …" detail, else the constraint's name."""
    m = _KEY.search(err.diag.message_detail or "")
    if m:
        return f"{m['cols']} = {m['vals'][:100]}"
    return err.diag.constraint_name or err.diag.column_name or "?"


def schema_behind(exc: BaseException) -> bool:
    """Whether a database error means the schema is older than the code (a table, column or
    function it expects is missing): the answer is ``landmatch db upgrade``."""
    orig = getattr(exc, "orig", exc)  # SQLAlchemy's wrapper, or psycopg's own error
    return isinstance(orig, pe.UndefinedTable | pe.UndefinedColumn | pe.UndefinedFunction)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is away, frozen, overloaded or too slow (503)."""
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # no pooled connection came free in time; none could be (re)opened
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, pe.QueryCanceled | pe.AdminShutdown | pe.CannotConnectNow):
        return True
    if isinstance(orig, pe.TooManyConnections | pe.ConnectionException):
        return True
    # A lost or timed-out connection has no SQLSTATE.
    return isinstance(orig, psycopg.OperationalError) and not getattr(orig, "sqlstate", None)


def as_domain_error(exc: BaseException) -> LandMatchError | None:
    """The domain error a database error amounts to, or None when it is a defect (a 500)."""
    if isinstance(exc, LandMatchError):
        return exc
    if schema_behind(exc):
        return ServiceUnavailable(UPGRADE_HINT)
    if unavailable(exc):
        orig = getattr(exc, "orig", exc)
        if isinstance(orig, pe.QueryCanceled):
            return ServiceUnavailable("数据库查询超时，请稍后再试或缩小查询范围")
        if isinstance(exc, sa_exc.TimeoutError):
            return ServiceUnavailable("数据库繁忙（连接已用尽），请稍后再试")
        return ServiceUnavailable(UNREACHABLE)
    orig = getattr(exc, "orig", exc)
    if not isinstance(orig, psycopg.Error):
        return None
    if isinstance(orig, pe.TransactionRollback | pe.LockNotAvailable):
        return Conflict("与同时进行的其他修改冲突，未写入任何数据，请重试")
    if isinstance(orig, pe.UniqueViolation | pe.ExclusionViolation):
        return Conflict(
            f"记录已存在（{_key(orig)}），可能已被同时提交的另一请求创建；未写入任何数据",
            detail=[{"field": orig.diag.column_name, "reason": "已存在"}],
        )
    if isinstance(orig, pe.ForeignKeyViolation):
        if (orig.diag.message_primary or "").startswith("update or delete"):
            return Conflict(f"该记录仍被其他数据引用（{_key(orig)}），不能删除或修改")
        return UnprocessableInput(
            f"引用的记录不存在（{_key(orig)}）",
            detail=[{"field": _key(orig).split(" = ")[0], "reason": "引用的记录不存在"}],
        )
    if isinstance(orig, pe.NotNullViolation):
        col = orig.diag.column_name or "?"
        return UnprocessableInput(f"缺少必填项：{col}", detail=[{"field": col, "reason": "必填"}])
    if isinstance(orig, pe.CheckViolation):
        name = orig.diag.constraint_name or "?"
        return UnprocessableInput(
            f"取值不符合数据规则（{name}）", detail=[{"field": name, "reason": "不符合数据规则"}]
        )
    if isinstance(orig, psycopg.DataError):
        # Class 22 (out of range, bad format) and psycopg's own refusals (a NUL in text).
        if "NUL" in str(orig):
            return UnprocessableInput("文本中含有空字符（NUL），已拒绝")
        for kind, message in _DATA_ERRORS:
            if isinstance(orig, kind):
                return UnprocessableInput(message)
        return UnprocessableInput("取值无效（超出范围或格式不符）")
    return None


_DATA_ERRORS: tuple[tuple[type[psycopg.Error], str], ...] = (
    (pe.NumericValueOutOfRange, "数值超出允许范围"),
    (pe.FloatingPointException, "数值超出允许范围"),
    (pe.DivisionByZero, "数值无效（除以零）"),
    (pe.DatetimeFieldOverflow, "日期或时间超出允许范围"),
    (pe.InvalidDatetimeFormat, "日期或时间格式无效"),
    (pe.StringDataRightTruncation, "文本过长"),
    (pe.InvalidTextRepresentation, "取值格式无效"),
    (pe.CharacterNotInRepertoire, "文本中含有无效字符"),
    (pe.UntranslatableCharacter, "文本中含有无法转换的字符"),
)
