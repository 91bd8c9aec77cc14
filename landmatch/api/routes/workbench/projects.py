"""``/workbench/projects``: the promotion team's pipeline (招商项目库), a project's page and its
requirement form; "save, then match" runs the engine as ``POST /api/projects/{id}/match``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from landmatch.api.routes.workbench import requirement_form
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    PageContext,
    Posted,
    PromoterCtx,
    PromoterPost,
    Staff,
    act,
    fmt_datetime,
    form_errors,
    redirect,
    render,
    safe_next,
)
from landmatch.api.security import base_url
from landmatch.basemap.store import water_loaded
from landmatch.dates import beijing_today
from landmatch.db.locking import etag
from landmatch.errors import LandMatchError, PreconditionFailed
from landmatch.maps.workbench import area_picker
from landmatch.match import ownership, pipeline, proposals
from landmatch.match import projects as svc
from landmatch.match.engine import run_match
from landmatch.match.requirements import Requirement

router = APIRouter(include_in_schema=False)
URL = "/workbench/projects"
LIST_FIELDS = ("cities", "zone_levels", "supply_modes", "enterprise_types")


@router.get(URL, response_class=HTMLResponse)
def board(
    ctx: PromoterCtx,
    stage: Annotated[str | None, Query(max_length=12)] = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    industry: Annotated[str | None, Query(max_length=10)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    data = pipeline.board(
        ctx.session,
        ctx.staff.principal,
        stage=stage or None,
        owner=owner or None,
        industry=industry or None,
        q=q or None,
    )
    return render(
        ctx.request,
        "workbench/projects/board.html",
        board=data,
        no_team=_no_team(ctx),
        filters={
            "stage": stage or "",
            "owner": owner or "",
            "industry": industry or "",
            "q": q or "",
        },
    )


async def _form(request: Request) -> tuple[dict[str, Any], dict[str, list[str]]]:
    raw = await request.form(max_files=0, max_fields=300)
    flat = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    lists = {k: [str(v) for v in raw.getlist(k)] for k in LIST_FIELDS}
    return flat, lists


def _no_team(ctx: PageContext) -> str | None:
    """Why this account may not create projects (a promoter without a team), or None: said
    on the board and instead of the new project's form, before anything is typed."""
    return None if ownership.may_create(ctx.staff.principal) else ownership.NO_TEAM


def _form_page(
    ctx: PageContext,
    *,
    project: dict[str, Any] | None,
    req: dict[str, Any] | None,
    head: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        ctx.request,
        "workbench/projects/form.html",
        status=status,
        project=project,
        head=head,
        f=requirement_form.context(req),
        errors=errors or {},
        area_map=area_picker(ctx.settings, water=water_loaded(ctx.session)),
        no_team=None if project is not None else _no_team(ctx),
    )


@router.get(URL + "/new", response_class=HTMLResponse)
def new_form(ctx: PromoterCtx) -> HTMLResponse:
    return _form_page(
        ctx,
        project=None,
        req=None,
        head={"name": "", "investor": ""},
    )


def _match(ctx: PageContext, project_id: int) -> str:
    req = svc.project_requirement(ctx.session, ctx.staff.principal, project_id)
    out = run_match(
        ctx.session, req, ctx.staff.principal, stale_after_days=ctx.settings.stale_after_days
    )
    return f"/workbench/matches/{out['match_id']}"


async def _submit(
    ctx: PageContext,
    *,
    project: dict[str, Any] | None,
    write: Callable[[dict[str, Any], dict[str, Any]], int],
    done: str,
) -> Response:
    """The project form as sent: checked, then written by ``write`` (given the form and the
    project's fields, it answers the project's id), then the project's page or, with
    ``then=match``, a match run of it; the form again with the errors beside the fields."""
    flat, lists = await _form(ctx.request)
    head = {"name": flat.get("name", "").strip(), "investor": flat.get("investor", "").strip()}
    req, errors = requirement_form.parse(flat, lists)
    if not head["name"]:
        errors["name"] = "请填写项目名称"
    again = partial(_form_page, ctx, project=project, req=req, head=head)
    if errors:
        return again(errors=errors, status=FORM_ERROR)
    try:
        fields = {
            "name": head["name"],
            "investor": head["investor"] or None,
            "requirement": Requirement.model_validate(req),
        }
        project_id = write(flat, fields)
        target = f"{URL}/{project_id}"
        if flat.get("then") == "match":
            target = _match(ctx, project_id)
        ctx.session.commit()
    except PreconditionFailed as exc:  # an edit's form was opened at an older version
        ctx.session.rollback()
        then = "请先在项目页的“备注与修改历史”中核对对方的修改，再点“保存”，将以你填写的内容为准。"
        errors = (
            {"": _changed_meanwhile(ctx.session, project["id"], then)}
            if project
            else form_errors(exc)
        )
        return again(errors=errors, status=FORM_ERROR)
    except LandMatchError as exc:
        ctx.session.rollback()
        return again(errors=form_errors(exc), status=FORM_ERROR)
    return redirect(ctx.request, target, ("success", done.format(**head)))


