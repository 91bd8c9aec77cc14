"""``/healthz``: is the database there, and which PostGIS — within 2 s whatever it does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from landmatch.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Service health (answers within 2 s)",
    responses={
        200: {"model": Health, "description": "The database answers and the schema is current"},
        503: {"model": Health, "description": "Unavailable, with the reason"},
    },
)
async def healthz(request: Request) -> JSONResponse:
    code, body = await request.app.state.health.check()
    return JSONResponse(body, status_code=code)
