"""Bulk imports: ``POST /api/imports`` (multipart), dry runs, roll back a whole import."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from landmatch.api.deps import JobSessionDep, PrincipalDep, SettingsDep
from landmatch.api.schemas.imports import ImportReport, ImportRollback
from landmatch.db import derived
from landmatch.inventory import imports
from landmatch.inventory.columns import parse_mapping
from landmatch.inventory.uploads import BOUNDARY_FILES, PARCEL_FILES, receive

router = APIRouter(prefix="/api/imports", tags=["imports"])


class ImportForm(BaseModel):
    """The import's options: the form fields beside the files."""

    dry_run: bool = False
    city: str | None = Field(None, pattern=r"^\d{6}$")
    crs: str | None = Field(None, max_length=100)
    encoding: str | None = Field(None, max_length=40)
    code_prefix: str | None = Field(
        None,
        max_length=200,  # the 1–40 rule is checked by the import, with a message for users
        description="Prefix for the file's parcel codes: code 1 becomes PREFIX-1",
    )
    repair: bool = False
    reason: str | None = Field(None, max_length=500)
    land_use: str | None = Field(
        None, max_length=40, description="Default land use of new parcels without one"
    )
    status: str | None = Field(
        None, max_length=20, description="Default status of new parcels without one"
    )
    visibility: str | None = Field(
        None, max_length=20, description="Default visibility of new parcels without one"
    )
    columns: str | None = Field(
        None,
        max_length=20_000,
        description='Column mapping, JSON: {"file header": "known header" or null (ignore)}',
    )


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
    form: Annotated[ImportForm, Form()],
    boundaries: Annotated[
        UploadFile | None,
        File(description="Boundaries joined by parcel code to a table without them"),
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
    opts = imports.ImportOptions.within(
        settings, **form.model_dump(exclude={"columns"}), columns=parse_mapping(form.columns)
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
