"""Prepared per-parcel facts (``parcel_fact``) so a match reads numbers, not geometry.

Facts per parcel: distance in km on the ellipsoid to the nearest facility of each kind, the
zone the parcel is in (``landmatch.db.membership``: stored on the parcel first, copied here),
and constraint hits. A hit is an interior overlap of at
least ``MIN_OVERLAP_M2`` (a parcel that only touches an area is not in it). ``excluded`` has
three states (``landmatch.db.constraints`` defines them): true = inside an excluding area,
false = outside every excluding area *and* every excluding kind's data is declared complete
for the parcel's city (``constraint_coverage``), NULL = not checked. A coverage change or a
city change therefore calls for a refresh of that city's parcels, like a layer change does.

Each row also carries a copy of the parcel columns a match reads (the ``fact_sync`` trigger
keeps them in step on every parcel insert and update), so ranking reads this table alone.

Writers call ``refresh_facts(conn, parcel_ids)`` after adding parcels or changing their
geometry, and ``refresh_facts(conn)`` after changing a reference layer (facilities, zones,
constraints). Until then a new or moved parcel's spatial facts are NULL — "not checked",
never a stale number (the trigger clears them when the geometry changes).

Nearest facility — one definition for one parcel and for a million: the distance of kind K
is ``min(ST_Distance(facility.geom::geography, parcel.geom::geography))`` over the facilities
of kind K, always computed by PostGIS. Which facilities are worth measuring is decided first
with cheap bounds (``candidates``): from the parcel's bounding box (centre c, half-diagonal
r) and the great-circle distance d from c to a facility on a mean-radius sphere, the true distance lies in
[d·(1−ε) − r, d·(1+ε) + r]; every facility whose lower bound does not exceed the smallest
upper bound of its kind is measured exactly, so the true nearest is always among them —
usually alone (ε = 2 % covers the sphere's error against the ellipsoid, under 0.6 %).
Both a partial and a full refresh go through the same code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection, text

from landmatch import vocab
from landmatch.db.bulk import psycopg_connection
from landmatch.db.constraints import checked_cities_sql, overlaps_sql
from landmatch.db.membership import ids_where, membership_sql, store_zones
from landmatch.db.tables import FACT_CONTROL, FACT_SUPPLY

# Sphere bound: relative error allowed against the true ellipsoidal distance, plus metres.
EPS = 0.02
SLACK_M = 50.0
M_PER_DEG_LAT = 111_320.0  # parcel box half-diagonal only: a few metres either way
EARTH_R = 6_371_008.8  # mean radius (m)
CHUNK = 50_000

# Parcel columns copied into parcel_fact (migration 0002_match); parcel.zone_id → parcel_zone_id.
COPIED = (
    "code",
    "status",
    "visibility",
    "deleted_at",
    "city_code",
    "parcel_zone_id",
    "land_use",
    "compatible_uses",
    "area_m2",
    "price_public",
    "ref_price_wan_per_mu",
    "invest_intensity_min",
    "tax_per_mu_min",
    "energy_per_value_max",
    *FACT_SUPPLY,
    "data_updated_on",
    *FACT_CONTROL,
    "bbox_f8",
)


# A copied column's source on the parcel row (alias ``{a}``), where it is not its own name.
_SOURCE = {
    "parcel_zone_id": "{a}.zone_id",
    "bbox_f8": "ARRAY[ST_XMin({a}.geom), ST_YMin({a}.geom), ST_XMax({a}.geom), ST_YMax({a}.geom)]",
}


def source(name: str, alias: str) -> str:
    """The SQL of copied column ``name`` read from the parcel row ``alias``."""
    return _SOURCE.get(name, "{a}." + name).format(a=alias)


def _unit(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def candidates(
    boxes: np.ndarray, fac_kind: np.ndarray, fac_xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (parcel row, facility position) worth measuring exactly, sorted by parcel row.

    ``boxes`` holds each parcel's (xmin, ymin, xmax, ymax) in degrees. Per kind, a facility
    is kept when its lower bound does not exceed the kind's smallest upper bound for that
    parcel (see the module docstring), so the true nearest is always kept. Distances from
    the box centre are great-circle distances on a sphere of the mean radius (one matrix
    product of unit vectors); ``EPS`` covers the sphere's error against the ellipsoid.
    """
    rows_out: list[np.ndarray] = []
    fac_out: list[np.ndarray] = []
    n = len(boxes)
    # Facilities grouped by kind so that each kind is a contiguous block of columns.
    by_kind = np.argsort(fac_kind.astype(str), kind="stable")
    kinds_sorted = fac_kind[by_kind]
    edges = [0, *(np.flatnonzero(kinds_sorted[1:] != kinds_sorted[:-1]) + 1).tolist(), len(by_kind)]
    fu = _unit(fac_xy[by_kind, 0], fac_xy[by_kind, 1]) if len(fac_xy) else np.zeros((0, 3))
    for s in range(0, n, CHUNK):
        b = boxes[s : s + CHUNK]
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        kx = M_PER_DEG_LAT * np.cos(np.radians(cy))
        r = np.hypot((b[:, 2] - b[:, 0]) * kx, (b[:, 3] - b[:, 1]) * M_PER_DEG_LAT) / 2
        dot = _unit(cx, cy) @ fu.T  # cosine of the central angle, parcel × facility
        for a, e in zip(edges, edges[1:], strict=False):
            if a == e:
                continue
            block = dot[:, a:e]
            d_min = EARTH_R * np.arccos(np.clip(block.max(axis=1), -1.0, 1.0))
            # d·(1−ε) − r − slack ≤ d_min·(1+ε) + r + slack  ⇔  d ≤ reach
            reach = (d_min * (1 + EPS) + 2 * (r + SLACK_M)) / (1 - EPS)
            rr, cc = np.nonzero(block >= np.cos(np.minimum(reach / EARTH_R, np.pi))[:, None])
            rows_out.append(rr + s)
            fac_out.append(by_kind[cc + a])
    if not rows_out:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows = np.concatenate(rows_out)
    facs = np.concatenate(fac_out)
    order = np.lexsort((facs, rows))
    return rows[order], facs[order]


