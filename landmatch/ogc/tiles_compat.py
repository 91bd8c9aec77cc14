"""A minimal MVT renderer, standing in until ``landmatch.db.tiles.render_tile`` (branch
``tiles``) is merged; same name and signature, so the switch is one import.

One SQL per tile over the stored, indexed Web Mercator geometry (no per-row transform):
``ST_TileEnvelope`` with a 64/4096 margin → ``ST_AsMVTGeom`` → ``ST_AsMVT``. Public callers
get the public rows and public columns only (the same expressions as the features API).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from landmatch.ogc.collections import COLLECTIONS

# Attributes carried in tiles: small, public, enough to style and label.
TILE_PROPS: dict[str, tuple[str, ...]] = {
    "parcels": ("code", "name", "status", "land_use", "area_m2", "city_code"),
    "zones": ("code", "name", "level", "kind"),
    "admin_divisions": ("code", "name", "level"),
    "facilities": ("code", "name", "kind"),
    "constraint_areas": ("code", "name", "kind", "severity"),
}


def render_tile(conn: Connection, layer: str, z: int, x: int, y: int,
                filters: dict[str, Any] | None, public: bool) -> bytes:
    coll = COLLECTIONS[layer]
    props = coll.prop_map(public)
    cols = ", ".join(f'{props[n].sql} AS "{n}"' for n in TILE_PROPS[layer] if n in props)
    a = coll.alias
    where = [coll.where(public)]
    params: dict[str, Any] = {"z": z, "x": x, "y": y}
    for i, (name, value) in enumerate(sorted((filters or {}).items())):
        if name not in coll.queryables(public):
            continue
        where.append(f"({props[name].sql}) = :v{i}")
        params[f"v{i}"] = value
    sql = (
        "WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e, "
        "ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096) AS m), "
        f"rows AS (SELECT {coll.id_sql} AS fid, {cols}, "
        f"ST_AsMVTGeom({a}.geom_3857, env.e, 4096, 64, true) AS geom "
        f"FROM {coll.from_sql}, env WHERE {a}.geom_3857 && env.m AND "
        + " AND ".join(f"({w})" for w in where)
        + ") SELECT ST_AsMVT(rows, :layer, 4096, 'geom', 'fid') FROM rows WHERE geom IS NOT NULL"
    )
    params["layer"] = layer
    data = conn.execute(text(sql), params).scalar()
    return bytes(data or b"")
