"""``/workbench/imports``: the import wizard (upload → options and column mapping → dry-run
report with its map → import, in the background when the file is large), the list of imports
with their state, report and rollback, and the Excel template.

Who: admins (every city) and land bureaus (their city; the province's bureau every city). All
the work is :mod:`landmatch.inventory.wizard`, which calls the import's own services.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from landmatch import vocab
from landmatch.api.deps import JobSessionDep
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    XLSX,
    BureauCtx,
    BureauDep,
    Staff,
    download,
    redirect,
    refused,
    render,
)
from landmatch.basemap.store import water_loaded
from landmatch.db import derived
from landmatch.errors import LandMatchError
from landmatch.inventory import columns, template, wizard
from landmatch.inventory.uploads import receive_set
from landmatch.maps.workbench import parcel_map
from landmatch.paging import Page

router = APIRouter(include_in_schema=False)
URL = "/workbench/imports"
PAGE_SIZE = 100
IGNORE = "__ignore__"


def _cities(staff: Staff) -> list[tuple[str, str]]:
    return [(c, n) for c, n in vocab.CITIES.items() if staff.principal.can_edit_city(c)]


@router.get(URL, response_class=HTMLResponse)
def import_list(
    ctx: BureauCtx, session: JobSessionDep, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0
) -> HTMLResponse:
    jobs, total = wizard.list_jobs(session.connection(), ctx.staff.principal, 50, offset)
    return render(
        ctx.request,
        "workbench/imports/list.html",
        page=Page(jobs, total, offset, 50),
        cities=vocab.CITIES,
    )


@router.get(URL + "/template.xlsx")
def template_file(staff: BureauDep) -> Response:
    return download(template.template_xlsx(), "熟地清单模板.xlsx", XLSX)


@router.get(URL + "/new", response_class=HTMLResponse)
def new_import(ctx: BureauCtx) -> HTMLResponse:
    return render(
        ctx.request, "workbench/imports/new.html", errors={}, max_mb=ctx.settings.max_upload_mb
    )


@router.post(URL)
async def upload(
    ctx: BureauCtx, session: JobSessionDep, files: Annotated[list[UploadFile], File()]
) -> Response:
    """The dropped files through the guarded upload path; a job when the import's readers
    accept them, else the form again with their reason (nothing is kept)."""
    limits = wizard.Limits.of(ctx.settings)
    try:
        upset = await receive_set(
            ctx.request, files, ctx.settings.max_upload_mb, ctx.settings.max_unpacked_mb
        )
        job_id = await run_in_threadpool(
            wizard.create_job, session.connection(), ctx.staff.principal, upset, limits
        )
    except LandMatchError as exc:
        if exc.status >= 500 or exc.status == 413:
            raise
        session.rollback()
        return render(
            ctx.request,
            "workbench/imports/new.html",
            status=FORM_ERROR,
            errors={"files": exc.message},
            max_mb=ctx.settings.max_upload_mb,
        )
    session.commit()
    return redirect(
        ctx.request, f"{URL}/{job_id}", flash=("success", "文件已上传，请核对选项后试运行")
    )


@router.post(URL + "/{job_id}/files")
async def replace_files(
    ctx: BureauCtx, job_id: int, session: JobSessionDep, files: Annotated[list[UploadFile], File()]
) -> Response:
    """A corrected file for the same job (options and mapping stay)."""
    limits = wizard.Limits.of(ctx.settings)
    try:
        upset = await receive_set(
            ctx.request, files, ctx.settings.max_upload_mb, ctx.settings.max_unpacked_mb
        )
        await run_in_threadpool(
            wizard.replace_files, session.connection(), job_id, ctx.staff.principal, upset, limits
        )
    except LandMatchError as exc:
        if exc.status >= 500 or exc.status in (403, 404, 409, 413):
            raise
        session.rollback()
        return await run_in_threadpool(
            _page,
            ctx.request,
            session,
            ctx.settings,
            ctx.staff,
            job_id,
            errors={"files": f"文件未替换：{exc.message}"},
            status=FORM_ERROR,
        )
    session.commit()
    return redirect(ctx.request, f"{URL}/{job_id}", flash=("success", "文件已替换，请重新试运行"))


def _mapping_rows(
    job: dict[str, Any], saved: list[dict[str, Any]], chosen: int | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The mapping step's rows: each header the import does not know (and each mapped one),
    with the value to show — the job's mapping, else a saved mapping (the chosen one, else the
    one covering most of these headers)."""
    headers = job["detected"].get("headers", [])
    unknown = {u["header"]: u.get("suggestion") for u in job["detected"].get("unknown", [])}
    current = job["columns"] or {}
    offered = None
    if not current and unknown and saved:
        pick = [m for m in saved if m["id"] == chosen] or sorted(
            saved, key=lambda m: -len(set(m["columns"]) & set(unknown))
        )
        if pick and (chosen is not None or set(pick[0]["columns"]) & set(unknown)):
            offered = pick[0]
    if chosen is not None and current:
        offered = next((m for m in saved if m["id"] == chosen), None)
    source = offered["columns"] if offered is not None else current
    rows = []
    for i, h in enumerate(headers):
        if h not in unknown and h not in current:
            continue
        value = source.get(h, "")
        rows.append(
            {
                "index": i,
                "header": h,
                "suggestion": unknown.get(h),
                "value": IGNORE if h in source and value is None else (value or ""),
            }
        )
    return rows, offered


