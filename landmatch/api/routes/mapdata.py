"""JSON the map pages fetch: the parcel card and the search box."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep
from landmatch.api.schemas import ParcelCard, PlaceSummary, SearchResults
from landmatch.db.mapdata import place_summary, search
from landmatch.inventory.cards import parcel_card

router = APIRouter(tags=["map"])


@router.get(
    "/api/parcels/{code}/card",
    summary="What the map's parcel card shows",
    response_model=ParcelCard,
)
def card(
    code: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> JSONResponse:
    # Sent as built (the model documents it; tests/api/test_contracts.py holds it to it).
    return JSONResponse(
        parcel_card(session, code, principal, stale_after_days=settings.stale_after_days)
    )


@router.get(
    "/api/search",
    summary="Find parcels by code, name or address; zones and places by name",
    response_model=SearchResults,
)
def find(
    q: Annotated[str, Query(max_length=60, description="Search text")],
    session: SessionDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    return {"query": q, "results": search(session, q, principal)}


@router.get(
    "/api/map/places",
    summary="Ready land per city and per development zone (count, 亩), with label points",
    response_model=PlaceSummary,
)
def places(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """What the map shows before any parcel: per city and per zone the ready land the caller
    may see (the public: public 熟地), and where to label each city, zone and county."""
    return place_summary(session, principal)
