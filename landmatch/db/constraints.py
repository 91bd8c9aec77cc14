"""Constraint areas against parcels: what "inside" means, and where a kind's data is complete.

One definition, used by the per-parcel facts (``landmatch.db.facts``) and by the QA checks
(``landmatch.inventory.qa``):

Inside
    A parcel is inside a constraint area when their interiors overlap by at least
    ``MIN_OVERLAP_M2`` square metres, measured on the ellipsoid. Sharing an edge or a corner
    (interiors disjoint, overlap 0 m²) is not inside, and neither is a floating-point sliver
    left where two outlines were digitised along the same line.

Coverage
    ``constraint_coverage`` records, per constraint kind and city, that the stored data of that
    kind is complete for the city (who declared it, from what source, current as of when). It
    is declared by the importer (``landmatch layers coverage``, or with the constraint-layer
    import), never inferred from where polygons happen to lie: a red line that spills over a
    city boundary does not make the neighbour "checked".

Three states per parcel and kind (QA): *inside* (overlap as above, whatever the coverage),
*clear* (not inside, and the kind is covered for the parcel's city), *not checked* (neither).

``parcel_fact.excluded`` (what the match reads):

- ``true``  — inside an area whose severity is ``excludes`` (of any kind, whatever the coverage);
- ``false`` — not inside any such area, **and** every excluding kind (``vocab.EXCLUDING_KINDS``:
  red lines, drinking-water sources, permanent basic farmland) is covered for the parcel's
  city. Coverage of only some of them is not enough: the parcel could lie in an area of a kind
  nobody has loaded for that city;
- ``NULL``  — otherwise: not checked (the match keeps the parcel and warns "管控区未核验").
"""

from __future__ import annotations

from landmatch import vocab

# Smallest interior overlap (m², on the ellipsoid) that counts: parcel against constraint area,
# and parcel against parcel in the QA overlap check.
MIN_OVERLAP_M2 = 1.0


def overlap_m2_sql(a: str, b: str) -> str:
    """SQL for the ellipsoidal area (m²) of the intersection of geometries ``a`` and ``b``."""
    return f"ST_Area(ST_Intersection({a}, {b})::geography, true)"


def overlaps_sql(a: str, b: str) -> str:
    """SQL predicate: the interiors of ``a`` and ``b`` overlap by at least ``MIN_OVERLAP_M2``.

    ``a`` and ``b`` are SQL expressions of EPSG:4490 geometries (column references). The
    bounding-box test lets the planner use the GiST indexes; ``ST_Intersects`` is the cheap
    prepared-geometry filter; the DE-9IM pattern rejects pairs that only touch before any
    intersection is built.
    """
    return (
        f"({a} && {b} AND ST_Intersects({a}, {b}) AND ST_Relate({a}, {b}, 'T********') "
        f"AND {overlap_m2_sql(a, b)} >= {MIN_OVERLAP_M2!r})"
    )


def _kinds_sql(kinds: tuple[str, ...]) -> str:
    # Whitelisted vocabulary codes only.
    assert all(k in vocab.CONSTRAINT_KINDS for k in kinds)
    return ", ".join(f"'{k}'" for k in kinds)


def checked_cities_sql() -> str:
    """SQL relation (column ``city_code``): the cities where every excluding kind is covered,
    i.e. where a parcel outside every excluding area reads ``excluded = false``."""
    return (
        "(SELECT cc.city_code FROM landmatch.constraint_coverage cc "
        f"WHERE cc.kind IN ({_kinds_sql(vocab.EXCLUDING_KINDS)}) GROUP BY cc.city_code "
        f"HAVING count(DISTINCT cc.kind) = {len(vocab.EXCLUDING_KINDS)})"
    )