def _dist_cols() -> list[str]:
    return [f"dist_{k}_km" for k in vocab.FACILITY_KINDS]


# Where computed facts wait to be written: a temporary table of the computing transaction.
COMPUTED = "pg_temp.fact_new"
# The tables a parcel's facts are computed from besides the parcel itself (each write to one
# bumps its ``data_state`` counter): facilities, constraint areas and coverage, zones.
SOURCES = ("facility", "constraint_area", "constraint_coverage", "dev_zone")

# Columns of parcel_fact written from a computation; the copied parcel columns follow.
_COMPUTED_COLS = ("excluded", "constraint_hits", "penalised")


def _compute_sql() -> str:
    """The facts of the parcels matching ``{where}`` into :data:`COMPUTED`, with each parcel's
    ``xmin`` as read (a later write to the parcel changes it); the facilities to measure for
    each are the (parcel_id, facility_id) pairs in ``{pairs}``. Reads only."""
    dists = ",\n    ".join(
        f"min(_ST_DistanceUnCached(f.gg, p.gg, true)) FILTER "
        f"(WHERE f.kind = '{k}') / 1000.0 AS dist_{k}_km"
        for k in vocab.FACILITY_KINDS
    )
    return f"""
CREATE TEMP TABLE fact_new ON COMMIT DROP AS
WITH dist AS (
  SELECT c.parcel_id AS id,
    {dists}
  FROM {{pairs}} c
  JOIN (SELECT p.id, p.geom::geography AS gg FROM landmatch.parcel p WHERE {{where}}
        OFFSET 0) p ON p.id = c.parcel_id
  JOIN (SELECT id, kind, geom::geography AS gg FROM landmatch.facility OFFSET 0) f
    ON f.id = c.facility_id
  GROUP BY c.parcel_id
), hits AS (
  SELECT p.id,
         bool_or(c.severity = 'excludes') AS excluded,
         bool_or(c.severity = 'penalises') AS penalised,
         jsonb_agg(jsonb_build_object('code', c.code, 'name', c.name, 'kind', c.kind,
                   'severity', c.severity) ORDER BY c.code) AS hits
  FROM landmatch.parcel p JOIN landmatch.constraint_area c ON {overlaps_sql("c.geom", "p.geom")}
  WHERE {{where}}
  GROUP BY p.id
), checked AS MATERIALIZED {checked_cities_sql()},
zone AS MATERIALIZED ({membership_sql("{where}")})
SELECT p.id, p.xmin AS read_xmin, zone.zone_id, zone.share,
  {", ".join(f"dist.{c}" for c in _dist_cols())},
  CASE WHEN hits.excluded THEN true WHEN checked.city_code IS NOT NULL THEN false END
    AS excluded,
  COALESCE(hits.hits, '[]'::jsonb) AS constraint_hits,
  COALESCE(hits.penalised, false) AS penalised
FROM landmatch.parcel p
JOIN zone ON zone.id = p.id
LEFT JOIN dist ON dist.id = p.id
LEFT JOIN hits ON hits.id = p.id
LEFT JOIN checked ON checked.city_code = p.city_code
WHERE {{where}}
"""


