"""JSON the map pages fetch: the parcel card and the search box."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep
from landmatch.db.cards import parcel_card
from landmatch.db.mapdata import search

router = APIRouter(tags=["map"])


@router.get("/api/parcels/{code}/card", summary="What the map's parcel card shows")
def card(code: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep) -> dict:
    return parcel_card(session, code, principal, stale_after_days=settings.stale_after_days)


@router.get(
    "/api/search", summary="Find parcels by code, name or address; zones and places by name"
)
def find(
    q: Annotated[str, Query(max_length=60, description="Search text")],
    session: SessionDep,
    principal: PrincipalDep,
) -> dict:
    return {"query": q, "results": search(session, q, principal)}
