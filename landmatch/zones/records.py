"""Development-zone records: list, show, create, edit, boundary import, delete."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db.engine import audited
from landmatch.db.geometry import geojson_sql
from landmatch.db.locking import check_version, lock_row, read_row, require_if_match
from landmatch.db.lookups import unknown_industries
from landmatch.db.membership import release_zone
from landmatch.errors import Conflict, Forbidden, ServiceUnavailable, UnprocessableInput
from landmatch.geo.measure import M2_PER_HA
from landmatch.reflayers import facts
from landmatch.reflayers.files import polygon_for_storage, read_features
from landmatch.reflayers.scope import cities_reached, place_label, territory_sql
from landmatch.zones.assessments import visible_assessments

# A zone's contact is its public investment-promotion desk (招商服务), shown to investors on the
# map card; parcel-level contacts stay internal.
PUBLIC_FIELDS = (
    "code",
    "name",
    "city_code",
    "level",
    "kind",
    "leading_industries",
    "area_m2",
    "contact_name",
    "contact_phone",
)
INTERNAL_FIELDS = ("id", "approximate", "source", "version", "updated_at")
# What a zone committee may change on its own record; level, kind, city and code are
# designations made above it (admin / bureau).
ZONE_EDITABLE = frozenset({"name", "leading_industries", "contact_name", "contact_phone", "source"})
EDITABLE = ZONE_EDITABLE | {"level", "kind", "city_code"}
# Overlaps smaller than this (m²) are slivers from digitising shared edges, not overlaps.
OVERLAP_TOLERANCE_M2 = 1.0
#: pg_advisory_xact_lock key: one transaction at a time writes a zone's boundary (creates a zone
#: or reshapes one), from the overlap check to its commit. The check reads the committed zones
#: only; without this lock two boundaries written at once over the same ground would each pass
#: it and both be stored. One key for the whole zone layer: such writes are rare. Taken before
#: any zone row lock (:func:`lock_zone`), so that the order is always this lock, then the row.
ZONE_GEOMETRY_LOCK = 0x1A4D_20E5
# A zone lies within its city's territory (``landmatch.reflayers.scope.territory_sql``): its
# parcels, its committee's write scope and its policies stay in that city. Parts may stray
# outside by at most this distance (metres, on the ellipsoid): the stored division boundaries
# are simplified (Douglas–Peucker, 30 m), so a boundary digitised along the real city limit
# crosses the stored one by up to tens of metres along the whole shared edge. A distance
# allows that however long the edge is, where an area would have to (30 m along 1.2 km of
# city limit is already 3.6 公顷) and would then admit a compact block of that size anywhere
# across it. 50 m, as parcels are located (``landmatch.inventory.validate.Regions``).
CITY_TOLERANCE_M = 50.0
# Less than this (m²) beyond the tolerance is the buffer's own rounding (its arcs are chords).
CITY_NOISE_M2 = 1.0
# The window around each outside part (degrees, ≫ CITY_TOLERANCE_M) in which the city's
# territory is buffered: a clip that keeps the buffer small, never a measure.
_CITY_WINDOW_DEG = 0.01


_ROW_SQL = f"SELECT {', '.join(PUBLIC_FIELDS + INTERNAL_FIELDS)} FROM landmatch.dev_zone"


def get_zone_row(session: Session, code: str) -> dict[str, Any]:
    return read_row(session, _ROW_SQL + " WHERE code = :c", {"c": code}, f"未找到开发区 {code}")


def lock_zone(
    session: Session, code: str, if_match: str | None, action: str = "修改"
) -> dict[str, Any]:
    """The zone's row, locked for a write (its own, its boundary's or an assessment's) against
    the version ``if_match`` names (428 without it, 412 when another write came first)."""
    require_if_match(if_match, f"{action}开发区")
    zone = lock_row(session, _ROW_SQL + " WHERE code = :c", {"c": code}, f"未找到开发区 {code}")
    check_version(if_match, code, zone["version"], what="开发区", action=action)
    return zone


def _view(
    session: Session, row: dict[str, Any], principal: Principal, as_of: dt.date, geometry: bool
) -> dict[str, Any]:
    fields = PUBLIC_FIELDS if principal.is_public else PUBLIC_FIELDS + INTERNAL_FIELDS
    out = {k: row[k] for k in fields}
    out["area_mu"] = round(row["area_m2"] * 15 / 10000, 2) if row["area_m2"] else None
    out["area_ha"] = round(row["area_m2"] / 10000, 4) if row["area_m2"] else None
    out["level_label"] = vocab.label(vocab.ZONE_LEVELS, row["level"])
    out["assessments"] = visible_assessments(session, principal, row["id"], as_of)
    if not principal.is_public:
        out["can_edit"] = principal.can_edit_zone(row["id"], row["city_code"])
    out["assessments_valid_kinds"] = sorted(
        {a["kind"] for a in out["assessments"] if a.get("valid", True)}
    )
    if geometry:
        out["geometry"] = json.loads(
            session.execute(
                text(f"SELECT {geojson_sql('geom', 7)} FROM landmatch.dev_zone WHERE id = :i"),
                {"i": row["id"]},
            ).scalar_one()
        )
    return out


def list_zones(
    session: Session,
    principal: Principal,
    *,
    city: str | None = None,
    industry: str | None = None,
    as_of: dt.date | None = None,
) -> list[dict[str, Any]]:
    where, params = ["true"], {}
    if city:
        where.append("city_code = :city")
        params["city"] = city
    if industry:
        where.append(
            "EXISTS (SELECT 1 FROM unnest(leading_industries) i "
            "WHERE i LIKE :ind || '%' OR :ind LIKE i || '%')"
        )
        params["ind"] = industry
    rows = session.execute(
        text(
            f"SELECT {', '.join(PUBLIC_FIELDS + INTERNAL_FIELDS)} FROM landmatch.dev_zone "
            f"WHERE {' AND '.join(where)} ORDER BY code"
        ),
        params,
    ).mappings()
    day = as_of or beijing_today()
    return [_view(session, dict(r), principal, day, geometry=False) for r in rows]


def show_zone(
    session: Session, principal: Principal, code: str, as_of: dt.date | None = None
) -> dict[str, Any]:
    return _view(
        session, get_zone_row(session, code), principal, as_of or beijing_today(), geometry=True
    )


def _check_fields(session: Session, values: dict[str, Any]) -> None:
    def bad(field: str, reason: str) -> UnprocessableInput:
        return UnprocessableInput(f"{field}：{reason}", detail=[{"field": field, "reason": reason}])

    if "level" in values and values["level"] not in vocab.ZONE_LEVELS:
        raise bad("level", f"取值应为 {', '.join(vocab.ZONE_LEVELS)}")
    if "kind" in values and values["kind"] not in vocab.ZONE_KINDS:
        raise bad("kind", f"取值应为 {', '.join(vocab.ZONE_KINDS)}")
    if "city_code" in values and values["city_code"] not in vocab.CITIES:
        raise bad("city_code", vocab.unknown_city(values["city_code"]))
    if "leading_industries" in values:
        unknown = unknown_industries(session, values["leading_industries"] or [])
        if unknown:
            raise bad(
                "leading_industries", f"未知国民经济行业代码（GB/T 4754）：{', '.join(unknown)}"
            )


def _lock_zone_geometry(session: Session) -> None:
    """Wait for any other zone boundary write to commit (:data:`ZONE_GEOMETRY_LOCK`); held
    until this transaction ends."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ZONE_GEOMETRY_LOCK})


