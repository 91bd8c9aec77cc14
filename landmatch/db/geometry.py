"""Geometry as SQL writes and returns it: the SQL twin of the shared normalisation
(:func:`landmatch.geo.validate.normalise_polygons`) and the one GeoJSON expression every
response uses.

Stored polygons carry no repeated consecutive vertex and have counterclockwise exterior rings
and clockwise holes (writers normalise in Python; geometries built in SQL, such as unions, use
:func:`normalised_sql`). GeoJSON goes out the same way (RFC 7946 §3.1.6) even where the
geometry is computed on the fly (intersections, unions: GEOS gives clockwise shells) or where
rounding to ``digits`` decimals would make two neighbouring vertices print alike: the
coordinates are snapped to the printed grid first, which drops such repeats.
"""

from __future__ import annotations


def normalised_sql(g: str) -> str:
    """``g`` without repeated consecutive vertices, shells counterclockwise, holes clockwise."""
    return f"ST_ForcePolygonCCW(ST_RemoveRepeatedPoints({g}))"


def geojson_sql(g: str, digits: int, *, flip: bool = False, options: int = 0) -> str:
    """``ST_AsGeoJSON`` of ``g`` with ``digits`` decimals, no repeated consecutive vertex once
    rounded, exterior rings counterclockwise and holes clockwise on the map. ``flip`` swaps
    the axes afterwards (latitude first, for CRSs that say so), keeping that orientation on
    the map; ``options`` is ST_AsGeoJSON's third argument: 0, so no legacy ``crs`` member
    (RFC 7946 §4; PostGIS's default, 8, adds one for every SRID but 4326)."""
    grid = f"ST_SnapToGrid({g}, {10.0**-digits!r})"
    shaped = (
        f"ST_FlipCoordinates(ST_ForcePolygonCCW({grid}))" if flip else f"ST_ForcePolygonCCW({grid})"
    )
    return f"ST_AsGeoJSON({shaped}, {digits:d}, {options:d})"