def _changed_meanwhile(session: Session, project_id: int, then: str) -> str:
    """What a project's form says when the project was changed after the form was opened:
    who and when (the timeline's latest entry), that nothing was saved and that what was
    typed is still there; ``then``: what to do (the form now carries the current version)."""
    latest = next(iter(pipeline.events(session, project_id)), None)
    by = f"（{latest['actor']}，{fmt_datetime(latest['at'])}）" if latest else ""
    return f"打开此页后，这个项目已被修改{by}，本次未保存。你填写的内容仍在下面：{then}"


@router.post(URL + "/new", response_class=HTMLResponse)
async def create(ctx: PromoterCtx) -> Response:
    def write(_form: dict[str, Any], fields: dict[str, Any]) -> int:
        return int(
            svc.create_project(ctx.session, ctx.staff.principal, svc.ProjectIn(**fields))["id"]
        )

    return await _submit(ctx, project=None, write=write, done="已保存项目“{name}”")


@router.get(URL + "/deleted", response_class=HTMLResponse)
def deleted(ctx: PromoterCtx) -> HTMLResponse:
    """The team's deleted projects (an admin: all), each as it was deleted, to restore."""
    return render(
        ctx.request,
        "workbench/projects/deleted.html",
        rows=[
            d
            | {
                "summary": pipeline.requirement_text(d["requirement"]),
                "deleted": dt.datetime.fromisoformat(d["deleted_at"]),
                "note": svc.ended_note(d),
            }
            for d in svc.deleted_projects(ctx.session, ctx.staff.principal)
        ],
        stages={s: st.label for s, st in pipeline.STAGE_OF.items()},
    )


@router.post(URL + "/{project_id}/delete")
def delete(f: PromoterPost, project_id: int) -> Response:
    """Delete the project (kept, to be restored from the list of deleted projects)."""

    def action() -> None:
        at = etag(project_id, f.version)
        svc.delete_project(f.session, f.staff.principal, project_id, if_match=at)

    return f.act(
        action,
        back=f"{URL}/{project_id}",
        done="已删除项目；如系误删，可在本页恢复",
        then=f"{URL}/deleted",
    )


