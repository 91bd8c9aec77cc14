"""Where a parcel lies, for its brochure's location map: the nearest facility of each kind an
investor asks about first (port, airport, rail freight, highway interchange) with its distance,
and the places around it — province, city and county boundaries with their names, development
zones with their short names — clipped to a box and simplified for drawing.

Distances are the parcel's facts (``landmatch.parcel_fact``, the match's figures); the facility
drawn is the one at that distance by the same definition (``landmatch.db.facts``: the smallest
ellipsoidal distance between the facility and the parcel). Only public layers are read.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.db.geometry import geojson_sql
from landmatch.db.mapdata import _short_name_sql

#: The facilities a brochure measures and draws, in its order.
BROCHURE_KINDS = ("port", "airport", "rail_freight", "highway_interchange")


def nearest_facilities(
    session: Session, code: str, kinds: tuple[str, ...] = BROCHURE_KINDS
) -> list[dict[str, Any]]:
    """Per kind (in ``kinds``' order): the nearest facility's name, position and distance in
    km, or ``None`` for name and distance where the layer has none of that kind."""
    rows = session.execute(
        text(
            """
            SELECT k.kind, f.name, f.approximate, ST_X(f.geom)::float8, ST_Y(f.geom)::float8,
                   f.km
              FROM unnest(CAST(:kinds AS text[])) WITH ORDINALITY AS k(kind, i)
              CROSS JOIN (SELECT geom FROM landmatch.parcel WHERE code = :c) p
              LEFT JOIN LATERAL (
                SELECT x.name, x.approximate, x.geom,
                       ST_Distance(x.geom::geography, p.geom::geography) / 1000 AS km
                  FROM landmatch.facility x WHERE x.kind = k.kind
                 ORDER BY km, x.code LIMIT 1) f ON TRUE
             ORDER BY k.i
            """
        ),
        {"kinds": list(kinds), "c": code},
    ).all()
    fact = (
        session.execute(
            text(
                "SELECT f.* FROM landmatch.parcel_fact f JOIN landmatch.parcel p "
                "ON p.id = f.parcel_id WHERE p.code = :c"
            ),
            {"c": code},
        )
        .mappings()
        .first()
    )
    out = []
    for kind, name, approximate, lon, lat, km in rows:
        stored = fact.get(f"dist_{kind}_km") if fact else None
        out.append(
            {
                "kind": kind,
                "kind_label": vocab.label(vocab.FACILITY_KINDS, kind),
                "name": name,
                "approximate": bool(approximate),
                "lon": lon,
                "lat": lat,
                # The match's figure where settled; the same definition computed here otherwise.
                "km": None if name is None else float(stored if stored is not None else km),
            }
        )
    return out


def places_around(session: Session, bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    """Province, city and county boundaries and development zones meeting ``bbox`` (CGCS2000
    lon/lat), clipped to it and simplified to about a thousandth of its width, each with a
    point to label it (inside the box) and its name (zones: the short name)."""
    x0, y0, x1, y1 = bbox
    env = "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)"
    tol = (x1 - x0) / 1000
    params = {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "tol": tol}
    label = (
        f"CASE WHEN ST_Intersects(ST_PointOnSurface(geom), {env}) "
        "THEN ARRAY[ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))] END"
    )
    lines = geojson_sql(f"ST_Simplify(ST_Intersection(ST_Boundary(geom), {env}), :tol)", 5)
    admin = session.execute(
        text(
            f"SELECT code, name, level, {lines}, {label} FROM landmatch.admin_division "
            f"WHERE geom && {env} ORDER BY level = 'county' DESC, level = 'city' DESC, code"
        ),
        params,
    ).all()
    zones = session.execute(
        text(
            f"SELECT code, {_short_name_sql('name')}, level, {lines}, {label} "
            f"FROM landmatch.dev_zone WHERE geom && {env} ORDER BY code"
        ),
        params,
    ).all()

    def shape(g: str | None) -> dict[str, Any] | None:
        return json.loads(g) if g else None

    return {
        "admin": [
            {"code": c, "name": n, "level": lvl, "lines": shape(g), "label_at": pt}
            for c, n, lvl, g, pt in admin
        ],
        "zones": [
            {"code": c, "name": n, "level": lvl, "lines": shape(g), "label_at": pt}
            for c, n, lvl, g, pt in zones
        ],
    }


def parcel_point(session: Session, code: str) -> tuple[float, float]:
    """A point inside the parcel (lon, lat): where the location map puts its marker."""
    row = session.execute(
        text(
            "SELECT ST_X(pt)::float8, ST_Y(pt)::float8 FROM landmatch.parcel p, "
            "LATERAL (SELECT ST_PointOnSurface(p.geom) AS pt) x WHERE p.code = :c"
        ),
        {"c": code},
    ).one()
    return float(row[0]), float(row[1])
