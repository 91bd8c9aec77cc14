"""What a parcel card, a brochure and the map pages show about one parcel or the map's context:
the parcel's own (visible) fields, its zone with completed regional assessments, the policies
that apply, a contact, and — for staff only — reservations and data-quality flags.

Visibility follows :mod:`landmatch.db.parcels`: the public gets the public columns of public
ready parcels, nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import industry_codes, vocab
from landmatch.db.geometry import geojson_sql
from landmatch.db.membership import zone_label
from landmatch.db.parcels import PUBLIC_WHERE, get_parcel
from landmatch.db.values import json_row
from landmatch.errors import NotFound
from landmatch.geo.measure import M2_PER_MU
from landmatch.policies.applicability import Site
from landmatch.policies.library import applicable_to_site
from landmatch.viewer import Viewer
from landmatch.zones.assessments import valid_assessments

POLICY_FIELDS = (
    "code",
    "title",
    "issuer",
    "doc_no",
    "valid_until",
    "scope_level",
    "benefit_kind",
    "benefit_rate",
    "benefit_cap_wan",
    "benefit_amount_wan",
    "summary",
    "industries",
)


def zone_of(
    session: Session, zone_code: str | None, today: dt.date, share: float | None = None
) -> dict[str, Any] | None:
    """The zone the parcel is in (``parcel.zone_id``, :mod:`landmatch.db.membership`) with its
    completed, still valid regional assessments and its public contact; ``share`` is the share
    of the parcel's area inside it, shown where it is partial (``label``)."""
    if not zone_code:
        return None
    row = session.execute(
        text(
            "SELECT id, code, name, level, kind, leading_industries, contact_name, contact_phone "
            "FROM landmatch.dev_zone WHERE code = :c"
        ),
        {"c": zone_code},
    ).first()
    if row is None:
        return None
    zone = json_row(row)
    zid = zone.pop("id")
    zone["level_label"] = vocab.label(vocab.ZONE_LEVELS, zone["level"])
    zone["share"] = None if share is None else float(share)
    zone["label"] = zone_label(zone["name"], share)
    zone["industries"] = [
        {"code": c, "name": industry_codes.name(c)} for c in zone.pop("leading_industries") or []
    ]
    zone["assessments"] = [
        json_row({k: a[k] for k in ("kind", "name", "approved_on", "valid_until", "doc_no")})
        | {"label": vocab.label(vocab.ASSESSMENTS, a["kind"])}
        for a in valid_assessments(session, zid, today)
    ]
    return zone


def policies_for(
    session: Session,
    parcel: dict[str, Any],
    zone: dict[str, Any] | None,
    principal: Viewer,
    today: dt.date,
) -> list[dict[str, Any]]:
    """The policies that apply to the parcel (no project yet: any industry), by the match's
    rule (:mod:`landmatch.policies.applicability`), as the caller may see them; each with the
    value the parcel alone gives it where it does (``value_wan``, its formula and the
    conditions a project must meet: :func:`landmatch.match.policy_values.parcel_estimate`)."""
    from landmatch.match.policy_values import parcel_estimate

    price = parcel.get("ref_price_wan_per_mu")
    area_mu = (parcel.get("area_m2") or 0.0) / M2_PER_MU
    site = Site(
        parcel["city_code"],
        county=parcel.get("county_code"),
        zone_code=zone["code"] if zone else None,
        zone_level=zone["level"] if zone else None,
        status=parcel.get("status"),
        land_use=parcel.get("land_use"),
    )
    out = []
    for pol, r in applicable_to_site(session, site, today, public=principal.is_public):
        item = {k: r.get(k) for k in POLICY_FIELDS}
        est = parcel_estimate(pol, None if price is None else float(price), area_mu)
        out.append(
            item
            | {
                "benefit_label": r["benefit_label"],
                "scope_label": r["scope_label"],
                "value_wan": est.value_wan,
                "value_formula": est.formula,
                "value_conditions": list(est.conditions),
            }
        )
    return out


