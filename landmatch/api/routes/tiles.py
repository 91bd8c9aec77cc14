"""``/tiles/{layer}/{z}/{x}/{y}.pbf`` (Mapbox vector tiles) and ``/api/identify`` (map clicks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.routing import Route

from landmatch.api.deps import PrincipalDep, SessionDep
from landmatch.api.media import GeoJSONResponse
from landmatch.api.schemas import ParcelsAtPoint
from landmatch.api.tile_server import MVT, SessionFactory, TileServer, query_errors
from landmatch.db.identify import parcels_at
from landmatch.db.tiles import TileFilter
from landmatch.settings import Settings

router = APIRouter(tags=["tiles"])


class TileQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(None, description="Comma-separated statuses (parcels layer)")
    land_use: str | None = Field(
        None, description="Comma-separated land-use code prefixes, e.g. 1001"
    )
    area_min: float | None = Field(None, ge=0, description="Minimum area in 亩 (inclusive)")
    area_max: float | None = Field(None, ge=0, description="Maximum area in 亩 (exclusive)")
    city: str | None = Field(None, pattern=r"^\d{6}$", description="City code (GB/T 2260)")
    in_zone: bool | None = Field(
        None, description="Only parcels inside (true) or outside (false) a development zone"
    )

    def to_filter(self) -> TileFilter:
        def split(v: str | None) -> tuple[str, ...]:
            return tuple(sorted({p.strip() for p in v.split(",") if p.strip()})) if v else ()

        return TileFilter(
            status=split(self.status),
            land_use=split(self.land_use),
            area_min_mu=self.area_min,
            area_max_mu=self.area_max,
            city=self.city,
            in_zone=self.in_zone,
        )


def parse_query(params: dict[str, str]) -> TileFilter:
    """The query string as a filter; bad parameters are a 422 naming the field."""
    try:
        return TileQuery.model_validate(params).to_filter()
    except ValidationError as exc:
        raise RequestValidationError(query_errors(exc)) from None


def tile_server(settings: Settings, sessions: Callable[[], SessionFactory]) -> TileServer:
    return TileServer(
        sessions,
        settings.tile_cache_mb,
        settings.tile_version_poll_ms / 1000,
        settings.token_cache_seconds,
        parse_query,
        settings,
    )


async def _serve(request: Request) -> Response:
    server: TileServer = request.app.state.tile_server
    return await server.respond(request)


TILE_PATH = "/tiles/{layer}/{z}/{x}/{y}.pbf"
# Served ahead of the FastAPI routes (see create_app): no dependency chain, no thread pool and
# no database round trip on a cache hit. The FastAPI route below documents the same endpoint.
lean_route = Route(TILE_PATH, _serve, methods=["GET", "HEAD"], name="tile")


@router.get(
    TILE_PATH,
    summary="A Mapbox vector tile of one layer",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 304: {}},
)
async def tile(
    layer: Annotated[str, Path(description="parcels, zones, constraints, admin or facilities")],
    z: int,
    x: int,
    y: int,
    q: Annotated[TileQuery, Query()],
    request: Request,
) -> Response:
    """Cached per worker by the layer's data version (ETag / 304, gzip on request). A write
    reaches tiles within ``LANDMATCH_TILE_VERSION_POLL_MS``; token revocation within
    ``LANDMATCH_TOKEN_CACHE_SECONDS``. Public callers get public parcels and fields only."""
    return await _serve(request)


class IdentifyQuery(TileQuery):
    """A map click: the point, and the parcels layer's filters (what the map shows)."""

    lon: float = Field(ge=-180, le=180, description="Longitude (CGCS2000)")
    lat: float = Field(ge=-90, le=90, description="Latitude (CGCS2000)")
    tolerance_m: float = Field(0, ge=0, le=500, description="Search radius in metres")


@router.get(
    "/api/identify",
    summary="The parcels at a point (for map clicks)",
    response_model=ParcelsAtPoint,
    response_class=GeoJSONResponse,
)
def identify(
    q: Annotated[IdentifyQuery, Query()], session: SessionDep, principal: PrincipalDep
) -> JSONResponse:
    return GeoJSONResponse(
        parcels_at(session, q.lon, q.lat, principal, q.tolerance_m, q.to_filter())
    )