def _page(
    request: Request,
    session: Any,
    settings: Any,
    staff: Staff,
    job_id: int,
    *,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
    status: int = 200,
    mapping: int | None = None,
    action: str = "",
    field: str = "",
    q: str = "",
    offset: int = 0,
) -> HTMLResponse:
    conn = session.connection()
    job = wizard.job_for(conn, job_id, staff.principal)
    options = {"city": job["city_code"] or "", **(job["options"] or {})}
    if sent is not None:
        options |= sent
    saved = wizard.mappings(conn, staff.principal, options.get("city") or None)
    rows, offered = _mapping_rows(job, saved, mapping)
    lines: list[dict[str, Any]] = []
    count = 0
    fields: list[str] = []
    parts = None
    map_config: dict[str, Any] = {}
    if job["report"]:
        lines, count = wizard.report_page(
            conn, job, action=action, field=field, q=q, limit=PAGE_SIZE, offset=offset
        )
        fields = wizard.report_fields(conn, job)
        bounds = wizard.extent(conn, job)
        if bounds is not None:
            parts = parcel_map(settings, bounds, water=water_loaded(conn))
            map_config = {"map": parts.name, "features": f"{URL}/{job_id}/features.geojson"}
    return render(
        request,
        "workbench/imports/job.html",
        status=status,
        job=job,
        options=options,
        sent_options=sent is not None,
        errors=errors or {},
        mapping_rows=rows,
        offered=offered,
        saved=saved,
        targets=columns.mapping_targets(),
        ignore=IGNORE,
        cities=_cities(staff),
        encodings=wizard.ENCODINGS,
        land_uses=list(vocab.PARCEL_LAND_USE.items()),
        statuses=list(vocab.PARCEL_STATUS.items()),
        visibilities=list(vocab.VISIBILITY.items()),
        progress=wizard.progress_of(job),
        actions=wizard.ACTIONS,
        page=Page(lines, count, offset, PAGE_SIZE),
        fields=fields,
        filters={"action": action, "field": field, "q": q},
        map=parts,
        map_config=map_config,
        can_commit=job["state"] == "checked"
        and not (job["report"] or {}).get("totals", {}).get("rejected")
        and not (job["report"] or {}).get("rejected"),
    )