def _utilities(p: dict[str, Any], stale_before: dt.date) -> list[dict[str, Any]]:
    spec = [
        ("power", "供电", p.get("power_kva"), "kVA", p.get("power_as_of")),
        ("water", "供水", p.get("water_m3d"), "m³/日", p.get("water_as_of")),
        ("sewage", "排水", p.get("sewage_m3d"), "m³/日", p.get("sewage_as_of")),
        ("gas", "燃气", p.get("gas_m3d"), "m³/日", p.get("gas_as_of")),
        ("heat", "供热", p.get("heat_mw"), "MW", p.get("heat_as_of")),
    ]
    out = []
    for key, label, value, unit, as_of in spec:
        out.append(
            {
                "key": key,
                "label": label,
                "value": value,
                "unit": unit,
                "as_of": as_of,
                "stale": bool(as_of and dt.date.fromisoformat(as_of) < stale_before),
            }
        )
    tel = [t for t, on in (("5G", p.get("telecom_5g")), ("光纤", p.get("fibre"))) if on]
    out.append(
        {
            "key": "telecom",
            "label": "通信",
            "value": "、".join(tel) if tel else None,
            "unit": "",
            "as_of": p.get("telecom_as_of"),
            "stale": bool(
                p.get("telecom_as_of") and dt.date.fromisoformat(p["telecom_as_of"]) < stale_before
            ),
        }
    )
    return out


def _qa_flags(p: dict[str, Any], utilities: list[dict[str, Any]]) -> list[str]:
    """Data-quality flags staff should see (never shown to the public)."""
    flags = []
    if p.get("land_use") == vocab.LAND_USE_PENDING:
        flags.append("用途待定：补充用途后才能公开")
    declared, area = p.get("declared_area_m2"), p.get("area_m2")
    if declared and area and abs(declared - area) / area > 0.05:
        flags.append(f"申报面积与实测面积相差 {abs(declared - area) / area:.0%}")
    stale = [u["label"] for u in utilities if u["stale"]]
    if stale:
        flags.append("配套数据过期：" + "、".join(stale))
    unknown = [u["label"] for u in utilities if u["value"] is None]
    if unknown:
        flags.append("配套容量未知：" + "、".join(unknown))
    if p.get("status") == "ready":
        missing = [
            vocab.READY_CHECKLIST[k]
            for k in vocab.READY_CHECKLIST
            if k not in (p.get("checklist") or [])
        ]
        if missing:
            flags.append("熟地核查未完成：" + "、".join(missing))
    return flags


def _reservation(session: Session, code: str, principal: Viewer) -> dict[str, Any] | None:
    """The parcel's active hold: in full for the holding team and admins; for others that
    the parcel is held and until when (``landmatch.match.ownership``)."""
    row = session.execute(
        text(
            "SELECT r.reserved_by, r.owner_team, r.until, r.note, r.created_at, "
            "pr.name AS project "
            "FROM landmatch.reservation r JOIN landmatch.parcel p ON p.id = r.parcel_id "
            "JOIN landmatch.project pr ON pr.id = r.project_id "
            "WHERE p.code = :c AND r.released_at IS NULL"
        ),
        {"c": code},
    ).first()
    if row is None:
        return None
    held = json_row(row)
    if principal.owns(held.pop("owner_team")):
        return held | {"own": True}
    return {"until": held["until"], "own": False}