def _check_overlap(session: Session, geom: BaseGeometry, zone_id: int | None) -> None:
    """Refuse a boundary that overlaps another zone's; call it under
    :func:`_lock_zone_geometry`."""
    hits = session.execute(
        text(
            "SELECT code, name, round(ST_Area(ST_Intersection(geom, g)::geography)::numeric, 1) "
            "FROM landmatch.dev_zone, ST_GeomFromWKB(:g, 4490) AS g "
            "WHERE ST_Intersects(geom, g) AND id IS DISTINCT FROM :id "
            "AND ST_Area(ST_Intersection(geom, g)::geography) > :tol"
        ),
        {"g": shapely.to_wkb(geom), "id": zone_id, "tol": OVERLAP_TOLERANCE_M2},
    ).all()
    if hits:
        names = "、".join(f"{c}（{n}，重叠 {a} 平方米）" for c, n, a in hits)
        raise UnprocessableInput(
            f"开发区边界与其他开发区重叠：{names}",
            detail=[
                {"field": "geometry", "reason": "与其他开发区重叠", "zones": [h[0] for h in hits]}
            ],
        )


# How much of a boundary (WKB :g) lies outside the territory of city :city, and how much of
# that further than :tol metres from it (each outside part against the territory buffered on
# the ellipsoid, within a window around that part); ``beyond`` is that farther part.
_OUTSIDE_CITY_SQL = f"""
WITH z AS (SELECT ST_GeomFromWKB(:g, 4490) AS g),
c AS MATERIALIZED (
  SELECT {territory_sql("a")} AS t FROM landmatch.admin_division a WHERE a.code = :city
),
o AS MATERIALIZED (
  SELECT CASE WHEN ST_CoveredBy(z.g, c.t) THEN NULL
         ELSE ST_CollectionExtract(ST_Difference(z.g, c.t), 3) END AS g
  FROM z, c
),
beyond AS MATERIALIZED (
  SELECT CASE WHEN ST_Intersects(c.t, ST_Expand(d.geom, :window))
         THEN ST_Difference(d.geom, ST_SetSRID(ST_Buffer(
                ST_Intersection(c.t, ST_Expand(d.geom, :window))::geography, :tol)::geometry, 4490))
         ELSE d.geom END AS g
  FROM o CROSS JOIN LATERAL ST_Dump(o.g) d, c
)
SELECT EXISTS (SELECT 1 FROM c) AS known,
       coalesce((SELECT ST_Area(o.g::geography) FROM o), 0) AS outside_m2,
       coalesce((SELECT sum(ST_Area(b.g::geography)) FROM beyond b), 0) AS beyond_m2,
       (SELECT ST_AsBinary(ST_Collect(b.g)) FROM beyond b WHERE NOT ST_IsEmpty(b.g)) AS beyond
"""


