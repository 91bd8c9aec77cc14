"""``/healthz``: is the database there, and which PostGIS — within 2 s whatever it does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Service health (answers within 2 s)")
async def healthz(request: Request) -> JSONResponse:
    code, body = await request.app.state.health.check()
    return JSONResponse(body, status_code=code)
