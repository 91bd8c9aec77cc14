"""``/api/match``: rank parcels for a project's requirement; stored runs; reverse match."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from landmatch.api import reads
from landmatch.api.deps import PrincipalDep, PublicWritePrincipalDep, SessionDep, SettingsDep
from landmatch.api.media import GEOJSON, GeoJSONResponse
from landmatch.api.schemas import MatchResult
from landmatch.api.schemas.match import RequirementSchema
from landmatch.api.schemas.projects import MatchingProjects
from landmatch.match import requirements
from landmatch.match.engine import get_run_body, match_encoded
from landmatch.match.projects import matching_projects
from landmatch.match.requirements import Requirement

router = APIRouter(tags=["match"])


@router.get(
    "/api/match/schema",
    summary="JSON Schema of the match requirement",
    response_model=RequirementSchema,
    response_model_exclude_unset=True,
)
def schema() -> dict[str, Any]:
    return Requirement.model_json_schema()


# The match's bytes are encoded once by the engine (and stored as the run): the response model
# documents them, it is not validated again on the way out (tests/api/test_contracts.py does).
@router.post(
    "/api/match",
    summary="Rank parcels for a requirement (GeoJSON + why-not)",
    response_model=MatchResult,
    response_class=GeoJSONResponse,
    max_body_size=requirements.MAX_BODY,  # refused before it is read (api/limits.py)
)
def match(
    req: Requirement,
    session: SessionDep,
    principal: PublicWritePrincipalDep,  # an ended session's cookie: the public's match
    settings: SettingsDep,
    request: Request,
) -> Response:
    # A public match reads the replica when the routing rule allows it (landmatch.api.reads);
    # its run is kept on the primary either way.
    with reads.read_session(request, session) as read:
        _result, body = match_encoded(
            read, req, principal, stale_after_days=settings.stale_after_days, store_in=session
        )
    session.commit()
    return Response(body, media_type=GEOJSON)


@router.get(
    "/api/match/{match_id}",
    summary="A stored match run, exactly as it was returned",
    response_model=MatchResult,
    response_class=GeoJSONResponse,
)
def stored(match_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    return Response(get_run_body(session, match_id, principal), media_type=GEOJSON)


@router.get(
    "/api/parcels/{code}/matching-projects",
    summary="Open projects this parcel fits, best first (reverse match)",
    response_model=MatchingProjects,
)
def reverse(
    code: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return matching_projects(session, principal, code, settings.stale_after_days)
