"""``/workbench/leads``: the team's 线索 from the public map's 我有意向 inquiries (convert into
a project at stage 线索, dismiss; admins assign), and ``/workbench/teams``: which team covers
which city or zone (admins). Thin: ``landmatch.leads`` holds the rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from landmatch import vocab
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    AdminCtx,
    AdminPost,
    PageContext,
    PromoterCtx,
    PromoterPost,
    act,
    form_errors,
    redirect,
    render,
)
from landmatch.errors import LandMatchError
from landmatch.leads import coverage
from landmatch.leads import leads as svc

router = APIRouter(include_in_schema=False)
URL = "/workbench/leads"
TEAMS_URL = "/workbench/teams"


@router.get(URL, response_class=HTMLResponse)
def board(
    ctx: PromoterCtx,
    status: Annotated[str, Query(max_length=12)] = "new",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    rows = svc.list_leads(
        ctx.session, ctx.staff.principal, None if status == "all" else status, page
    )
    return render(
        ctx.request,
        "workbench/leads/board.html",
        rows=rows,
        counts=svc.counts(ctx.session, ctx.staff.principal),
        statuses=svc.STATUS,
        current=status,
        page=page,
        more=len(rows) == svc.PAGE,
    )


@router.get(URL + "/{lead_id}", response_class=HTMLResponse)
def show(ctx: PromoterCtx, lead_id: int) -> HTMLResponse:
    lead = svc.get_lead(ctx.session, ctx.staff.principal, lead_id)
    teams = coverage.teams(ctx.session) if ctx.staff.principal.role == "admin" else []
    return render(ctx.request, "workbench/leads/lead.html", lead=lead, teams=teams)


@router.post(URL + "/{lead_id}/convert")
def convert(f: PromoterPost, lead_id: int) -> Response:
    """A project at stage 线索, then its requirement form to fill in."""
    return f.act(
        lambda: svc.convert(f.session, f.staff.principal, lead_id, f.version),
        back=f"{URL}/{lead_id}",
        done="已转为项目（阶段：线索）：请补全用地需求后保存",
        then=lambda project_id: f"/workbench/projects/{project_id}/requirement",
    )


@router.post(URL + "/{lead_id}/dismiss")
def dismiss(
    f: PromoterPost, lead_id: int, note: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    return f.act(
        lambda: svc.dismiss(f.session, f.staff.principal, lead_id, f.version, note),
        back=f"{URL}/{lead_id}",
        done=f"已忽略线索 {lead_id}",
        then=URL,
    )


@router.post(URL + "/{lead_id}/assign")
def assign(f: AdminPost, lead_id: int, team: Annotated[str, Form(max_length=200)] = "") -> Response:
    return f.act(
        lambda: svc.assign(f.session, f.staff.principal, lead_id, f.version, team),
        back=f"{URL}/{lead_id}",
        done=f"已分派给 {team.strip()}",
    )


# ---- team coverage (admins) ----------------------------------------------------------------


def _teams_page(
    ctx: PageContext,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        ctx.request,
        "workbench/leads/teams.html",
        status=status,
        rows=coverage.list_coverage(ctx.session, ctx.staff.principal),
        teams=coverage.teams(ctx.session),
        cities=list(vocab.CITIES.items()),
        zones=coverage.zone_choices(ctx.session),
        form=form or {"team": "", "city": "", "zone": ""},
        errors=errors or {},
    )


@router.get(TEAMS_URL, response_class=HTMLResponse)
def teams(ctx: AdminCtx) -> HTMLResponse:
    return _teams_page(ctx)


@router.post(TEAMS_URL, response_class=HTMLResponse)
def add_coverage(
    ctx: AdminCtx,
    team: Annotated[str, Form(max_length=200)] = "",
    city: Annotated[str, Form(max_length=12)] = "",
    zone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    form = {"team": team, "city": city, "zone": zone}
    try:
        coverage.add(ctx.session, ctx.staff.principal, team, city, zone)
    except LandMatchError as exc:
        ctx.session.rollback()
        return _teams_page(ctx, form, form_errors(exc), FORM_ERROR)
    ctx.session.commit()
    return redirect(ctx.request, TEAMS_URL, ("success", f"已保存：{team.strip()} 的覆盖范围"))


@router.post(TEAMS_URL + "/{coverage_id}/delete")
def delete_coverage(ctx: AdminCtx, coverage_id: int) -> Response:
    return act(
        ctx.request,
        ctx.session,
        lambda: coverage.remove(ctx.session, ctx.staff.principal, coverage_id),
        back=TEAMS_URL,
        done="已删除该覆盖范围",
    )