@router.get(URL + "/{job_id}", response_class=HTMLResponse)
def job_page(
    ctx: BureauCtx,
    job_id: int,
    session: JobSessionDep,
    mapping: Annotated[int | None, Query(ge=1)] = None,
    action: Annotated[str, Query(max_length=12)] = "",
    field: Annotated[str, Query(max_length=60)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    return _page(
        ctx.request,
        session,
        ctx.settings,
        ctx.staff,
        job_id,
        mapping=mapping,
        action=action,
        field=field,
        q=q,
        offset=offset,
    )


def _run(
    request: Request, session: Any, settings: Any, staff: Staff, job_id: int, commit: bool
) -> Response:
    """Start a dry run or the import: in this request for a small file, else in the
    background (the page shows its progress)."""
    conn = session.connection()
    limits = wizard.Limits.of(settings)
    wizard.start(conn, job_id, staff.principal, commit=commit)
    url = f"{URL}/{job_id}"
    if wizard.runs_in_background(conn, job_id, limits):
        session.commit()
        wizard.run_in_background(
            request.app.state.job_engine, job_id, staff.principal, commit=commit, limits=limits
        )
        return redirect(request, url, flash=("info", "已在后台开始处理；关闭页面不会中断"))
    report = wizard.execute(conn, job_id, staff.principal, commit=commit, limits=limits)
    session.commit()
    if report is not None and report.get("derived") == "pending":
        derived.drain(request.app.state.job_engine)
    # The commit gave ``conn`` back to the pool: the job is read on the session's next one.
    job = wizard.job_for(session.connection(), job_id, staff.principal)
    if job["state"] == "failed":
        return redirect(request, url, flash=("danger", f"处理失败：{job['error']}"))
    t = (job["report"] or {}).get("totals", {})
    done = (
        "导入完成"
        if job["state"] == "committed"
        else ("导入被拒绝，未写入任何数据" if job["state"] == "rejected" else "试运行完成")
    )
    kind = "success" if not t.get("rejected") and job["state"] != "rejected" else "warning"
    return redirect(
        request,
        url,
        flash=(
            kind,
            f"{done}：新建 {t.get('created', 0):,}，更新 {t.get('updated', 0):,}，"
            f"未变 {t.get('unchanged', 0):,}，拒绝 {t.get('rejected', 0):,}",
        ),
    )


@router.post(URL + "/{job_id}/check")
async def check(ctx: BureauCtx, job_id: int, session: JobSessionDep) -> Response:
    """Keep the options and the column mapping (and the mapping under a name, if given), then
    run the dry run."""
    form = await ctx.request.form()
    sent = {k: str(form.get(k) or "")[:500] for k in wizard.OPTION_FIELDS}
    mapping_name = str(form.get("mapping_name") or "")[:100]

    def work() -> Response:
        conn = session.connection()
        job = wizard.job_for(conn, job_id, ctx.staff.principal)
        headers = job["detected"].get("headers", [])
        mapping: dict[str, str | None] = {}
        for key in form:
            if not key.startswith("map-") or not key[4:].isdigit():
                continue
            i = int(key[4:])
            value = str(form.get(key) or "")
            if i < len(headers) and value:
                mapping[headers[i]] = None if value == IGNORE else value
        try:
            options = wizard.save_options(conn, job_id, ctx.staff.principal, sent, mapping)
            if mapping_name.strip():
                wizard.save_mapping(
                    conn,
                    ctx.staff.principal,
                    options.get("city") or job["city_code"],
                    mapping_name,
                    mapping,
                )
        except LandMatchError as exc:
            errors = refused(session, exc, (403, 404, 409))
            again = partial(_page, ctx.request, session, ctx.settings, ctx.staff, job_id)
            return again(errors=errors, sent=sent, status=FORM_ERROR)
        return _run(ctx.request, session, ctx.settings, ctx.staff, job_id, commit=False)

    return await run_in_threadpool(work)


@router.post(URL + "/{job_id}/commit")
def commit(ctx: BureauCtx, job_id: int, session: JobSessionDep) -> Response:
    return _run(ctx.request, session, ctx.settings, ctx.staff, job_id, commit=True)


@router.get(URL + "/{job_id}/progress")
def progress(job_id: int, session: JobSessionDep, staff: BureauDep) -> JSONResponse:
    job = wizard.job_for(session.connection(), job_id, staff.principal)
    return JSONResponse(wizard.progress_of(job), headers={"Cache-Control": "no-store"})


@router.get(URL + "/{job_id}/report.xlsx")
def report_file(job_id: int, session: JobSessionDep, staff: BureauDep) -> Response:
    conn = session.connection()
    job = wizard.job_for(conn, job_id, staff.principal)
    return download(wizard.report_xlsx(conn, job), f"import-{job_id}-report.xlsx", XLSX)


@router.get(URL + "/{job_id}/features.geojson")
def features(job_id: int, session: JobSessionDep, staff: BureauDep) -> JSONResponse:
    conn = session.connection()
    job = wizard.job_for(conn, job_id, staff.principal)
    return JSONResponse(wizard.features(conn, job), media_type="application/geo+json")


@router.post(URL + "/{job_id}/rollback")
def rollback(
    ctx: BureauCtx,
    job_id: int,
    session: JobSessionDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Undo a committed import (the import's own rollback)."""
    back_url = URL if back == "list" else f"{URL}/{job_id}"
    try:
        out = wizard.rollback(
            session.connection(), job_id, ctx.staff.principal, reason.strip() or None
        )
    except LandMatchError as exc:
        if exc.status >= 500 or exc.status in (403, 404):
            raise
        session.rollback()
        return redirect(ctx.request, back_url, flash=("danger", f"未撤销：{exc.message}"))
    session.commit()
    return redirect(
        ctx.request,
        back_url,
        flash=(
            "success",
            f"已撤销导入任务 #{job_id}：删除新建地块 {out['deleted']:,} 宗，"
            f"恢复更新前版本 {out['restored']:,} 宗",
        ),
    )
