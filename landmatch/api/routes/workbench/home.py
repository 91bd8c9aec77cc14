"""``/workbench``: the staff home page (each area fills its own card): the inventory at a glance
in the user's scope, each figure linking to the list behind it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from landmatch.api.deps import JobSessionDep
from landmatch.api.routes.workbench.common import StaffCtx, render
from landmatch.inventory import listing, overview
from landmatch.leads import leads
from landmatch.match import pipeline
from landmatch.reflayers import alerts

router = APIRouter(include_in_schema=False)


@router.get("/workbench", response_class=HTMLResponse)
def home(ctx: StaffCtx) -> HTMLResponse:
    inventory = overview.overview(
        ctx.session, ctx.staff.principal, stale_days=ctx.settings.stale_after_days
    )
    projects = pipeline.home(
        ctx.session, ctx.staff.principal, ctx.settings.reservation_reminder_days
    )
    return render(
        ctx.request,
        "workbench/home.html",
        inventory=inventory,
        projects=projects,
        leads=leads.home(ctx.session, ctx.staff.principal),
        # Constraint changes that reached the caller's ready parcels, until checked.
        alerts=(
            alerts.list_alerts(ctx.session, ctx.staff.principal, open_only=True, limit=20)
            if ctx.staff.principal.role in ("admin", "bureau")
            else []
        ),
    )


@router.get("/workbench/parcels-qa", response_class=HTMLResponse)
def qa_counts(ctx: StaffCtx, session: JobSessionDep) -> HTMLResponse:
    """The home page's QA card (loaded by htmx after the page: the checks read every parcel in
    scope: many seconds on a large city, hence the job session's statement limit); opened
    directly, a page of its own."""
    counted = listing.flag_counts(
        session, ctx.staff.principal, stale_days=ctx.settings.stale_after_days
    )
    template = (
        "_qa_counts.html" if ctx.request.headers.get("HX-Request") == "true" else "qa_counts.html"
    )
    return render(ctx.request, f"workbench/parcels/{template}", **counted)