def _write_sql() -> str:
    """Upsert the computed facts of :data:`COMPUTED` into ``parcel_fact``, with the parcel's
    columns as they are now."""
    cols = ["zone_id", *_dist_cols(), *_COMPUTED_COLS, "computed_at", *COPIED]
    computed = ", ".join(f"n.{c}" for c in (*_dist_cols(), *_COMPUTED_COLS))
    copied = ", ".join(source(c, "p") for c in COPIED)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
    return f"""
INSERT INTO landmatch.parcel_fact (parcel_id, {", ".join(cols)})
SELECT p.id, p.zone_id, {computed}, clock_timestamp(), {copied}
FROM {COMPUTED} n JOIN landmatch.parcel p ON p.id = n.id
ON CONFLICT (parcel_id) DO UPDATE SET {updates}
"""


_BOX = np.dtype(
    [
        ("nf", ">i2"),
        ("l0", ">i4"),
        ("id", ">i8"),
        ("l1", ">i4"),
        ("x0", ">f8"),
        ("l2", ">i4"),
        ("y0", ">f8"),
        ("l3", ">i4"),
        ("x1", ">f8"),
        ("l4", ">i4"),
        ("y1", ">f8"),
    ]
)


def _boxes(conn: Connection, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Ids and bounding boxes of the parcels matching ``where``, read by binary COPY."""
    query = (
        "SELECT p.id, ST_XMin(p.geom), ST_YMin(p.geom), ST_XMax(p.geom), ST_YMax(p.geom) "
        f"FROM landmatch.parcel p WHERE {where} ORDER BY p.id"
    )
    dbapi = psycopg_connection(conn)
    buf = bytearray()
    with (
        dbapi.cursor() as cur,
        cur.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)") as copy,
    ):
        for chunk in copy:
            buf += chunk
    body = memoryview(buf)[19 : len(buf) - 2]  # header (signature, flags, extension), trailer
    rec = np.frombuffer(body, dtype=_BOX)
    boxes = np.column_stack([rec["x0"], rec["y0"], rec["x1"], rec["y1"]]).astype(np.float64)
    return rec["id"].astype(np.int64), boxes


# Up to this many pairs travel as two array parameters; more go through a temporary table.
INLINE_PAIRS = 20_000
_PAIRS_INLINE = (
    "(SELECT * FROM unnest(CAST(:pair_parcel AS bigint[]), CAST(:pair_facility AS int[])) "
    "AS u(parcel_id, facility_id))"
)


def _load_candidates(conn: Connection, where: str) -> tuple[int, str, dict[str, object]]:
    """Pick the pairs to measure for the parcels matching ``where``; returns how many parcels,
    the SQL relation holding the pairs and its parameters."""
    fac = conn.execute(
        text("SELECT id, kind, ST_X(geom), ST_Y(geom) FROM landmatch.facility ORDER BY id")
    ).all()
    fac_id = np.array([r[0] for r in fac], dtype=np.int64)
    fac_kind = np.array([r[1] for r in fac], dtype=object)
    fac_xy = np.array([(r[2], r[3]) for r in fac], dtype=np.float64).reshape(-1, 2)
    ids, boxes = _boxes(conn, where)
    rows_, facs = candidates(boxes, fac_kind, fac_xy)
    if len(rows_) <= INLINE_PAIRS:  # an edit or an import: no temporary table
        return (
            len(ids),
            _PAIRS_INLINE,
            {"pair_parcel": ids[rows_].tolist(), "pair_facility": fac_id[facs].tolist()},
        )
    # Binary COPY straight from numpy: int16 field count, then (int32 length, value) each.
    rec = np.zeros(
        len(rows_),
        dtype=[("nf", ">i2"), ("l1", ">i4"), ("pid", ">i8"), ("l2", ">i4"), ("fid", ">i4")],
    )
    rec["nf"], rec["l1"], rec["l2"] = 2, 8, 4
    rec["pid"] = ids[rows_]
    rec["fid"] = fac_id[facs]
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.fact_pair"))
    conn.execute(
        text("CREATE TEMP TABLE fact_pair (parcel_id bigint, facility_id int) ON COMMIT DROP")
    )
    dbapi = psycopg_connection(conn)
    with (
        dbapi.cursor() as cur,
        cur.copy("COPY pg_temp.fact_pair FROM STDIN WITH (FORMAT binary)") as copy,
    ):
        copy.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))
        copy.write(rec.tobytes())
        copy.write(b"\xff\xff")
    conn.execute(text("ANALYZE pg_temp.fact_pair"))
    return len(ids), "pg_temp.fact_pair", {}


def compute_facts(conn: Connection, parcel_ids: Sequence[int] | None = None) -> int:
    """Compute the facts of ``parcel_ids`` (all parcels when None) into :data:`COMPUTED`,
    writing nothing else; how many parcels. :func:`write_facts` stores them."""
    where = ids_where(parcel_ids)
    if where is None:
        return 0
    n, pairs, params = _load_candidates(conn, where)
    if not n:
        return 0
    # JIT compilation costs more than it saves on these geometry functions (the zone update
    # of 10,000 parcels spent 1.7 of its 1.9 s compiling).
    conn.execute(text("SET LOCAL jit = off"))
    conn.execute(text(f"DROP TABLE IF EXISTS {COMPUTED}"))
    conn.execute(text(_compute_sql().replace("{where}", where).replace("{pairs}", pairs)), params)
    if pairs == "pg_temp.fact_pair":
        conn.execute(text("DROP TABLE pg_temp.fact_pair"))
    return n


def write_facts(conn: Connection) -> int:
    """Store what :func:`compute_facts` computed: the zone on the parcel (the one definition,
    ``landmatch.db.membership``), the facts in ``parcel_fact``; drops :data:`COMPUTED`.
    Returns how many facts were written."""
    store_zones(conn, f"(SELECT n.id, n.zone_id, n.share FROM {COMPUTED} n)")
    written = conn.execute(text(_write_sql())).rowcount or 0
    conn.execute(text(f"DROP TABLE {COMPUTED}"))
    return written


def forget_computed(conn: Connection, parcel_ids: Sequence[int]) -> None:
    """Leave ``parcel_ids`` out of what :func:`write_facts` will store."""
    conn.execute(
        text(
            f"DELETE FROM {COMPUTED} n USING unnest(CAST(:ids AS bigint[])) AS x(id) "
            "WHERE n.id = x.id"
        ),
        {"ids": list(parcel_ids)},
    )


def refresh_facts(conn: Connection, parcel_ids: Sequence[int] | None = None) -> int:
    """Recompute the facts of ``parcel_ids`` (all parcels when None); returns the count.

    Set-based, in the caller's transaction; a full refresh and a partial one run the same
    code. After a full refresh of a large table run ``VACUUM landmatch.parcel_fact`` (outside
    a transaction) so the match index is used index-only; ``landmatch seed`` does.
    """
    if not compute_facts(conn, parcel_ids):
        return 0
    n = write_facts(conn)
    if parcel_ids is None:
        conn.execute(text("ANALYZE landmatch.parcel_fact"))
    return n


# A computed row always has its constraint hits (``[]`` when none); ``excluded`` is no marker,
# it stays NULL after a refresh where the coverage is incomplete.
_UNCHECKED = (
    "SELECT p.id FROM landmatch.parcel p WHERE p.deleted_at IS NULL AND NOT EXISTS "
    "(SELECT 1 FROM landmatch.parcel_fact f WHERE f.parcel_id = p.id "
    "AND f.constraint_hits IS NOT NULL)"
)


def missing_facts(conn: Connection) -> int:
    """How many live parcels have no spatial facts (never computed, or the geometry changed)."""
    return int(conn.execute(text(f"SELECT count(*) FROM ({_UNCHECKED}) x")).scalar_one())


def refresh_missing(conn: Connection) -> int:
    """Compute facts for the parcels that have none."""
    ids = [r[0] for r in conn.execute(text(_UNCHECKED))]
    return refresh_facts(conn, ids) if ids else 0
