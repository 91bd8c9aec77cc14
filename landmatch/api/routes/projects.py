"""``/api/projects`` (with pipeline status) and ``/api/reservations``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep
from landmatch.api.etags import tagged
from landmatch.api.media import GEOJSON, GeoJSONResponse
from landmatch.api.schemas import MatchResult
from landmatch.api.schemas.projects import (
    DeletedProject,
    Project,
    Reservation,
    ReservationSeen,
    ReservationTeamSeen,
    RestoredProject,
)
from landmatch.match import projects as svc
from landmatch.match.engine import match_encoded

router = APIRouter(tags=["projects"])
IfMatch = Annotated[str | None, Header(description="The project's ETag (from GET)")]


@router.get("/api/projects", summary="List projects", response_model=list[Project])
def list_(
    session: SessionDep,
    principal: PrincipalDep,
    status: str | None = Query(None, description="Pipeline status"),
) -> list[dict[str, Any]]:
    return svc.list_projects(session, principal, status)


@router.post(
    "/api/projects",
    status_code=201,
    summary="Create a project",
    response_model=Project,
    max_body_size=svc.MAX_BODY,
)
def create(
    body: svc.ProjectIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    out = svc.create_project(session, principal, body)
    session.commit()
    return tagged(response, out["id"], out)


@router.get(
    "/api/projects/deleted",
    summary="Deleted projects of the caller's team, last deleted first (restore one with its ETag)",
    response_model=list[DeletedProject],
)
def deleted(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return svc.deleted_projects(session, principal)


@router.get("/api/projects/{project_id}", summary="One project", response_model=Project)
def get(
    project_id: int, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    return tagged(response, project_id, svc.get_project(session, principal, project_id))


@router.patch(
    "/api/projects/{project_id}",
    summary="Change a project or its pipeline status; needs If-Match",
    response_model=Project,
    max_body_size=svc.MAX_BODY,
)
def patch(
    project_id: int,
    body: svc.ProjectPatch,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    out = svc.update_project(session, principal, project_id, body, if_match=if_match)
    session.commit()
    return tagged(response, project_id, out)


@router.delete(
    "/api/projects/{project_id}", status_code=204, summary="Delete a project; needs If-Match"
)
def delete(
    project_id: int, session: SessionDep, principal: PrincipalDep, if_match: IfMatch = None
) -> Response:
    svc.delete_project(session, principal, project_id, if_match=if_match)
    session.commit()
    return Response(status_code=204)


@router.post(
    "/api/projects/{project_id}/restore",
    summary="Bring back a deleted project; needs If-Match with its ETag (from the deleted list)",
    response_model=RestoredProject,
)
def restore(
    project_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    body: svc.RestoreIn | None = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    reason = body.reason if body else None
    out = svc.restore_project(session, principal, project_id, if_match=if_match, reason=reason)
    session.commit()
    return tagged(response, project_id, out)


@router.post(
    "/api/projects/{project_id}/match",
    summary="Match the project's requirement",
    response_model=MatchResult,
    response_class=GeoJSONResponse,
)
def match_project(
    project_id: int, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> Response:
    req = svc.project_requirement(session, principal, project_id)
    _out, body = match_encoded(session, req, principal, stale_after_days=settings.stale_after_days)
    session.commit()
    return Response(body, media_type=GEOJSON)


@router.get(
    "/api/reservations",
    summary="Reservations in force (all with active=false), each as the caller may see it",
    response_model=list[Reservation | ReservationTeamSeen | ReservationSeen],
)
def reservations(
    session: SessionDep, principal: PrincipalDep, active: bool = True
) -> list[dict[str, Any]]:
    return svc.list_reservations(session, principal, active)


@router.post(
    "/api/reservations",
    status_code=201,
    summary="Hold a parcel for a project (409 when already held)",
    response_model=Reservation,
)
def reserve(
    body: svc.ReservationIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    out = svc.reserve(session, principal, body)
    session.commit()
    return out


@router.delete(
    "/api/reservations/{reservation_id}", summary="Release a hold", response_model=Reservation
)
def release(reservation_id: int, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    out = svc.release(session, principal, reservation_id)
    session.commit()
    return out
