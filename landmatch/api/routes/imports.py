"""Bulk imports: ``POST /api/imports`` (multipart), dry runs, roll back a whole import."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from landmatch.api.deps import JobSessionDep, PrincipalDep, SettingsDep
from landmatch.api.schemas.imports import ImportReport, ImportRollback
from landmatch.db import derived
from landmatch.inventory import imports
from landmatch.inventory.columns import parse_mapping
from landmatch.inventory.uploads import BOUNDARY_FILES, PARCEL_FILES, receive

router = APIRouter(prefix="/api/imports", tags=["imports"])


@router.post(
    "",
    summary="Import parcels from a file (GeoJSON, GPKG, Shapefile zip, TXT, xlsx, CSV)",
    response_model=ImportReport,
    response_model_exclude_unset=True,  # a row's problems, changes, warnings where it has them
)
async def create(
    request: Request,
    background: BackgroundTasks,
    session: JobSessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The file to import")],
    dry_run: Annotated[bool, Form()] = False,
    city: Annotated[str | None, Form(pattern=r"^\d{6}$")] = None,
    crs: Annotated[str | None, Form(max_length=100)] = None,
    encoding: Annotated[str | None, Form(max_length=40)] = None,
    code_prefix: Annotated[
        str | None,
        Form(
            max_length=200,  # the 1–40 rule is checked by the import, with a message for users
            description="Prefix for the file's parcel codes: code 1 becomes PREFIX-1",
        ),
    ] = None,
    repair: Annotated[bool, Form()] = False,
    reason: Annotated[str | None, Form(max_length=500)] = None,
    land_use: Annotated[
        str | None,
        Form(max_length=40, description="Default land use of new parcels without one"),
    ] = None,
    status: Annotated[
        str | None, Form(max_length=20, description="Default status of new parcels without one")
    ] = None,
    visibility: Annotated[
        str | None,
        Form(max_length=20, description="Default visibility of new parcels without one"),
    ] = None,
    boundaries: Annotated[
        UploadFile | None,
        File(description="Boundaries joined by parcel code to a table without them"),
    ] = None,
    columns: Annotated[
        str | None,
        Form(
            max_length=20_000,
            description='Column mapping, JSON: {"file header": "known header" or null (ignore)}',
        ),
    ] = None,
) -> dict[str, Any]:
    imports.require_editor(principal)
    up = await receive(
        request, file, PARCEL_FILES, settings.max_upload_mb, settings.max_unpacked_mb
    )
    shapes = (
        None
        if boundaries is None
        else await receive(
            request, boundaries, BOUNDARY_FILES, settings.max_upload_mb, settings.max_unpacked_mb
        )
    )
    opts = imports.ImportOptions(
        dry_run=dry_run,
        city=city,
        crs=crs,
        encoding=encoding,
        code_prefix=code_prefix,
        repair=repair,
        reason=reason,
        land_use=land_use,
        status=status,
        visibility=visibility,
        columns=parse_mapping(columns),
        max_rows=settings.max_import_rows,
        settle_inline_max=settings.import_settle_inline_max,
    )

    def run() -> dict[str, Any]:  # blocking work, off the event loop
        report = imports.run_import(
            session.connection(),
            up.data,
            up.filename,
            principal,
            opts,
            boundaries=None if shapes is None else (shapes.data, shapes.filename),
        )
        session.commit()
        return report

    report = await run_in_threadpool(run)
    if report.get("derived") == "pending":
        # Committed; the new parcels' facts and map cells are settled after the response.
        background.add_task(derived.drain, request.app.state.job_engine)
    return report


@router.post(
    "/{import_id}/rollback",
    summary="Undo a whole import in one step",
    response_model=ImportRollback,
)
def rollback(import_id: int, session: JobSessionDep, principal: PrincipalDep) -> dict[str, Any]:
    out = imports.rollback_import(session.connection(), import_id, principal)
    session.commit()
    return out
