"""``/api/zones``: development zones, their boundaries and regional assessments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from landmatch.api.deps import JobSessionDep, PrincipalDep, SessionDep, SettingsDep
from landmatch.api.etags import tagged
from landmatch.api.schemas.history import ZoneVersion
from landmatch.api.schemas.zones import Zone, ZoneAssessment, ZoneDetail, ZoneWritten
from landmatch.db.locking import etag
from landmatch.inventory.uploads import LAYER_FILES, receive
from landmatch.zones import assessments, records

router = APIRouter(prefix="/api/zones", tags=["zones"])
IfMatch = Annotated[
    str | None, Header(description="The zone's ETag (from GET); assessments are part of it")
]


class ZoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9_\-]{3,40}$")
    name: str = Field(min_length=1, max_length=200)
    city_code: str = Field(pattern=r"^\d{6}$")
    level: str
    kind: str
    leading_industries: list[str] = Field(default_factory=list)
    contact_name: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=50)
    source: str | None = None
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon/MultiPolygon, EPSG:4490 lon/lat")


class ZonePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    city_code: str | None = Field(None, pattern=r"^\d{6}$")
    level: str | None = None
    kind: str | None = None
    leading_industries: list[str] | None = None
    contact_name: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=50)
    source: str | None = None
    geometry: dict[str, Any] | None = None


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        description="WATER_RES, GEOHAZARD, MINERAL, ENERGY, ENV, SEISMIC, RELICS, "
        "CLIMATE, SOIL_WATER, FLOOD, LIGHTNING, TRAFFIC or OTHER"
    )
    name: str | None = None
    approved_on: dt.date
    valid_until: dt.date | None = None
    doc_no: str | None = Field(None, max_length=200)


class AssessmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str | None = None
    name: str | None = None
    approved_on: dt.date | None = None
    valid_until: dt.date | None = None
    doc_no: str | None = None


def _written(
    session: Session, response: Response, code: str, zone: dict[str, Any], warnings: list[str]
) -> dict[str, Any]:
    """A zone write committed: the zone with its ETag and the boundary's repair warnings."""
    session.commit()
    return tagged(response, code, zone | {"warnings": warnings})


def _assessment_write(
    session: Session,
    response: Response,
    code: str,
    if_match: str | None,
    write: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """An assessment written under its zone's lock (``If-Match`` names the zone's version, which
    the write bumps: the new ETag is the zone's)."""
    zone = records.lock_zone(session, code, if_match)
    out = write(zone)
    session.commit()
    response.headers["ETag"] = etag(code, zone["version"] + 1)
    return out


@router.get(
    "",
    summary="List development zones",
    response_model=list[Zone],
    response_model_exclude_unset=True,  # the staff-only keys stay absent for the public
)
def list_zones(
    session: SessionDep,
    principal: PrincipalDep,
    city: str | None = None,
    industry: str | None = None,
    as_of: dt.date | None = None,
) -> list[dict[str, Any]]:
    return records.list_zones(session, principal, city=city, industry=industry, as_of=as_of)


@router.get(
    "/{code}",
    summary="One zone with its boundary and assessments",
    response_model=ZoneDetail,
    response_model_exclude_unset=True,
)
def show_zone(
    code: str,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    return tagged(response, code, records.show_zone(session, principal, code, as_of))


# The staff-only keys (and facts, where no boundary changed) stay absent where they are.
WRITTEN: dict[str, Any] = {"response_model": ZoneWritten, "response_model_exclude_unset": True}
ASSESSMENT: dict[str, Any] = {
    "response_model": ZoneAssessment,
    "response_model_exclude_unset": True,
}


@router.post("", status_code=201, summary="Create a zone (admin, bureau of its city)", **WRITTEN)
def create_zone(
    body: ZoneIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    geom, warnings = records.boundary_from_geojson(body.geometry)
    out = records.create_zone(session, principal, body.model_dump(exclude={"geometry"}), geom)
    return _written(session, response, body.code, out, warnings)


@router.patch(
    "/{code}",
    summary="Edit a zone (its committee, bureau of its city, admin); needs If-Match",
    **WRITTEN,
)
def update_zone(
    code: str,
    body: ZonePatch,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    geometry = changes.pop("geometry", None)
    geom, warnings = records.boundary_from_geojson(geometry) if geometry else (None, [])
    out = records.update_zone(session, principal, code, changes, geom, if_match=if_match)
    return _written(session, response, code, out, warnings)


@router.put(
    "/{code}/boundary",
    summary="Replace the boundary from a file (GeoJSON, GPKG, zip); needs If-Match",
    **WRITTEN,
)
async def replace_boundary(
    request: Request,
    code: str,
    session: JobSessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
    file: Annotated[UploadFile, File()],
    crs: Annotated[str | None, Form()] = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    up = await receive(request, file, LAYER_FILES, settings.max_upload_mb, settings.max_unpacked_mb)
    geom, warnings = records.boundary_from_file(up.data, up.filename, crs)
    out = records.update_zone(
        session, principal, code, {}, geom, reason="导入开发区边界", if_match=if_match
    )
    return _written(session, response, code, out, warnings)


@router.delete("/{code}", status_code=204, summary="Delete a zone (admin, bureau); needs If-Match")
def delete_zone(
    code: str, session: SessionDep, principal: PrincipalDep, if_match: IfMatch = None
) -> None:
    records.delete_zone(session, principal, code, if_match=if_match)
    session.commit()


@router.get(
    "/{code}/history",
    summary="Every recorded state of the zone and its assessments",
    response_model=list[ZoneVersion],
)
def zone_history(code: str, session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return records.zone_history(session, principal, code)


@router.get(
    "/{code}/assessments",
    summary="Assessments; valid_only=true → only those that count",
    response_model=list[ZoneAssessment],
    response_model_exclude_unset=True,  # ``valid`` for staff, who see every one
)
def list_assessments(
    code: str,
    session: SessionDep,
    principal: PrincipalDep,
    as_of: dt.date | None = None,
    valid_only: Annotated[bool, Query()] = False,
) -> list[dict[str, Any]]:
    zone = records.get_zone_row(session, code)
    return assessments.visible_assessments(
        session, principal, zone["id"], as_of, valid_only=valid_only
    )


@router.post(
    "/{code}/assessments",
    status_code=201,
    summary="Record a regional assessment; needs the zone's If-Match",
    **ASSESSMENT,
)
def add_assessment(
    code: str,
    body: AssessmentIn,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return _assessment_write(
        session,
        response,
        code,
        if_match,
        lambda zone: assessments.add_assessment(session, principal, zone, **body.model_dump()),
    )


@router.patch(
    "/{code}/assessments/{assessment_id}",
    summary="Edit a regional assessment; needs the zone's If-Match",
    **ASSESSMENT,
)
def update_assessment(
    code: str,
    assessment_id: int,
    body: AssessmentPatch,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return _assessment_write(
        session,
        response,
        code,
        if_match,
        lambda zone: assessments.update_assessment(
            session, principal, zone, assessment_id, changes
        ),
    )


@router.delete(
    "/{code}/assessments/{assessment_id}",
    status_code=204,
    summary="Delete a regional assessment; needs the zone's If-Match",
)
def delete_assessment(
    code: str,
    assessment_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    if_match: IfMatch = None,
) -> None:
    zone = records.lock_zone(session, code, if_match, "删除")
    assessments.delete_assessment(session, principal, zone, assessment_id)
    session.commit()
