"""``/api/policies``: the policy library (public view: public policies in force)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Header, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from landmatch.api.deps import JobSessionDep, PrincipalDep, SessionDep, SettingsDep
from landmatch.api.etags import tagged
from landmatch.api.schemas.history import RecordVersion
from landmatch.api.schemas.policies import Policy, PolicyImport, PolicyPage
from landmatch.inventory.uploads import EXCEL_FILES, receive
from landmatch.policies import excel, library, schema
from landmatch.policies.schema import PolicyIn

router = APIRouter(prefix="/api/policies", tags=["policies"])
IfMatch = Annotated[str | None, Header(description="The policy's ETag (from GET)")]
# id, version and visibility are staff-only: absent, not null, for the public.
ONE: dict[str, Any] = {"response_model": Policy, "response_model_exclude_unset": True}


@router.get(
    "", summary="Search policies", response_model=PolicyPage, response_model_exclude_unset=True
)
def search(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    industry: Annotated[str | None, Query(pattern=r"^\d{2,4}$")] = None,
    scope_level: str | None = None,
    scope_code: str | None = None,
    benefit_kind: str | None = None,
    as_of: dt.date | None = None,
    include_expired: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    return library.search_policies(
        session,
        principal,
        q=q,
        industry=industry,
        scope_level=scope_level,
        scope_code=scope_code,
        benefit_kind=benefit_kind,
        as_of=as_of,
        include_expired=include_expired,
        limit=limit,
        offset=offset,
    )


@router.get("/{code}", summary="One policy", **ONE)
def show(
    code: str, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    return tagged(response, code, library.get_policy(session, principal, code))


@router.get(
    "/{code}/history",
    summary="Every recorded state of the policy",
    response_model=list[RecordVersion],
)
def history(code: str, session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return library.policy_history(session, principal, code)


@router.post("", status_code=201, summary="Create a policy", max_body_size=schema.MAX_BODY, **ONE)
def create(
    body: PolicyIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    out = library.create_policy(session, principal, body)
    session.commit()
    return tagged(response, body.code, out)


@router.patch(
    "/{code}",
    summary="Edit a policy (fields as in POST, all optional); needs If-Match",
    max_body_size=schema.MAX_BODY,
    **ONE,
)
def update(
    code: str,
    body: Annotated[dict[str, Any], Body()],
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    out = library.update_policy(session, principal, code, body, if_match=if_match)
    session.commit()
    return tagged(response, code, out)


@router.delete("/{code}", status_code=204, summary="Delete a policy; needs If-Match")
def delete(
    code: str, session: SessionDep, principal: PrincipalDep, if_match: IfMatch = None
) -> None:
    library.delete_policy(session, principal, code, if_match=if_match)
    session.commit()


@router.post(
    "/import",
    summary="Import policies from Excel (.xlsx, Chinese headers)",
    response_model=PolicyImport,
)
async def import_excel(
    request: Request,
    session: JobSessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    up = await receive(request, file, EXCEL_FILES, settings.max_upload_mb, settings.max_unpacked_mb)
    # Checked and written off the event loop: other requests go on meanwhile.
    out = await run_in_threadpool(
        excel.import_policies, session, principal, up.data, dry_run=dry_run
    )
    session.commit()
    return out
