"""``/tiles/{layer}/{z}/{x}/{y}.pbf`` (Mapbox vector tiles) and ``/api/identify`` (map clicks)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep
from landmatch.db.identify import parcels_at
from landmatch.db.tiles import TileCache, TileFilter, get_tile

router = APIRouter(tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"


class TileQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(None, description="Comma-separated statuses (parcels layer)")
    land_use: str | None = Field(None, description="Comma-separated land-use code prefixes, e.g. 1001")
    area_min: float | None = Field(None, ge=0, description="Minimum area in 亩 (inclusive)")
    area_max: float | None = Field(None, ge=0, description="Maximum area in 亩 (exclusive)")
    city: str | None = Field(None, pattern=r"^\d{6}$", description="City code (GB/T 2260)")
    in_zone: bool | None = Field(None, description="Only parcels inside (true) or outside (false) a development zone")

    def to_filter(self) -> TileFilter:
        def split(v: str | None) -> tuple[str, ...]:
            return tuple(sorted({p.strip() for p in v.split(",") if p.strip()})) if v else ()

        return TileFilter(status=split(self.status), land_use=split(self.land_use),
                          area_min_mu=self.area_min, area_max_mu=self.area_max,
                          city=self.city, in_zone=self.in_zone)


def _cache(request: Request, max_mb: int) -> TileCache:
    cache = getattr(request.app.state, "tile_cache", None)
    if cache is None:
        cache = request.app.state.tile_cache = TileCache(max_mb * 1024 * 1024)
    return cache  # type: ignore[no-any-return]


@router.get("/tiles/{layer}/{z}/{x}/{y}.pbf", summary="A Mapbox vector tile of one layer",
            response_class=Response, responses={200: {"content": {MVT: {}}}, 304: {}})
def tile(
    layer: Annotated[str, Path(description="parcels, zones, constraints, admin or facilities")],
    z: int, x: int, y: int,
    q: Annotated[TileQuery, Query()],
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> Response:
    public = principal.is_public
    etag, found = get_tile(session, _cache(request, settings.tile_cache_mb), layer, z, x, y,
                           q.to_filter(), public, request.headers.get("if-none-match"))
    headers = {
        "ETag": etag,
        "Vary": "Accept-Encoding, Authorization",
        "Cache-Control": "public, no-cache" if public else "private, no-cache",
    }
    if found is None:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=MVT, headers=headers)
    return Response(found.body, media_type=MVT, headers=headers)


class IdentifyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lon: float = Field(ge=-180, le=180, description="Longitude (CGCS2000)")
    lat: float = Field(ge=-90, le=90, description="Latitude (CGCS2000)")
    tolerance_m: float = Field(0, ge=0, le=500, description="Search radius in metres")


@router.get("/api/identify", summary="The parcels at a point (for map clicks)")
def identify(q: Annotated[IdentifyQuery, Query()], session: SessionDep,
             principal: PrincipalDep) -> JSONResponse:
    return JSONResponse(parcels_at(session, q.lon, q.lat, principal, q.tolerance_m),
                        media_type="application/geo+json")
