"""``/workbench/audit``: the audit log for admins, filtered and paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from landmatch.accounts import audit
from landmatch.api.deps import AuditFilterDep
from landmatch.api.routes.workbench.common import AdminCtx, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


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
        filters={
            "event": f.event or "",
            "user": f.user or "",
            "address": f.address or "",
            "since": f.since.isoformat() if f.since else "",
            "until": f.until.isoformat() if f.until else "",
        },
    )