@router.post(URL + "/{project_id}/restore")
def restore(
    f: PromoterPost, project_id: int, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    """Bring back a deleted project, with the reason given (kept in its history)."""
    back = f"{URL}/deleted"
    if not reason.strip():
        return redirect(f.request, back, ("danger", "恢复项目须填写原因"))
    try:
        out = svc.restore_project(
            f.session,
            f.staff.principal,
            project_id,
            if_match=etag(project_id, f.version),
            reason=reason.strip(),
        )
    except LandMatchError as exc:
        f.session.rollback()
        return redirect(f.request, back, ("danger", exc.message))
    f.session.commit()
    note = svc.ended_note(out)
    done = f"已恢复项目“{out['name']}”" + (f"；{note}" if note else "")
    return redirect(f.request, f"{URL}/{project_id}", ("warning" if note else "success", done))


@router.get(URL + "/{project_id}", response_class=HTMLResponse)
def show(ctx: PromoterCtx, project_id: int) -> HTMLResponse:
    return _project_page(ctx.request, ctx.session, ctx.staff, project_id)


def _project_page(
    request: Request,
    session: Session,
    staff: Staff,
    project_id: int,
    *,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The project's page; ``typed``: a form of it sent and refused (``form``: stage, note or
    next; ``error``: why; the fields as typed), shown again as typed with the reason."""
    settings = request.app.state.settings
    p = pipeline.project(session, staff.principal, project_id)
    return render(
        request,
        "workbench/projects/project.html",
        status=status,
        p=p,
        stages=pipeline.stage_choices(p["stage"]),
        events=pipeline.events(session, project_id),
        runs=pipeline.runs(session, project_id),
        reservations=pipeline.reservations(session, project_id),
        proposals=proposals.for_project(session, staff.principal, project_id, settings.secret_key),
        req=requirement_form.context(p["requirement"]),
        errors={},
        typed=typed or {},
        today=beijing_today(),
        site=base_url(request, settings),
    )


@router.get(URL + "/{project_id}/requirement", response_class=HTMLResponse)
def edit_form(ctx: PromoterCtx, project_id: int) -> HTMLResponse:
    p = pipeline.project(ctx.session, ctx.staff.principal, project_id)
    head = {"name": p["name"], "investor": p["investor"] or ""}
    return _form_page(ctx, project=p, req=p["requirement"], head=head)


@router.post(URL + "/{project_id}/requirement", response_class=HTMLResponse)
async def save(ctx: PromoterCtx, project_id: int) -> Response:
    p = pipeline.project(ctx.session, ctx.staff.principal, project_id)
    pipeline.may_write(ctx.staff.principal, p)

    def write(form: dict[str, Any], fields: dict[str, Any]) -> int:
        version = int(form.get("version") or 0)
        patch = svc.ProjectPatch(**fields)
        svc.update_project(
            ctx.session, ctx.staff.principal, project_id, patch, if_match=etag(project_id, version)
        )
        return project_id

    return await _submit(ctx, project=p, write=write, done="已保存用地需求")


@router.post(URL + "/{project_id}/match")
def match(ctx: PromoterCtx, project_id: int) -> Response:
    pipeline.may_write(
        ctx.staff.principal, pipeline.project(ctx.session, ctx.staff.principal, project_id)
    )
    target = _match(ctx, project_id)
    ctx.session.commit()
    return redirect(ctx.request, target)


def _timeline_form(
    f: Posted,
    project_id: int,
    form: str,
    typed: dict[str, str],
    action: Callable[[], Any],
    done: str,
) -> Response:
    """One of the project page's own forms (stage, note, next step): written, then the page
    with ``done``; refused (a value, or the project changed since the page was opened), the
    page again with the form ``form`` as ``typed`` and the reason beside it, so nothing typed
    is lost. A refusal of the caller (403, 404) is the error page."""
    try:
        action()
    except LandMatchError as exc:
        f.session.rollback()
        if exc.status >= 500 or exc.status in (403, 404):
            raise
        reason = exc.message
        if isinstance(exc, PreconditionFailed):
            reason = _changed_meanwhile(f.session, project_id, "请核对下面的历史后再提交。")
        shown = {**typed, "form": form, "error": reason}
        return _project_page(
            f.request, f.session, f.staff, project_id, typed=shown, status=FORM_ERROR
        )
    f.session.commit()
    return redirect(f.request, f"{URL}/{project_id}", ("success", done))


@router.post(URL + "/{project_id}/stage")
def stage(
    f: PromoterPost,
    project_id: int,
    stage: Annotated[str, Form(max_length=12)],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    def action() -> None:
        why = note.strip() or None
        pipeline.set_stage(
            f.session, f.staff.principal, project_id, stage, version=f.version, note=why
        )

    typed = {"stage": stage, "note": note}
    return _timeline_form(f, project_id, "stage", typed, action, done="已更新阶段")


@router.post(URL + "/{project_id}/note")
def note(f: PromoterPost, project_id: int, note: Annotated[str, Form(max_length=4000)]) -> Response:
    def action() -> None:
        pipeline.add_note(f.session, f.staff.principal, project_id, note, version=f.version)

    return _timeline_form(f, project_id, "note", {"note": note}, action, done="已添加备注")


@router.post(URL + "/{project_id}/next-step")
def next_step(
    f: PromoterPost,
    project_id: int,
    next_step: Annotated[str, Form(max_length=500)] = "",
    next_step_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    def action() -> None:
        on = pipeline.parse_date(next_step_on, "next_step_on")
        principal = f.staff.principal
        pipeline.set_next_step(f.session, principal, project_id, next_step, on, version=f.version)

    typed = {"next_step": next_step, "next_step_on": next_step_on}
    return _timeline_form(f, project_id, "next", typed, action, done="已更新下一步")


@router.post(URL + "/{project_id}/reservations/{reservation_id}/release")
def release(
    ctx: PromoterCtx,
    project_id: int,
    reservation_id: int,
    back: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """End a hold of this project (the holding team or an admin, checked under the lock);
    then ``back`` (a page of this site: the match results it was released from) or the
    project's page."""

    def action() -> None:
        pipeline.project(ctx.session, ctx.staff.principal, project_id)
        svc.release(ctx.session, ctx.staff.principal, reservation_id)

    page = safe_next(back, f"{URL}/{project_id}")
    return act(ctx.request, ctx.session, action, back=page, done="已释放预留")
