"""Parcel edits: create, patch (If-Match), soft delete, restore, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from landmatch.api.deps import PrincipalDep, SessionDep
from landmatch.api.media import GEOJSON, GeoJSONResponse, prefers_representation
from landmatch.api.schemas.history import ParcelHistory
from landmatch.api.schemas.parcels import BulkResult, DeletedParcel, EditedParcel
from landmatch.db.locking import etag
from landmatch.inventory import edits

router = APIRouter(prefix="/api/parcels", tags=["parcel edits"])
EDITED: dict[str, Any] = {"response_model": EditedParcel, "response_class": GeoJSONResponse}


class RestoreBody(BaseModel):
    version: int | None = Field(None, ge=1, description="Version to bring back; omit to undelete")
    reason: str | None = Field(None, max_length=500)


def _feature(result: tuple[dict[str, Any], str], status: int = 200) -> JSONResponse:
    feature, tag = result
    return JSONResponse(feature, status_code=status, media_type=GEOJSON, headers={"ETag": tag})


class BulkItem(BaseModel):
    code: str = Field(max_length=64)
    etag: str = Field(max_length=200, description="The parcel's ETag as last seen (If-Match)")


class BulkBody(BaseModel):
    items: list[BulkItem] = Field(min_length=1, max_length=1000)
    visibility: str | None = Field(None, description="public or internal (publish / unpublish)")
    status: str | None = Field(None, description="New status of every selected parcel")
    reason: str = Field(min_length=1, max_length=500)


@router.post(
    "/bulk",
    summary="Publish / unpublish or change the status of many parcels in one transaction; "
    "each item carries its ETag, every parcel is versioned",
    response_model=BulkResult,
)
def bulk(session: SessionDep, principal: PrincipalDep, body: BulkBody) -> dict[str, Any]:
    props = {k: v for k, v in (("visibility", body.visibility), ("status", body.status)) if v}
    tags, warnings = edits.bulk_update(
        session, [(i.code, i.etag) for i in body.items], props, principal, body.reason
    )
    session.commit()
    return {"updated": len(tags), "etags": tags, "warnings": warnings}


@router.post("", status_code=201, summary="Create a parcel (GeoJSON Feature)", **EDITED)
def create(
    session: SessionDep,
    principal: PrincipalDep,
    body: Annotated[
        dict[str, Any], Body(description="GeoJSON Feature; properties are field names")
    ],
    repair: Annotated[
        bool, Query(description="Repair an invalid geometry (with a warning)")
    ] = False,
) -> JSONResponse:
    feature = edits.create_parcel(session, body, principal, repair=repair)
    session.commit()
    return _feature(feature, 201)


@router.patch("/{code}", summary="Change a parcel; needs If-Match with its ETag", **EDITED)
def patch(
    code: str,
    session: SessionDep,
    principal: PrincipalDep,
    body: Annotated[dict[str, Any], Body()],
    if_match: Annotated[str | None, Header()] = None,
    repair: Annotated[bool, Query()] = False,
) -> JSONResponse:
    feature = edits.update_parcel(session, code, body, if_match, principal, repair=repair)
    session.commit()
    return _feature(feature)


@router.delete(
    "/{code}",
    status_code=204,
    summary="Soft-delete a parcel (restorable); needs If-Match. With Prefer: "
    "return=representation, 200 with what the delete ended (a hold)",
    responses={
        200: {
            "model": DeletedParcel,
            "description": "Asked for with Prefer: return=representation (Preference-Applied "
            "says so): the delete's warnings, e.g. the hold on the parcel it ended",
        }
    },
)
def delete(
    code: str,
    session: SessionDep,
    principal: PrincipalDep,
    if_match: Annotated[str | None, Header()] = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
    prefer: Annotated[
        str | None,
        Header(description="return=representation: answer 200 with what the delete ended"),
    ] = None,
) -> Response:
    tag, ended = edits.delete_parcel(session, code, if_match, principal, reason)
    session.commit()
    if prefers_representation(prefer):
        body = DeletedParcel.model_validate({"code": code, "deleted": True, "warnings": ended})
        return JSONResponse(
            body.model_dump(),
            headers={"ETag": tag, "Preference-Applied": "return=representation"},
        )
    return Response(status_code=204, headers={"ETag": tag})


@router.post(
    "/{code}/restore",
    summary="Undelete a parcel or bring back one of its versions; needs If-Match with its ETag",
    **EDITED,
)
def restore(
    code: str,
    session: SessionDep,
    principal: PrincipalDep,
    body: RestoreBody | None = None,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    b = body or RestoreBody()
    feature = edits.restore_parcel(session, code, b.version, if_match, principal, b.reason)
    session.commit()
    return _feature(feature)


@router.get(
    "/{code}/history",
    summary="Every version with who, when, why and what changed; the ETag of the current one "
    "(also of a deleted parcel, for restore)",
    response_model=ParcelHistory,
)
def history(
    code: str, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    out = edits.history(session, code, principal)
    response.headers["ETag"] = etag(code, out["current_version"])
    return out