def _area_text(m2: float) -> str:
    return f"{m2 / M2_PER_HA:,.4f} 公顷（{m2:,.1f} 平方米）"


def outside_city(session: Session, geom: BaseGeometry | bytes, city_code: str) -> str | None:
    """Why ``geom`` cannot be the boundary of a zone of ``city_code`` — more than
    :data:`CITY_TOLERANCE_M` outside the city's territory — in Chinese, naming how much lies
    outside and the cities it reaches into; None when it lies within."""
    wkb = geom if isinstance(geom, bytes) else shapely.to_wkb(geom)
    row = (
        session.execute(
            text(_OUTSIDE_CITY_SQL),
            {"g": wkb, "city": city_code, "tol": CITY_TOLERANCE_M, "window": _CITY_WINDOW_DEG},
        )
        .mappings()
        .one()
    )
    if not row["known"]:
        raise ServiceUnavailable(
            f"行政区划图层中没有{place_label(city_code)}的边界，无法核对开发区边界是否位于市域内；"
            "请先运行 landmatch seed（或 ./scripts/up）加载参考图层"
        )
    beyond_m2 = float(row["beyond_m2"])
    if beyond_m2 <= CITY_NOISE_M2:
        return None
    outside_m2 = float(row["outside_m2"])
    city = place_label(city_code)
    reason = f"开发区边界有 {_area_text(outside_m2)}位于{city}范围以外"
    if outside_m2 - beyond_m2 > CITY_NOISE_M2:
        reason += f"，其中 {_area_text(beyond_m2)}超出市界 {CITY_TOLERANCE_M:g} 米以上"
    beyond = [] if row["beyond"] is None else [shapely.from_wkb(bytes(row["beyond"]))]
    others = [
        c for c in (cities_reached(session.connection(), beyond) or [[]])[0] if c != city_code
    ]
    if others:
        reason += f"（伸入{'、'.join(place_label(c) for c in others)}）"
    return (
        reason
        + f"；开发区边界须位于所属城市（{city}）范围内，沿市界允许偏出不超过 {CITY_TOLERANCE_M:g} 米"
    )


