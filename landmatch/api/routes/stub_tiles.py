"""TEMPORARY stand-in for the tiles engineer's routes (delete before finishing)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text

from landmatch.api.deps import PrincipalDep, SessionDep
from landmatch.db.parcels import PUBLIC_WHERE

router = APIRouter()

_TABLES = {
    "parcels": ("landmatch.parcel p", "p.code, p.status, p.land_use, p.area_m2"),
    "zones": ("landmatch.dev_zone p", "p.code, p.name, p.level"),
    "admin": ("landmatch.admin_division p", "p.code, p.name, p.level"),
    "constraints": ("landmatch.constraint_area p", "p.code, p.name, p.kind, p.severity"),
}


@router.get("/tiles/{layer}/{z}/{x}/{y}.pbf")
def tile(layer: str, z: int, x: int, y: int, session: SessionDep, principal: PrincipalDep,
         status: str | None = None, land_use: str | None = None, city: str | None = None,
         area_min_mu: float | None = None, area_max_mu: float | None = None,
         in_zone: bool | None = None) -> Response:
    table, cols = _TABLES[layer]
    where = ["p.geom_3857 && ST_TileEnvelope(:z, :x, :y)"]
    params: dict = {"z": z, "x": x, "y": y}
    if layer == "parcels":
        where.append(PUBLIC_WHERE if principal.is_public else "p.deleted_at IS NULL")
        if status:
            where.append("p.status = ANY(:st)")
            params["st"] = status.split(",")
        if land_use:
            where.append("p.land_use = ANY(:lu)")
            params["lu"] = land_use.split(",")
        if city:
            where.append("p.city_code = :city")
            params["city"] = city
        if area_min_mu is not None:
            where.append("p.area_m2 >= :amin")
            params["amin"] = area_min_mu * 10000 / 15
        if area_max_mu is not None:
            where.append("p.area_m2 <= :amax")
            params["amax"] = area_max_mu * 10000 / 15
        if in_zone is not None:
            where.append("p.zone_id IS NOT NULL" if in_zone else "p.zone_id IS NULL")
        if z < 10:
            return Response(b"", media_type="application/vnd.mapbox-vector-tile")
    sql = (
        f"SELECT ST_AsMVT(t, '{layer}', 4096, 'geom') FROM (SELECT {cols}, "
        "ST_AsMVTGeom(p.geom_3857, ST_TileEnvelope(:z, :x, :y), 4096, 64, true) AS geom "
        f"FROM {table} WHERE {' AND '.join(where)}) t"
    )
    data = session.execute(text(sql), params).scalar() or b""
    return Response(bytes(data), media_type="application/vnd.mapbox-vector-tile")


@router.get("/api/identify")
def identify(lon: float, lat: float, session: SessionDep, principal: PrincipalDep) -> dict:
    where = PUBLIC_WHERE if principal.is_public else "p.deleted_at IS NULL"
    rows = session.execute(
        text(f"SELECT p.code, p.name, p.status FROM landmatch.parcel p WHERE {where} AND "
             "ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4490))"),
        {"lon": lon, "lat": lat},
    ).all()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": dict(r._mapping)} for r in rows]}
