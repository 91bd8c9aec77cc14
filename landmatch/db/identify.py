"""The parcels at a point (what a click on the map hits), with what the caller may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.db.parcels import _feature, _select
from landmatch.db.tiles import NO_FILTER, TileFilter, parcel_where
from landmatch.errors import InvalidInput
from landmatch.viewer import Viewer

MAX_TOLERANCE_M = 500.0
MAX_HITS = 10


def parcels_at(
    session: Session,
    lon: float,
    lat: float,
    principal: Viewer,
    tolerance_m: float = 0.0,
    shown: TileFilter = NO_FILTER,
) -> dict[str, Any]:
    """Parcels containing (lon, lat) in CGCS2000, or within ``tolerance_m`` metres of it
    (measured on the ellipsoid), nearest first; only those the map shows with the filter
    ``shown`` (the tiles' own)."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("经纬度超出范围：经度 -180..180，纬度 -90..90")
    if not 0 <= tolerance_m <= MAX_TOLERANCE_M:
        raise InvalidInput(f"容差应在 0–{MAX_TOLERANCE_M:g} 米之间")
    params: dict[str, Any] = {
        "lon": lon,
        "lat": lat,
        "deg": tolerance_m / 80_000.0,
        "tol": tolerance_m,
        "lim": MAX_HITS,
    }
    where = " AND ".join(parcel_where(shown, principal.is_public, params))
    if tolerance_m > 0:
        # Bounding-box prefilter (1° ≥ 80 km of longitude at Hebei's latitudes), exact test on
        # the ellipsoid.
        hit = (
            "p.geom && ST_Expand(pt.g, :deg)"
            " AND ST_DWithin(p.geom::geography, pt.g::geography, :tol)"
        )
    else:
        hit = "ST_Intersects(p.geom, pt.g)"
    rows = session.execute(
        text(
            f"WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4490) AS g) "
            f"SELECT {_select(principal)} FROM pt, landmatch.parcel p "
            "LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id "
            "LEFT JOIN landmatch.admin_division a ON a.code = p.city_code "
            f"WHERE {hit} AND {where} "
            "ORDER BY ST_Distance(p.geom, pt.g), p.area_m2 LIMIT :lim"
        ),
        params,
    ).all()
    features = [_feature(r) for r in rows]
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}