def _check_in_city(
    session: Session, geom: BaseGeometry | bytes, city_code: str, field: str = "geometry"
) -> None:
    """Refuse a zone boundary lying outside its city (:func:`outside_city`), whoever writes."""
    reason = outside_city(session, geom, city_code)
    if reason is not None:
        raise UnprocessableInput(reason, detail=[{"field": field, "reason": reason}])


def boundary_from_geojson(geometry: dict[str, Any]) -> tuple[BaseGeometry, list[str]]:
    try:
        geom = shape(geometry)
    except Exception:  # noqa: BLE001 - any parse failure is the caller's input
        raise UnprocessableInput(
            "geometry 不是有效的 GeoJSON 几何", detail=[{"field": "geometry", "reason": "无法解析"}]
        ) from None
    return polygon_for_storage(geom, 0)


def boundary_from_file(
    data: bytes, filename: str, crs: str | None = None
) -> tuple[BaseGeometry, list[str]]:
    """All polygons of the file, checked like parcels and dissolved into one boundary."""
    gdf = read_features(data, filename, crs)
    parts, warnings = [], []
    for i, g in enumerate(gdf.geometry):
        fixed, w = polygon_for_storage(g, i)
        parts.append(fixed)
        warnings += w
    merged, w = (
        polygon_for_storage(shapely.union_all(parts), 0) if len(parts) > 1 else (parts[0], [])
    )
    return merged, warnings + w


def _refresh_zone_facts(
    session: Session, old_wkb: bytes | None, new_wkb: bytes | None
) -> dict[str, Any]:
    conn = session.connection()
    ids = sorted(facts.parcels_in_area(conn, [old_wkb, new_wkb]))
    before = facts.snapshot(conn, ids)
    impl = facts.refresh(conn, ids)
    after = facts.snapshot(conn, ids)
    moved = [i for i in ids if before.get(i, {}).get("zone_id") != after.get(i, {}).get("zone_id")]
    return {"affected_parcels": len(ids), "zone_changed": len(moved), "refreshed_by": impl}


def create_zone(
    session: Session, principal: Principal, values: dict[str, Any], geometry: BaseGeometry
) -> dict[str, Any]:
    principal.require("admin", "bureau")
    if not principal.can_edit_city(values.get("city_code", "")):
        raise Forbidden("只能在本市范围内新建开发区")
    _check_fields(session, values)
    if session.execute(
        text("SELECT 1 FROM landmatch.dev_zone WHERE code = :c"), {"c": values["code"]}
    ).first():
        raise Conflict(f"开发区编码 {values['code']} 已存在")
    _check_in_city(session, geometry, values["city_code"])
    _lock_zone_geometry(session)
    _check_overlap(session, geometry, None)
    cols = ["code", *sorted(EDITABLE)]
    params = {c: values.get(c) for c in cols} | {"g": shapely.to_wkb(geometry)}
    params["leading_industries"] = params["leading_industries"] or []
    with audited(session, principal.actor, "新建开发区"):
        session.execute(
            text(
                f"INSERT INTO landmatch.dev_zone ({', '.join(cols)}, geom) VALUES "
                f"({', '.join(':' + c for c in cols)}, ST_Multi(ST_GeomFromWKB(:g, 4490)))"
            ),
            params,
        )
        report = _refresh_zone_facts(session, None, params["g"])
    return show_zone(session, principal, values["code"]) | {"facts": report}


