"""``/dashboard``: the monitoring dashboard page and the vendor asset mount.

The page is a workbench page (its navigation, the same sign-in: without a live session the
browser goes to the sign-in page and comes back) and holds no data: it reads
``/api/monitoring/summary`` for its city with the same session cookie, and every chart is drawn
from that live response. It opens on the user's own city (a city bureau: its city, which it
cannot leave; a zone committee: its zone's city); admins, the province's bureau and promoters
open on the whole province and get a city selector.
ECharts comes from npm (``web/package.json``) and is served from ``web/node_modules`` under
``/static/vendor`` — no CDN.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from landmatch import vocab
from landmatch.api.deps import SessionDep
from landmatch.api.routes.workbench.common import StaffDep, render
from landmatch.dates import beijing_today
from landmatch.monitoring import scope as monitoring_scope

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    city: Annotated[str | None, Query(max_length=6)] = None,
) -> HTMLResponse:
    scope = monitoring_scope.dashboard_city(session, staff.principal, city or None)
    return render(
        request,
        "dashboard.html",
        city=scope or "",
        city_name=vocab.CITIES[scope] if scope else "全省",
        today=beijing_today().isoformat(),
        cities=list(vocab.CITIES.items())
        if monitoring_scope.may_choose_city(staff.principal)
        else [],
    )
