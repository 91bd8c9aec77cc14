"""``/workbench/audit``: the audit log for admins, filtered and paged."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from landmatch.accounts import audit
from landmatch.api.deps import SessionDep
from landmatch.api.routes.workbench.common import AdminDep, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/workbench/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    staff: AdminDep,
    event: Annotated[str | None, Query(max_length=40)] = None,
    user: Annotated[str | None, Query(max_length=64)] = None,
    address: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    f = audit.AuditFilter(event or None, user or None, address or None, since, until)
    page = audit.entries(session, staff.principal, f, offset, PAGE_SIZE)
    return render(
        request,
        "workbench/audit.html",
        page=page,
        events=audit.EVENTS,
        filters={
            "event": event or "",
            "user": user or "",
            "address": address or "",
            "since": since.isoformat() if since else "",
            "until": until.isoformat() if until else "",
        },
    )
