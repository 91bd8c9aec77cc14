"""``/healthz``: is the database there, and which PostGIS."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from landmatch import __version__
from landmatch.db import derived
from landmatch.db.engine import head_revision
from landmatch.db.failures import UPGRADE_HINT

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Service health")
def healthz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    try:
        with engine.connect() as conn:
            pg = conn.execute(text("SHOW server_version")).scalar()
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar()
            rev = conn.execute(text("SELECT version_num FROM landmatch.alembic_version")).scalar()
            current = rev == head_revision()
            waiting = derived.pending(conn) if current else None
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", with the reason
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "unreachable",
                "reason": reason,
                "version": __version__,
            },
            status_code=503,
        )
    body = {
        "status": "ok" if current else "unavailable",
        "database": "ok",
        "postgres": pg,
        "postgis": postgis,
        "schema_revision": rev,
        "version": __version__,
    }
    if not current:
        body["reason"] = f"{UPGRADE_HINT}（需要 {head_revision()}）"
        return JSONResponse(body, status_code=503)
    # Derived data a large import has not settled yet (facts, map cells): 0 once it has.
    body["pending"] = waiting
    return JSONResponse(body)