def update_zone(
    session: Session,
    principal: Principal,
    code: str,
    changes: dict[str, Any],
    geometry: BaseGeometry | None = None,
    reason: str | None = None,
    *,
    if_match: str | None,
) -> dict[str, Any]:
    if geometry is not None:
        _lock_zone_geometry(session)  # before the zone's row (the order in ZONE_GEOMETRY_LOCK)
    zone = lock_zone(session, code, if_match)
    principal.require_zone(zone["id"], zone["city_code"])
    allowed = ZONE_EDITABLE if principal.role == "zone" else EDITABLE
    refused = sorted(set(changes) - allowed)
    if refused:
        raise Forbidden(
            f"当前账号不能修改字段：{', '.join(refused)}",
            detail=[{"field": f, "reason": "无权修改"} for f in refused],
        )
    _check_fields(session, changes)
    if "city_code" in changes and not principal.can_edit_city(changes["city_code"]):
        raise Forbidden("不能把开发区划到本账号范围以外的城市")
    sets = [f"{c} = :{c}" for c in changes]
    params: dict[str, Any] = dict(changes) | {"id": zone["id"]}
    city = changes.get("city_code", zone["city_code"])
    # A new boundary, or a new city: the zone lies in its city, and its parcels' membership
    # (a parcel is only in a zone of its own city) is settled again.
    moved = geometry is not None or city != zone["city_code"]
    old_wkb = new_wkb = None
    if moved:
        old_wkb = bytes(
            session.execute(
                text("SELECT ST_AsBinary(geom) FROM landmatch.dev_zone WHERE id = :i"),
                {"i": zone["id"]},
            ).scalar_one()
        )
        new_wkb = old_wkb if geometry is None else shapely.to_wkb(geometry)
        _check_in_city(session, new_wkb, city, "geometry" if geometry is not None else "city_code")
    if geometry is not None:
        _check_overlap(session, geometry, zone["id"])
        sets.append("geom = ST_Multi(ST_GeomFromWKB(:g, 4490))")
        params["g"] = new_wkb
    if not sets:
        return show_zone(session, principal, code)
    report = None
    with audited(session, principal.actor, reason or "修改开发区"):
        session.execute(
            text(
                f"UPDATE landmatch.dev_zone SET {', '.join(sets)}, version = version + 1, "
                "updated_at = now() WHERE id = :id"
            ),
            params,
        )
        if moved:
            report = _refresh_zone_facts(session, old_wkb, new_wkb)
    out = show_zone(session, principal, code)
    if report:
        out["facts"] = report
    return out


def delete_zone(session: Session, principal: Principal, code: str, *, if_match: str | None) -> None:
    zone = lock_zone(session, code, if_match, "删除")
    principal.require("admin", "bureau")
    if not principal.can_edit_zone(zone["id"], zone["city_code"]):
        raise Forbidden("只能删除本市的开发区")
    users = session.execute(
        text("SELECT count(*) FROM landmatch.app_user WHERE zone_id = :i"), {"i": zone["id"]}
    ).scalar()
    if users:
        raise Conflict(f"开发区 {code} 仍有 {users} 个管委会账号，请先停用或改派")
    old_wkb = bytes(
        session.execute(
            text("SELECT ST_AsBinary(geom) FROM landmatch.dev_zone WHERE id = :i"),
            {"i": zone["id"]},
        ).scalar_one()
    )
    with audited(session, principal.actor, "删除开发区"):
        release_zone(session.connection(), zone["id"])
        session.execute(text("DELETE FROM landmatch.dev_zone WHERE id = :i"), {"i": zone["id"]})
        _refresh_zone_facts(session, old_wkb, None)


def zone_history(session: Session, principal: Principal, code: str) -> list[dict[str, Any]]:
    zone = get_zone_row(session, code)
    principal.require("admin", "bureau", "zone", "promoter")
    rows = session.execute(
        text(
            "SELECT layer, record_id, op, actor, reason, at, row - 'geom' AS row "
            "FROM landmatch.layer_version WHERE (layer = 'dev_zone' AND record_id = :i) "
            "OR (layer = 'zone_assessment' AND (row ->> 'zone_id')::int = :i) ORDER BY at, id"
        ),
        {"i": zone["id"]},
    ).mappings()
    return [dict(r) for r in rows]