def parcel_card(
    session: Session,
    code: str,
    principal: Viewer,
    *,
    stale_after_days: int,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Everything the parcel card and the brochure show, filtered by who is asking.

    Raises NotFound for a parcel the caller may not see (the public sees public ready land only).
    """
    today = today or dt.date.today()
    feature = get_parcel(session, code, principal)
    p = feature["properties"]
    utilities = _utilities(p, today - dt.timedelta(days=stale_after_days))
    zone = zone_of(session, p.get("zone_code"), today, p.get("zone_share"))
    card: dict[str, Any] = {
        "parcel": p,
        "geometry": feature["geometry"],
        "labels": {
            "status": vocab.label(vocab.PARCEL_STATUS, p.get("status")),
            "land_use": vocab.label(vocab.PARCEL_LAND_USE, p.get("land_use")),
            "compatible_uses": [
                vocab.label(vocab.LAND_USE, c) for c in p.get("compatible_uses") or []
            ],
            "supply_modes": [
                vocab.label(vocab.SUPPLY_MODES, m) for m in p.get("supply_modes") or []
            ],
            "readiness": [vocab.label(vocab.READINESS, r) for r in p.get("readiness") or []],
        },
        "utilities": utilities,
        "zone": zone,
        "policies": policies_for(session, p, zone, principal, today),
        "contact": (
            {"name": zone["contact_name"], "phone": zone["contact_phone"], "source": "zone"}
            if zone and zone.get("contact_name")
            else {
                "name": f"{p.get('city_name') or ''}自然资源和规划局",
                "phone": None,
                "source": "city",
            }
        ),
        "brochure_url": f"/parcels/{quote(code, safe='')}/brochure",
    }
    if not principal.is_public:
        card["internal"] = {
            "visibility": p.get("visibility"),
            "reserve_price_wan_per_mu": p.get("reserve_price_wan_per_mu"),
            "parcel_contact": {"name": p.get("contact_name"), "phone": p.get("contact_phone")},
            "holder": p.get("holder"),
            "notes": p.get("notes"),
            "reservation": _reservation(session, code, principal),
            "qa_flags": _qa_flags(p, utilities),
            "history_url": f"/api/parcels/{quote(code, safe='')}/history",
        }
    return json.loads(json.dumps(card, default=str))


def extract_shapes(
    session: Session, code: str, principal: Viewer, margin_ratio: float = 0.6
) -> dict[str, Any]:
    """Geometries for a brochure's map extract: the parcel, its (visible) neighbours and the
    zone boundary, each as GeoJSON in CGCS2000, within a box around the parcel."""
    where = PUBLIC_WHERE if principal.is_public else "p.deleted_at IS NULL"
    box = session.execute(
        text(
            f"SELECT ST_XMin(p.geom), ST_YMin(p.geom), ST_XMax(p.geom), ST_YMax(p.geom), p.zone_id "
            f"FROM landmatch.parcel p WHERE p.code = :c AND {where}"
        ),
        {"c": code},
    ).first()
    if box is None:
        raise NotFound(f"未找到地块 {code}")
    x0, y0, x1, y1, zone_id = box
    dx, dy = max(x1 - x0, 0.002), max(y1 - y0, 0.002)
    half = max(dx, dy) * (0.5 + margin_ratio)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    env = {"a": cx - half, "b": cy - half, "c2": cx + half, "d": cy + half}
    envelope = "ST_MakeEnvelope(:a, :b, :c2, :d, 4490)"
    neighbours = session.execute(
        text(
            f"SELECT p.code, {geojson_sql(f'ST_Intersection(p.geom, {envelope})', 7)} "
            "FROM landmatch.parcel p "
            f"WHERE p.geom && {envelope} AND p.code <> :c AND {where} LIMIT 400"
        ),
        env | {"c": code},
    ).all()
    zone = None
    if zone_id is not None:
        zone = session.execute(
            text(
                f"SELECT {geojson_sql(f'ST_Boundary(ST_Intersection(geom, {envelope}))', 7)} "
                "FROM landmatch.dev_zone WHERE id = :z"
            ),
            env | {"z": zone_id},
        ).scalar()
    parcel = session.execute(
        text(f"SELECT {geojson_sql('geom', 7)} FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    return {
        "bbox": [env["a"], env["b"], env["c2"], env["d"]],
        "parcel": json.loads(parcel),
        "neighbours": [json.loads(g) for _c, g in neighbours if g],
        "zone": json.loads(zone) if zone else None,
    }
