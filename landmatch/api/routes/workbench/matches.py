"""``/workbench/matches/{id}``: a match run people can read — titled with the project's name,
the ranked list beside the map, each site's explanation in words and units with its points,
"compared with #1", the why-not funnel, near misses with a rerun, and the time to start.
Everything shown comes from the stored run (``landmatch.match.readable``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from landmatch.api.routes.workbench.common import (
    PDF,
    XLSX,
    PageContext,
    PromoterCtx,
    act,
    download,
    redirect,
    render,
)
from landmatch.dates import BEIJING, beijing_today
from landmatch.errors import InvalidInput, LandMatchError
from landmatch.maps import printed
from landmatch.maps.brochure import html_to_pdf
from landmatch.match import compare, pipeline, proposals, readable
from landmatch.match import projects as svc
from landmatch.match.engine import get_run, run_match
from landmatch.match.possible import possible
from landmatch.match.requirements import Requirement

router = APIRouter(include_in_schema=False)
URL = "/workbench/matches"


def _title(ctx: PageContext, run: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    req = run.get("requirement") or {}
    pid = req.get("project_id")
    if pid:
        try:
            p = pipeline.project(ctx.session, ctx.staff.principal, int(pid))
            return p["name"], p
        except LandMatchError:
            pass
    return req.get("name") or readable.requirement_line(req) or "匹配结果", None


def view(run: dict[str, Any]) -> dict[str, Any]:
    """The run as the page shows it (the one view the public match map uses too)."""
    return readable.results_view(run)


@router.get(URL + "/{match_id}", response_class=HTMLResponse)
def results(ctx: PromoterCtx, match_id: str) -> HTMLResponse:
    run = get_run(ctx.session, match_id, ctx.staff.principal)
    title, project = _title(ctx, run)
    shown = view(run)
    nothing = not shown["sites"] and not shown["near"]
    return render(
        ctx.request,
        "workbench/matches/results.html",
        possible=possible(ctx.session, run.get("requirement") or {}) if nothing else None,
        run=run,
        match_id=match_id,
        title=title,
        project=project,
        reservation_days=ctx.settings.reservation_days,
        # Every hold in force on a listed site: this project's (release), others' (no reserve).
        held=svc.holds_on(
            ctx.session, ctx.staff.principal, [s["p"]["code"] for s in shown["sites"]]
        ),
        **shown,
    )


@router.post(URL + "/{match_id}/relax")
def relax(ctx: PromoterCtx, match_id: str, near: Annotated[int, Form(ge=0, le=100)]) -> Response:
    """Rerun with one near miss's relaxation applied to the run's requirement."""
    run = get_run(ctx.session, match_id, ctx.staff.principal)
    misses = (run.get("why_not") or {}).get("near_misses") or []
    if near >= len(misses) or not misses[near].get("relax"):
        raise InvalidInput("这条近似结果没有可直接应用的放宽条件")
    req = readable.relaxed(run["requirement"], misses[near]["relax"])
    if req.get("project_id"):
        project = pipeline.project(ctx.session, ctx.staff.principal, int(req["project_id"]))
        pipeline.may_write(ctx.staff.principal, project)
    out = run_match(
        ctx.session,
        Requirement.model_validate(req),
        ctx.staff.principal,
        stale_after_days=ctx.settings.stale_after_days,
    )
    ctx.session.commit()
    return redirect(
        ctx.request,
        f"{URL}/{out['match_id']}",
        ("info", f"已放宽：{misses[near]['change']}，重新匹配"),
    )


def _codes(request: Request) -> list[str]:
    return [c for c in request.query_params.getlist("codes") if c][: compare.MAX_SITES + 1]


@router.get(URL + "/{match_id}/compare", response_class=HTMLResponse)
def compare_page(ctx: PromoterCtx, match_id: str) -> HTMLResponse:
    run = get_run(ctx.session, match_id, ctx.staff.principal)
    title, project = _title(ctx, run)
    sites = compare.pick(run, _codes(ctx.request))
    return render(
        ctx.request,
        "workbench/matches/compare.html",
        title=title,
        project=project,
        match_id=match_id,
        sites=sites,
        table=compare.rows(run, sites),
        query=ctx.request.url.query,
    )


def _compared(ctx: PageContext, match_id: str) -> tuple[str, list[dict[str, Any]], list[Any]]:
    """The run's title, the sites picked for comparison and the comparison's rows."""
    run = get_run(ctx.session, match_id, ctx.staff.principal)
    title, _ = _title(ctx, run)
    sites = compare.pick(run, _codes(ctx.request))
    return title, sites, compare.rows(run, sites)


@router.get(URL + "/{match_id}/compare.xlsx")
def compare_xlsx(ctx: PromoterCtx, match_id: str) -> Response:
    title, _, rows = _compared(ctx, match_id)
    data = compare.workbook(f"{title} · 地块对比", rows)
    return download(data, f"{title}-地块对比.xlsx", XLSX, ascii_name="compare.xlsx")


@router.get(URL + "/{match_id}/compare.pdf")
def compare_pdf(ctx: PromoterCtx, match_id: str) -> Response:
    """The comparison printed to PDF through the brochures' path (Chromium, the PDF slots)."""
    title, sites, rows = _compared(ctx, match_id)
    html = printed.compare_html(title, sites, rows)
    with ctx.request.app.state.slots.take("pdf"):  # 429 when every PDF slot is busy
        data = html_to_pdf(html)
    return download(data, f"{title}-地块对比.pdf", PDF, ascii_name="compare.pdf")


