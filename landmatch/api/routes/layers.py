"""``/api/layers/{facility|constraint_area}`` imports with change reports; ``/api/alerts``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep
from landmatch.errors import PayloadTooLarge
from landmatch.reflayers import alerts, changes

router = APIRouter(tags=["layers"])


@router.get("/api/layers/{layer}", summary="Records of a reference layer")
def list_layer(layer: str, session: SessionDep) -> list[dict[str, Any]]:
    return changes.list_records(session, layer)


@router.post("/api/layers/{layer}/import", summary="Import/update a layer file; change report")
async def import_layer(
    layer: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    crs: Annotated[str | None, Form()] = None,
    replace: Annotated[bool, Form()] = False,
    reason: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    data = await file.read()
    if len(data) > settings.max_upload_mb * 1024 * 1024:
        raise PayloadTooLarge(f"文件超过 {settings.max_upload_mb} MB")
    report = changes.import_file(
        session,
        principal,
        layer,
        data,
        file.filename or "upload",
        crs=crs,
        replace=replace,
        reason=reason,
    )
    session.commit()
    return report.to_dict()


@router.delete("/api/layers/{layer}/{code}", summary="Delete one record; change report")
def delete_record(
    layer: str, code: str, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    report = changes.delete_record(session, principal, layer, code)
    session.commit()
    return report.to_dict()


@router.get("/api/alerts", summary="Layer-change alerts for the caller's city")
def list_alerts(
    session: SessionDep,
    principal: PrincipalDep,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return alerts.list_alerts(session, principal, open_only=open_only, city=city, limit=limit)


@router.post("/api/alerts/{alert_id}/ack", summary="Acknowledge an alert")
def acknowledge(alert_id: int, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    out = alerts.acknowledge(session, principal, alert_id)
    session.commit()
    return out
