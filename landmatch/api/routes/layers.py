"""``/api/layers/{facility|constraint_area}`` imports with change reports, the constraint
layers' declared coverage (``/api/layers/constraint_area/coverage``); ``/api/alerts``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from landmatch.api.deps import JobSessionDep, PrincipalDep, SessionDep, SettingsDep
from landmatch.api.etags import tagged
from landmatch.api.schemas.layers import (
    Alert,
    AlertAcknowledged,
    ChangeReport,
    Coverage,
    LayerRecord,
)
from landmatch.inventory.uploads import LAYER_FILES, receive
from landmatch.reflayers import alerts, changes, coverage

router = APIRouter(tags=["layers"])
COVERAGE = "/api/layers/constraint_area/coverage"
IfMatch = Annotated[str | None, Header(description="The record's ETag (from GET)")]
# A report's coverage is empty ({}) unless the write declared coverage.
REPORT: dict[str, Any] = {"response_model": ChangeReport, "response_model_exclude_unset": True}


class CoverageIn(BaseModel):
    """Declare the stored areas of ``kinds`` complete for ``cities``."""

    kinds: list[str] = Field(min_length=1, max_length=10, description="codes or Chinese names")
    cities: list[str] = Field(min_length=1, max_length=20)
    source: str = Field(min_length=1, max_length=500)
    as_of: dt.date
    reason: str | None = Field(default=None, max_length=500)


@router.get(
    COVERAGE,
    summary="Declared coverage of the constraint layers (kind × city)",
    response_model=list[Coverage],
)
def list_coverage(
    session: SessionDep,
    principal: PrincipalDep,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    return coverage.list_coverage(session, principal, city=city, kind=kind)


@router.post(COVERAGE, summary="Declare coverage; the parcels concerned are refreshed", **REPORT)
def declare_coverage(
    body: CoverageIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    report = coverage.change(
        session,
        principal,
        body.kinds,
        body.cities,
        source=body.source,
        as_of=body.as_of,
        reason=body.reason,
    )
    session.commit()
    return report.to_dict()


@router.delete(
    COVERAGE + "/{kind}/{city_code}", summary="Withdraw one coverage declaration", **REPORT
)
def withdraw_coverage(
    kind: str,
    city_code: str,
    session: SessionDep,
    principal: PrincipalDep,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    report = coverage.change(session, principal, [kind], [city_code], withdraw=True, reason=reason)
    session.commit()
    return report.to_dict()


@router.get(
    "/api/layers/{layer}",
    summary="Records of a reference layer",
    response_model=list[LayerRecord],
    response_model_exclude_unset=True,  # severity: constraint areas only
)
def list_layer(layer: str, session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return changes.list_records(session, principal, layer)


class LayerImportForm(BaseModel):
    """How to apply a layer file: the form fields beside it."""

    crs: str | None = None
    replace: bool = False
    reason: str | None = None
    dry_run: bool = Field(
        False, description="report what the import would add, change and delete; write nothing"
    )
    other_kinds: bool = Field(
        False,
        description="with replace: delete the kinds the file holds none of too (without it, "
        "such a replace answers 409 naming them)",
    )
    covers: str | None = Field(
        None,
        pattern=r"^\d{6}(,\d{6})*$",
        description="constraint_area: city codes (comma-separated) the file's data is "
        "complete for, for every kind in it",
    )
    covers_as_of: dt.date | None = None
    covers_source: str | None = Field(None, max_length=500)

    def coverage(self) -> changes.Covers | None:
        if not self.covers:
            return None
        return changes.Covers(tuple(self.covers.split(",")), self.covers_as_of, self.covers_source)


@router.post(
    "/api/layers/{layer}/import", summary="Import/update a layer file; change report", **REPORT
)
async def import_layer(
    request: Request,
    layer: str,
    session: JobSessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    form: Annotated[LayerImportForm, Form()],
) -> dict[str, Any]:
    up = await receive(request, file, LAYER_FILES, settings.max_upload_mb, settings.max_unpacked_mb)
    options = form.model_dump(include={"crs", "replace", "reason", "dry_run", "other_kinds"})
    report = await run_in_threadpool(  # off the event loop: other requests go on
        changes.import_file,
        session,
        principal,
        layer,
        up.data,
        up.filename,
        **options,
        covers=form.coverage(),
    )
    session.commit()
    return report.to_dict()


class RecordPatch(BaseModel):
    """Fields of a facility or constraint area to change (those the layer has)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    kind: str | None = Field(None, min_length=1, max_length=64)
    severity: str | None = Field(None, min_length=1, max_length=32)
    city_code: str | None = Field(None, pattern=r"^\d{6}$")
    source: str | None = Field(None, max_length=500)
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry, EPSG:4490")
    reason: str | None = Field(None, max_length=500)


class RecordIn(BaseModel):
    """One new facility or constraint area (the fields its layer has)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=3, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=64)
    severity: str | None = Field(None, min_length=1, max_length=32)
    city_code: str | None = Field(None, pattern=r"^\d{6}$")
    source: str | None = Field(None, max_length=500)
    geometry: dict[str, Any] = Field(description="GeoJSON geometry, EPSG:4490")
    reason: str | None = Field(None, max_length=500)


@router.post(
    "/api/layers/{layer}",
    summary="Add one record (never over a stored or deleted code); change report",
    status_code=201,
    **REPORT,
)
def create_record(
    layer: str, body: RecordIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    record = body.model_dump(exclude={"reason"})
    record["geometry"] = changes.shape_of(record["geometry"])
    report = changes.create_record(session, principal, layer, record, reason=body.reason)
    session.commit()
    return report.to_dict()


@router.get(
    "/api/layers/{layer}/{code}",
    summary="One record of a reference layer (staff)",
    response_model=LayerRecord,
    response_model_exclude_unset=True,
)
def get_record(
    layer: str, code: str, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    return tagged(response, code, changes.get_record(session, principal, layer, code))


@router.patch(
    "/api/layers/{layer}/{code}",
    summary="Change one record; change report; needs If-Match",
    **REPORT,
)
def update_record(
    layer: str,
    code: str,
    body: RecordPatch,
    session: SessionDep,
    principal: PrincipalDep,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    reason = fields.pop("reason", None)
    report = changes.update_record(
        session, principal, layer, code, fields, if_match=if_match, reason=reason
    )
    session.commit()
    return report.to_dict()


@router.delete(
    "/api/layers/{layer}/{code}",
    summary="Delete one record; change report; needs If-Match",
    **REPORT,
)
def delete_record(
    layer: str,
    code: str,
    session: SessionDep,
    principal: PrincipalDep,
    if_match: IfMatch = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    report = changes.delete_record(session, principal, layer, code, reason, if_match=if_match)
    session.commit()
    return report.to_dict()


@router.get(
    "/api/alerts", summary="Layer-change alerts for the caller's city", response_model=list[Alert]
)
def list_alerts(
    session: SessionDep,
    principal: PrincipalDep,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return alerts.list_alerts(session, principal, open_only=open_only, city=city, limit=limit)


@router.post(
    "/api/alerts/{alert_id}/ack", summary="Acknowledge an alert", response_model=AlertAcknowledged
)
def acknowledge(alert_id: int, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    out = alerts.acknowledge(session, principal, alert_id)
    session.commit()
    return out