@router.post(URL + "/{match_id}/reserve")
def reserve(
    ctx: PromoterCtx, match_id: str, parcel_code: Annotated[str, Form(min_length=3, max_length=64)]
) -> Response:
    """Hold a result's parcel for the run's project until today + the reservation setting."""
    run = get_run(ctx.session, match_id, ctx.staff.principal)
    pid = (run.get("requirement") or {}).get("project_id")
    back = f"{URL}/{match_id}"
    if not pid:
        return redirect(
            ctx.request, back, ("danger", "这次匹配不属于任何项目，不能预留；请从项目页发起匹配")
        )
    until = beijing_today() + dt.timedelta(days=ctx.settings.reservation_days)
    hold = svc.ReservationIn(
        parcel_code=parcel_code,
        project_id=int(pid),
        until=until,
        note=f"自匹配 {match_id[:8]} 预留",
    )
    return act(
        ctx.request,
        ctx.session,
        lambda: svc.reserve(ctx.session, ctx.staff.principal, hold),
        back=back,
        done=f"已为本项目预留地块 {parcel_code}，至 {until.isoformat()}",
    )


@router.post(URL + "/{match_id}/proposal")
async def proposal(ctx: PromoterCtx, match_id: str) -> Response:
    """A 选址建议书 of the compared sites: a signed link valid for the proposal setting's days."""
    form = await ctx.request.form(max_files=0, max_fields=20)
    codes = [str(c) for c in form.getlist("codes")][: compare.MAX_SITES + 1]
    try:
        made = proposals.create(
            ctx.session,
            ctx.staff.principal,
            match_id,
            codes,
            days=ctx.settings.proposal_days,
            secret=ctx.settings.secret_key,
        )
        pid = int(
            (get_run(ctx.session, match_id, ctx.staff.principal)["requirement"])["project_id"]
        )
        ctx.session.commit()
    except LandMatchError as exc:
        ctx.session.rollback()
        return redirect(ctx.request, f"{URL}/{match_id}", ("danger", exc.message))
    until = made["expires_at"].astimezone(BEIJING).strftime("%Y-%m-%d")
    return redirect(
        ctx.request,
        f"/workbench/projects/{pid}#proposals",
        ("success", f"已生成选址建议书，链接有效至 {until}"),
    )


@router.post("/workbench/proposals/{proposal_id}/revoke")
def revoke_proposal(ctx: PromoterCtx, proposal_id: str) -> Response:
    project_id = proposals.revoke(ctx.session, ctx.staff.principal, proposal_id)
    ctx.session.commit()
    return redirect(
        ctx.request, f"/workbench/projects/{project_id}#proposals", ("success", "已停用建议书链接")
    )
