"""``landmatch seed``: load the reference layers and a deterministic demo inventory."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point
from sqlalchemy import Connection, text

from landmatch import vocab
from landmatch.db.bulk import copy_rows, indexes_dropped, triggers_disabled, tune_bulk
from landmatch.db.facts import refresh_facts
from landmatch.errors import Conflict
from landmatch.geo.validate import normalise_polygons
from landmatch.inventory.fields import COLUMN_NAMES
from landmatch.layers import read_layer
from landmatch.reflayers.scope import cities_reached, home_city
from landmatch.seed import parcels as gen
from landmatch.seed.monitoring import reset_monitoring, seed_monitoring
from landmatch.seed.policies import local_policies, plan_policies
from landmatch.seed.profiles import CONSTRAINT_LAYER_CITY, CONSTRAINTS
from landmatch.seed.zones import _ellipse, build_zones

DEMO_AS_OF = dt.date(2026, 11, 1)

# The columns the seed writes: every editable field (the demo has no brochures) and the keys
# the generator fills in.
PARCEL_COLUMNS = [
    *(c for c in COLUMN_NAMES if c != "brochure_url"),
    "zone_id",
    "zone_share",
    "import_id",
    "updated_by",
    "geom",
]


@dataclass
class SeedReport:
    parcels: int
    zones: int
    policies: int
    facilities: int
    constraints: int
    admin_divisions: int
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, in order


# Statement triggers the seed's COPY does without: their transition tables would hold every
# row, and each has a cheaper set-wise step once the table is loaded: ``history_ins`` (one
# INSERT of the first versions), ``fact_ins`` (the full ``refresh_facts`` writes every fact
# row) and ``parcel_cell_ins`` (``parcel_cell_rebuild()`` is one GROUP BY). geom_3857 and the
# ellipsoidal area are generated columns, computed as the rows are copied.
SEED_SKIPPED_TRIGGERS = ("history_ins", "fact_ins", "parcel_cell_ins")


def _actor(conn: Connection, actor: str) -> None:
    conn.execute(text("SELECT set_config('landmatch.actor', :a, true)"), {"a": actor})


def load_admin(conn: Connection) -> int:
    if conn.execute(text("SELECT count(*) FROM landmatch.admin_division")).scalar():
        return 0
    gdf = read_layer("admin_divisions")
    rows = []
    for r in gdf.itertuples():
        geom = r.geometry
        if geom.geom_type == "Polygon":
            geom = MultiPolygon([geom])
        geom = normalise_polygons(geom)
        rows.append(
            (
                r.code,
                r.name,
                r.level,
                r.parent_code or None,
                bool(getattr(r, "province_managed", False)),
                getattr(r, "source", None),
                geom,
            )
        )
    return copy_rows(
        conn,
        "admin_division",
        ["code", "name", "level", "parent_code", "province_managed", "source", "geom"],
        rows,
    )


def load_facilities(conn: Connection, counties: list[gen.County], rng: np.random.Generator) -> int:
    """Real facilities from layers/facilities.geojson, plus demo substations and highway
    interchanges near county seats (marked as demo in their source)."""
    if conn.execute(text("SELECT count(*) FROM landmatch.facility")).scalar():
        return 0
    gdf = read_layer("facilities")
    rows = []
    for r in gdf.itertuples():
        if r.kind not in vocab.FACILITY_KINDS:
            continue
        rows.append(
            (
                r.code,
                r.name,
                r.kind,
                getattr(r, "city_code", None),
                bool(getattr(r, "approximate", True)),
                getattr(r, "confidence", None),
                getattr(r, "source", None),
                r.geometry,
            )
        )
    for c in counties:
        seat = c.geom.representative_point()
        for kind, label, dist_km in (
            ("substation", "110kV变电站", 3.0),
            ("highway_interchange", "高速互通", 6.0),
        ):
            ang = rng.uniform(0, 2 * np.pi)
            d = rng.uniform(0.5, dist_km)
            p = Point(
                seat.x + d * np.cos(ang) / (111 * np.cos(np.radians(seat.y))),
                seat.y + d * np.sin(ang) / 111,
            )
            if not c.geom.contains(p):
                p = seat
            rows.append(
                (
                    f"demo-{kind}-{c.code}",
                    f"{c.name}{label}（演示）",
                    kind,
                    c.city_code,
                    True,
                    "demo",
                    "演示数据：按县城位置生成的示意设施",
                    p,
                )
            )
    return copy_rows(
        conn,
        "facility",
        ["code", "name", "kind", "city_code", "approximate", "confidence", "source", "geom"],
        rows,
    )


def seed_coverage(conn: Connection, as_of: dt.date) -> int:
    """Declare the demo constraint layers complete for the cities they belong to (one row per
    kind and city, see ``CONSTRAINT_LAYER_CITY``); returns how many were declared."""
    kinds = {c[0]: c[2] for c in CONSTRAINTS}
    pairs = sorted({(kinds[code], city) for code, city in CONSTRAINT_LAYER_CITY.items()})
    for kind, city in pairs:
        conn.execute(
            text(
                "INSERT INTO landmatch.constraint_coverage (kind, city_code, source, as_of, "
                "declared_by) VALUES (:k, :c, :s, :a, 'seed')"
            ),
            {"k": kind, "c": city, "s": "演示数据：本市示意管控图层（非正式划定成果）", "a": as_of},
        )
    return len(pairs)


def _counties(conn: Connection) -> list[gen.County]:
    rows = conn.execute(
        text(
            "SELECT code, name, parent_code, ST_AsBinary(geom) FROM landmatch.admin_division "
            "WHERE level = 'county' ORDER BY code"
        )
    ).all()
    out = []
    for code, name, parent, wkb in rows:
        city = code if code in vocab.CITIES else parent
        if city not in vocab.CITIES:
            continue
        out.append(gen.County(code, name, city, shapely.from_wkb(bytes(wkb))))
    return out


def _province_managed_split(counties: list[gen.County]) -> list[gen.County]:
    # 辛集 and 定州 are counties under 石家庄/保定 in GB/T 2260 but province-managed cities:
    # their parcels carry their own city code.
    for c in counties:
        if c.code in ("130181", "130682"):
            c.city_code = c.code
    return counties


def seed(
    conn: Connection,
    *,
    n: int,
    seed_value: int = 42,
    as_of: dt.date = DEMO_AS_OF,
    progress: Callable[[str, int, int], None] | None = None,
) -> SeedReport:
    """Load layers and the demo inventory into an empty database in one transaction."""
    if conn.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar():
        raise Conflict("数据库中已有地块数据；如需重建演示数据请使用 --reset")
    rng = np.random.default_rng(seed_value)
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def stage_done(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - clock[0], 2)
        clock[0] = now

    _actor(conn, "seed")
    tune_bulk(conn)
    n_admin = load_admin(conn)
    counties = _province_managed_split(_counties(conn))
    n_fac = load_facilities(conn, counties, rng)

    centres = []
    for r in read_layer("zone_centres").itertuples():
        centres.append(
            {
                "code": r.code,
                "name": r.name,
                "city_code": r.city_code,
                "level": r.level,
                "kind": r.kind,
                "lon": r.geometry.x,
                "lat": r.geometry.y,
            }
        )
    county_tuples = [(c.code, c.name, c.city_code, c.geom) for c in counties]
    demo_zones = build_zones(centres, county_tuples, rng, as_of)
    zone_ids = []
    for z in demo_zones:
        zid = conn.execute(
            text(
                "INSERT INTO landmatch.dev_zone (code, name, city_code, level, kind, "
                "leading_industries, contact_name, contact_phone, approximate, source, geom) "
                "VALUES (:code, :name, :city, :level, :kind, :ind, :cn, :cp, :approx, :src, "
                "ST_GeomFromWKB(:g, 4490)) RETURNING id"
            ),
            {
                "code": z.code,
                "name": z.name,
                "city": z.city_code,
                "level": z.level,
                "kind": z.kind,
                "ind": z.leading_industries,
                "cn": z.contact_name,
                "cp": z.contact_phone,
                "approx": z.approximate,
                "src": z.source,
                "g": shapely.to_wkb(z.geom),
            },
        ).scalar_one()
        zone_ids.append(zid)
        for assessment in z.assessments:
            conn.execute(
                text(
                    "INSERT INTO landmatch.zone_assessment (zone_id, kind, name, approved_on, "
                    "valid_until, doc_no) VALUES (:z, :kind, :name, :approved_on, :valid_until, "
                    ":doc_no)"
                ),
                {"z": zid, **assessment},
            )

    policies = plan_policies() + local_policies(
        sorted(vocab.CITIES), [(z.code, z.name, z.city_code) for z in demo_zones[:40]]
    )
    for p in policies:
        p = dict(p)
        p["conditions"] = json.dumps(p["conditions"], ensure_ascii=False)
        cols = ", ".join(p)
        vals = ", ".join(f"CAST(:{k} AS jsonb)" if k == "conditions" else f":{k}" for k in p)
        conn.execute(text(f"INSERT INTO landmatch.policy ({cols}) VALUES ({vals})"), p)

    areas = [
        normalise_polygons(_ellipse(lon, lat, a, b, rot)) for *_, lon, lat, a, b, rot in CONSTRAINTS
    ]
    for (code, name, kind, sev, *_), geom, reached in zip(
        CONSTRAINTS, areas, cities_reached(conn, areas), strict=True
    ):
        conn.execute(
            text(
                "INSERT INTO landmatch.constraint_area (code, name, kind, severity, city_code, "
                "source, geom) VALUES (:c, :n, :k, :s, :city, :src, "
                "ST_Multi(ST_GeomFromWKB(:g, 4490)))"
            ),
            {
                "c": code,
                "n": name,
                "k": kind,
                "s": sev,
                "city": home_city(reached),
                "src": "演示数据：示意范围，非正式划定成果",
                "g": shapely.to_wkb(geom),
            },
        )
    seed_coverage(conn, as_of)

    placed = 0

    def on_place(k: int) -> None:
        nonlocal placed
        placed += k
        if progress:
            progress("place", min(placed, n), n)

    stage_done("layers")
    zones = [
        gen.Zone(zid, z.geom, z.level, z.leading_industries, z.city_code)
        for zid, z in zip(zone_ids, demo_zones, strict=True)
    ]
    df = gen.place_parcels(n, counties, zones, rng, progress=on_place)
    df = gen.fill_attributes(df, zones, rng, as_of)
    # Money needs the area; a local equirectangular estimate is plenty for demo prices (the
    # stored area_m2 is computed on the ellipsoid by the database).
    lat = shapely.get_y(shapely.centroid(df["geometry"].to_numpy()))
    df["area_m2"] = (
        shapely.area(df["geometry"].to_numpy()) * gen.M_PER_DEG_LAT**2 * np.cos(np.radians(lat))
    )
    df = gen.finish_money(df)
    batch_id = conn.execute(
        text(
            "INSERT INTO landmatch.import_batch (filename, format, actor, status, report) "
            "VALUES ('demo', 'seed', 'seed', 'seed', CAST(:r AS jsonb)) RETURNING id"
        ),
        {"r": json.dumps({"parcels": n, "seed": seed_value, "as_of": as_of.isoformat()})},
    ).scalar_one()
    df["import_id"] = batch_id
    df["updated_by"] = "seed"
    df["declared_area_m2"] = None
    df["geom"] = [MultiPolygon([g]) for g in df["geometry"]]
    stage_done("place")
    written = 0

    def on_copy(k: int) -> None:
        nonlocal written
        written += k
        if progress:
            progress("load", written, n)

    parcel_cols = PARCEL_COLUMNS
    data = df[parcel_cols].itertuples(index=False, name=None)
    # The table is empty (checked above): build its indexes once after the load.
    with triggers_disabled(conn, "parcel", SEED_SKIPPED_TRIGGERS), indexes_dropped(conn, "parcel"):
        copy_rows(conn, "parcel", parcel_cols, data, progress=on_copy)
    stage_done("load")
    # The cell aggregates, once (parcel_cell_ins was off), their keys built after them.
    with (
        indexes_dropped(conn, "parcel_cell", keys=True),
        indexes_dropped(conn, "parcel_cell_total", keys=True),
    ):
        conn.execute(text("SELECT landmatch.parcel_cell_rebuild()"))
    stage_done("cells")
    if progress:
        progress("history", 0, 1)
    # The first versions, as the history trigger writes them: their state is the parcel row.
    with indexes_dropped(conn, "parcel_version"):
        conn.execute(
            text(
                "INSERT INTO landmatch.parcel_version (parcel_id, code, version, op, actor, "
                "reason, import_id) SELECT p.id, p.code, p.version, 'insert', 'seed', "
                "'演示数据初始化', p.import_id FROM landmatch.parcel p"
            )
        )
    if progress:
        progress("history", 1, 1)
    stage_done("history")
    conn.execute(text("ANALYZE landmatch.parcel"))
    if progress:
        progress("monitoring", 0, 1)
    seed_monitoring(conn, as_of)
    if progress:
        progress("monitoring", 1, 1)
    stage_done("monitoring")
    if progress:
        progress("facts", 0, 1)
    # A full refresh writes every fact row (fact_sync was off during the load); the match
    # indexes are built once afterwards.
    with indexes_dropped(conn, "parcel_fact"):
        refresh_facts(conn)
    if progress:
        progress("facts", 1, 1)
    stage_done("facts")
    return SeedReport(
        parcels=n,
        zones=len(demo_zones),
        policies=len(policies),
        facilities=n_fac,
        constraints=len(CONSTRAINTS),
        admin_divisions=n_admin,
        timings=timings,
    )


def reset(conn: Connection) -> None:
    """Remove the inventory and demo layers (keeps users, vocabularies and admin divisions)."""
    reset_monitoring(conn)
    conn.execute(
        text(
            "TRUNCATE landmatch.reservation, landmatch.match_run, landmatch.parcel_fact, "
            "landmatch.parcel_version, landmatch.parcel, landmatch.import_batch, "
            "landmatch.zone_assessment, landmatch.policy, landmatch.constraint_area, "
            "landmatch.constraint_coverage, "
            "landmatch.facility, landmatch.layer_version RESTART IDENTITY CASCADE"
        )
    )
    conn.execute(
        text(
            "UPDATE landmatch.app_user SET zone_id = NULL WHERE zone_id IS NOT NULL "
            "AND role <> 'zone'"
        )
    )
    conn.execute(
        text(
            "DELETE FROM landmatch.dev_zone WHERE id NOT IN "
            "(SELECT zone_id FROM landmatch.app_user WHERE zone_id IS NOT NULL)"
        )
    )
