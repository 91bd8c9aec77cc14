"""What saving a zone boundary would do, writing nothing (the boundary editor's preview), and
the neighbouring zones its vertices snap to."""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.db.geometry import geojson_sql
from landmatch.errors import GeometryError
from landmatch.geo.measure import M2_PER_MU
from landmatch.reflayers.files import polygon_for_storage
from landmatch.zones.records import OVERLAP_TOLERANCE_M2, get_zone_row, outside_city

# Neighbouring zones drawn (and snapped to) within this distance of the zone, in degrees.
NEIGHBOUR_MARGIN_DEG = 0.05


def preview_boundary(
    session: Session, principal: Principal, code: str, geom: BaseGeometry
) -> dict[str, Any]:
    """The problems the save would refuse (the same checks: polygonal, in Hebei, within the
    zone's city; repaired rings as warnings), the ellipsoidal area that would be stored, and
    the other zones it would overlap (a save refuses those), each with the overlap as
    GeoJSON."""
    zone = get_zone_row(session, code)
    principal.require_zone(zone["id"], zone["city_code"])
    try:
        fixed, warnings = polygon_for_storage(geom, 0)
    except GeometryError as exc:
        reasons = [d.get("reason") for d in exc.detail or [] if isinstance(d, dict)]
        return {
            "problems": [
                {"field": "geometry", "label": "边界", "reason": r or exc.message}
                for r in (reasons or [exc.message])
            ],
            "warnings": [],
            "overlaps": [],
        }
    wkb = shapely.to_wkb(fixed)
    g = "ST_GeomFromWKB(:w, 4490)"
    area = float(
        session.execute(text(f"SELECT ST_Area({g}::geography, true)"), {"w": wkb}).scalar_one()
    )
    rows = session.execute(
        text(
            f"SELECT z.code, z.name, round(ST_Area(ST_Intersection(z.geom, {g})::geography)"
            f"::numeric, 1) AS m2, {geojson_sql(f'ST_Intersection(z.geom, {g})', 8, options=0)} "
            f"AS overlap FROM landmatch.dev_zone z WHERE z.id <> :id AND ST_Intersects(z.geom, {g}) "
            f"AND ST_Area(ST_Intersection(z.geom, {g})::geography) > :tol ORDER BY m2 DESC"
        ),
        {"w": wkb, "id": zone["id"], "tol": OVERLAP_TOLERANCE_M2},
    ).mappings()
    outside = outside_city(session, wkb, zone["city_code"])
    return {
        "problems": []
        if outside is None
        else [{"field": "geometry", "label": "边界", "reason": outside}],
        "warnings": warnings,
        "area_m2": round(area, 1),
        "area_mu": round(area / M2_PER_MU, 2),
        "overlaps": [
            {
                "code": r["code"],
                "name": r["name"],
                "overlap_m2": float(r["m2"]),
                "geometry": json.loads(r["overlap"]),
            }
            for r in rows
        ],
    }


def neighbours(session: Session, code: str) -> list[dict[str, Any]]:
    """The other zones near zone ``code`` as GeoJSON features (code, name), for the map."""
    rows = session.execute(
        text(
            f"SELECT n.code, n.name, {geojson_sql('n.geom', 7)} AS g FROM landmatch.dev_zone z "
            "JOIN landmatch.dev_zone n ON n.id <> z.id "
            "AND n.geom && ST_Expand(z.geom, :m) WHERE z.code = :c ORDER BY n.code"
        ),
        {"c": code, "m": NEIGHBOUR_MARGIN_DEG},
    ).mappings()
    return [
        {
            "type": "Feature",
            "geometry": json.loads(r["g"]),
            "properties": {"code": r["code"], "name": r["name"]},
        }
        for r in rows
    ]
