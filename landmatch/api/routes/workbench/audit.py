"""``/workbench/audit``: the audit log for admins, filtered and paged."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from landmatch import vocab
from landmatch.accounts import audit
from landmatch.api.deps import AuditFilterDep
from landmatch.api.routes.workbench.common import AdminCtx, fmt_datetime, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50

# The details the accounts' services record (landmatch.accounts), in words for the page.
DETAIL_LABELS = {
    "reason": "原因",
    "via": "方式",
    "session_id": "会话编号",
    "token_id": "令牌编号",
    "name": "名称",
    "expires_at": "有效期至",
    "role": "角色",
    "scope": "范围",
    "city_code": "城市",
    "zone_code": "开发区",
    "team": "团队",
}
DETAIL_WORDS: dict[str, dict[str, str]] = {
    "reason": {
        "unknown_user": "账号不存在",
        "bad_password": "密码错误",
        "disabled": "账号已停用",
        "bad_token": "令牌无效或已过期",
    },
    "via": {"form": "登录页", "basic": "HTTP Basic 认证"},
    "role": vocab.ROLES,
    "city_code": vocab.CITIES | {vocab.PROVINCE_CODE: "全省"},
}
NONE_WORDS = {"expires_at": "长期有效"}


def _word(key: str, value: Any) -> str:
    if value is None:
        return NONE_WORDS.get(key, "无")
    if key == "expires_at" and isinstance(value, str):
        try:
            return fmt_datetime(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, str):
        return DETAIL_WORDS.get(key, {}).get(value, value)
    return str(value)


def details(detail: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An entry's details as (label, text): known keys and codes in words, in the order of
    ``DETAIL_LABELS`` (the database keeps no order), 无 for nothing, a change (a [before,
    after] pair) as "before → after"."""
    order = list(DETAIL_LABELS)
    out = []
    for key, value in sorted(
        (detail or {}).items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)
    ):
        if isinstance(value, list) and len(value) == 2:
            text = f"{_word(key, value[0])} → {_word(key, value[1])}"
        else:
            text = _word(key, value)
        out.append((DETAIL_LABELS.get(key, key), text))
    return out


@router.get("/workbench/audit", response_class=HTMLResponse)
def audit_log(
    ctx: AdminCtx, f: AuditFilterDep, offset: Annotated[int, Query(ge=0)] = 0
) -> HTMLResponse:
    page = audit.entries(ctx.session, ctx.staff.principal, f, offset, PAGE_SIZE)
    return render(
        ctx.request,
        "workbench/audit.html",
        page=page,
        events=audit.EVENTS,
        details=details,
        filters={
            "event": f.event or "",
            "user": f.user or "",
            "address": f.address or "",
            "since": f.since.isoformat() if f.since else "",
            "until": f.until.isoformat() if f.until else "",
        },
    )
