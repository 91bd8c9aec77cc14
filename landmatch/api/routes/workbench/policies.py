"""``/workbench/policies``: the policy library for admins and bureaus — list (search, expired
on request), one policy with its history, and the Excel import through the guarded upload path
with the CLI's report (``landmatch policies import``): the one-line summary, or the row, field
and reason that refused the file (all rows or none).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from landmatch.api.deps import JobSessionDep, SessionDep, SettingsDep
from landmatch.api.routes.workbench.common import FORM_ERROR, Staff, render, staff_with
from landmatch.errors import InvalidInput, LandMatchError
from landmatch.inventory.uploads import EXCEL_FILES, receive
from landmatch.paging import Page
from landmatch.policies import excel, library

router = APIRouter(include_in_schema=False)
URL = "/workbench/policies"
LibraryDep = Annotated[Staff, Depends(staff_with("admin", "bureau"))]
PAGE_SIZE = 50


@router.get(URL, response_class=HTMLResponse)
def policy_list(
    request: Request,
    session: SessionDep,
    staff: LibraryDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    expired: Annotated[str | None, Query(max_length=5)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    found = library.search_policies(
        session,
        staff.principal,
        q=(q or "").strip() or None,
        include_expired=expired == "1",
        limit=PAGE_SIZE,
        offset=offset,
    )
    page = Page(found["items"], found["total"], offset, PAGE_SIZE)
    return render(
        request,
        "workbench/policies/list.html",
        page=page,
        filters={"q": q or "", "expired": expired == "1"},
    )


def _import_page(
    request: Request,
    settings: Any,
    *,
    result: dict[str, Any] | None = None,
    error: LandMatchError | None = None,
    dry_run: bool = True,
    status: int = 200,
) -> HTMLResponse:
    problems = []
    if error is not None:
        details = error.detail if isinstance(error.detail, list) else []
        problems = [
            {
                "row": d.get("row"),
                "field": excel.field_label(str(d.get("field") or "")),
                "reason": d.get("reason") or error.message,
            }
            for d in details
            if isinstance(d, dict)
        ]
    return render(
        request,
        "workbench/policies/import.html",
        status=status,
        result=result,
        summary=excel.summary(result) if result else None,
        error=error,
        problems=problems,
        dry_run=dry_run,
        headers=sorted(set(excel.FIELD_LABELS.values())),
        max_mb=settings.max_upload_mb,
    )


@router.get(URL + "/import", response_class=HTMLResponse)
def import_form(request: Request, settings: SettingsDep, staff: LibraryDep) -> HTMLResponse:
    return _import_page(request, settings)


@router.post(URL + "/import", response_class=HTMLResponse)
async def import_excel(
    request: Request,
    session: JobSessionDep,
    settings: SettingsDep,
    staff: LibraryDep,
    file: Annotated[UploadFile, File()],
    dry_run: Annotated[str, Form(max_length=5)] = "",
) -> HTMLResponse:
    trial = dry_run == "1"
    try:
        up = await receive(
            request, file, EXCEL_FILES, settings.max_upload_mb, settings.max_unpacked_mb
        )
        result = excel.import_policies(session, staff.principal, up.data, dry_run=trial)
    except InvalidInput as exc:  # a bad file or row; too large, out of scope… get their pages
        session.rollback()
        return _import_page(request, settings, error=exc, dry_run=trial, status=FORM_ERROR)
    session.commit()
    return _import_page(request, settings, result=result, dry_run=trial)


@router.get(URL + "/{code}", response_class=HTMLResponse)
def policy_page(
    request: Request, code: str, session: SessionDep, staff: LibraryDep
) -> HTMLResponse:
    policy = library.get_policy(session, staff.principal, code)
    history = library.policy_history(session, staff.principal, code)[::-1]
    return render(
        request,
        "workbench/policies/policy.html",
        p=policy,
        history=history,
        labels=excel.FIELD_LABELS,
        can_edit=library.can_edit_policy(
            session, staff.principal, policy["scope_level"], policy["scope_code"]
        ),
    )
