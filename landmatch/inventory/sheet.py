"""One parcel as staff read and edit it: every field in its group with its Chinese label, unit
and vocabulary label (the field table, ``landmatch.inventory.fields``), what lies around it
(neighbours, zone, constraint areas, distances to facilities) and its QA flags.

Also the edit form's two directions: a stored value as form text (:func:`form_value`) and the
submitted form back to the changed fields (:func:`changed_props`), which the edit service
(``landmatch.inventory.edits``) validates like any API edit. Areas are entered in 亩.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.confidential import CONFIDENTIAL_FIELDS, WITHHELD, may_read
from landmatch.dates import beijing_today
from landmatch.db.cards import reservation_of
from landmatch.db.geometry import geojson_sql
from landmatch.db.parcels import get_parcel
from landmatch.errors import Forbidden
from landmatch.geo.measure import M2_PER_HA, M2_PER_MU
from landmatch.inventory.cards import zone_of
from landmatch.inventory.fields import BY_NAME, GROUPS, split_label
from landmatch.inventory.listing import own_city, zone_city
from landmatch.inventory.qa import FLAG_TITLES, flag_params, flag_sql
from landmatch.numbers import mu

# Fixed by the location or derived: shown, never typed.
READ_ONLY = ("code", "city_code", "zone_code")
EDITABLE: tuple[str, ...] = tuple(n for _, names in GROUPS for n in names if n not in READ_ONLY)
# The declared area is typed in 亩 (the form field is declared_area_mu).
AREA_FIELD = "declared_area_m2"
AREA_FORM = "declared_area_mu"
DISTANCES = (
    ("dist_port_km", "港口"),
    ("dist_airport_km", "机场"),
    ("dist_rail_freight_km", "铁路货运站"),
    ("dist_highway_interchange_km", "高速互通"),
    ("dist_logistics_hub_km", "物流枢纽"),
    ("dist_cold_chain_km", "冷链物流基地"),
    ("dist_bonded_zone_km", "综合保税区"),
    ("dist_substation_km", "变电站"),
)
NEIGHBOUR_LIMIT = 300


def require_view(principal: Principal, city_code: str, zone_id: int | None) -> None:
    """A city bureau reads its city's parcels here, a zone committee its zone's; admins and
    promoters every parcel (the same scope as the list, ``listing.scoped``)."""
    principal.require("admin", "bureau", "zone", "promoter")
    city = own_city(principal)
    if city is not None and city_code != city:
        raise Forbidden("无权查看该地块：超出本账号的城市范围")
    if principal.role == "zone" and (principal.zone_id is None or zone_id != principal.zone_id):
        raise Forbidden("无权查看该地块：开发区账号只能查看本开发区的地块")


def may_edit(session: Session, principal: Principal, city_code: str, zone_id: int | None) -> bool:
    """Whether the pages offer to edit the parcel: the rule its writes check (the zone
    committee's with its zone's city, :func:`landmatch.inventory.listing.zone_city`)."""
    return principal.role in ("admin", "bureau", "zone") and principal.can_edit_parcel(
        city_code, zone_id, zone_city(session, principal)
    )


def _number(v: Any) -> str:
    d = Decimal(str(v))
    if d == d.to_integral_value():
        return f"{int(d):,}"
    return f"{d.normalize():,f}"


def display(name: str, value: Any) -> str:
    """A stored value as staff read it: labels for codes, 是/否, thousands separators; the
    declared area in 亩 with m²; empty values as —."""
    if value is None or value == [] or value == "":
        return "—"
    f = BY_NAME[name]
    if name == AREA_FIELD:
        return f"{mu(float(value) / M2_PER_MU, fixed=True)} 亩（{float(value):,.1f} 平方米）"
    if f.kind == "code" and f.vocab is not None:
        return f.vocab.get(value, value)
    if f.kind == "list":
        return "、".join(f.vocab.get(v, v) if f.vocab else v for v in value)
    if f.kind == "bool":
        return "是" if value else "否"
    if f.kind in ("num", "int"):
        return _number(value)
    return str(value)


def form_value(name: str, value: Any) -> str | list[str]:
    """A stored value as the edit form shows it (lists as their codes); the declared area in
    亩 (2 decimals of a 亩 ≈ 6.7 m²; :func:`changed_props` keeps the stored value when the
    shown one is sent back unchanged)."""
    f = BY_NAME[name]
    if f.kind == "list":
        return list(value or [])
    if value is None:
        return ""
    if name == AREA_FIELD:
        return f"{float(value) / M2_PER_MU:.2f}"
    if f.kind == "bool":
        return "true" if value else "false"
    if f.kind in ("num", "int"):
        d = Decimal(str(value))
        return format(d.normalize(), "f") if d != d.to_integral_value() else str(int(d))
    return str(value)


def _same(name: str, a: str | list[str], b: str | list[str]) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return sorted(a) == sorted(b)
    if BY_NAME[name].kind in ("num", "int"):
        try:
            return Decimal(a.strip().replace(",", "")) == Decimal(b.strip().replace(",", ""))
        except InvalidOperation:
            return a.strip() == b.strip()
    return a.strip() == b.strip()


def submitted(form: Mapping[str, Sequence[str]]) -> dict[str, str | list[str]]:
    """The edit form's fields as sent (a list field's checked codes; the area in 亩)."""
    out: dict[str, str | list[str]] = {}
    for name in EDITABLE:
        key = AREA_FORM if name == AREA_FIELD else name
        if key not in form and f"{key}__present" not in form:
            continue
        values = list(form.get(key, []))
        out[name] = values if BY_NAME[name].kind == "list" else (values[0] if values else "")
    return out


def changed_props(sent: Mapping[str, str | list[str]], stored: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose sent value differs from ``stored`` (the state the form was made from),
    as the edit service takes them: text for it to validate, lists as codes, '' to clear, the
    area converted from 亩 to m²."""
    out: dict[str, Any] = {}
    for name, value in sent.items():
        if _same(name, value, form_value(name, stored.get(name))):
            continue
        if name == AREA_FIELD and isinstance(value, str) and value.strip():
            try:
                out[name] = float(Decimal(value.strip().replace(",", ""))) * M2_PER_MU
            except InvalidOperation:
                out[name] = value  # the service names the problem (in_form_units: in 亩)
            continue
        out[name] = value if isinstance(value, list) else (value.strip() or None)
    return out


def _in_mu(m2: float | None) -> float | None:
    return None if m2 is None else m2 / M2_PER_MU


def in_form_units(errors: Mapping[str, str], sent: Mapping[str, Any]) -> dict[str, str]:
    """The service's refusals by field as the edit form says them: the declared area is
    stored in m² but typed in 亩, so its refusal (the service's verdict) is said in 亩."""
    out = dict(errors)
    if AREA_FIELD not in out:
        return out
    typed = str(sent.get(AREA_FIELD) or "").strip()
    try:
        Decimal(typed.replace(",", ""))
    except InvalidOperation:
        out[AREA_FIELD] = f"申报面积（亩）：“{typed[:40]}”不是数字"
        return out
    f = BY_NAME[AREA_FIELD]
    lo, hi = _in_mu(f.lo), _in_mu(f.hi)
    out[AREA_FIELD] = f"申报面积应在 {mu(lo)}–{mu(hi)} 亩之间（填写的是“{typed[:40]}”）"
    return out


def field_rows(
    props: Mapping[str, Any],
    code_names: Mapping[str, str] | None = None,
    withheld: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Every field grouped as staff think of them, with label, unit and shown value
    (``code_names``: names of codes outside the vocabularies, e.g. county codes;
    ``withheld``: the fields the reader may not read, shown as
    :data:`landmatch.confidential.WITHHELD`)."""
    groups = []
    for title, names in GROUPS:
        rows = []
        for name in names:
            label, unit = split_label(name)
            if name == AREA_FIELD:
                label, unit = "申报面积", "亩"
            value = props.get(name)
            shown = WITHHELD if name in withheld else _shown(name, value, code_names)
            rows.append({"name": name, "label": label, "unit": unit, "value": shown})
        groups.append({"title": title, "rows": rows})
    return groups


def _shown(name: str, value: Any, code_names: Mapping[str, str] | None) -> str:
    """A field's value in words; a code ``code_names`` names as 名称（code）."""
    if code_names and isinstance(value, str) and value in code_names:
        return f"{code_names[value]}（{value}）"
    return display(name, value)


def code_names(session: Session, city_code: str, zone_code: str | None) -> dict[str, str]:
    """The names of the codes a parcel's fields hold outside the vocabularies: its city's
    counties and its zone (the pages showed the zone as its bare code, htz-shijiazhuang)."""
    names = dict(counties_of(session, city_code))
    if zone_code:
        zone = session.execute(
            text("SELECT name FROM landmatch.dev_zone WHERE code = :c"), {"c": zone_code}
        ).scalar()
        if zone:
            names[zone_code] = str(zone)
    return names


def form_groups(
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    counties: list[tuple[str, str]],
    hidden: Collection[str] = (),
    code_names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The edit form: every editable field with its label, unit, input kind, choices and error
    (``values``: form text by field name); ``hidden`` fields (those the editor may not read,
    landmatch.confidential) are left out, so the form neither shows nor sends them. The
    read-only fields are shown as the parcel page shows them (``code_names``: as field_rows)."""
    groups = []
    for title, names in GROUPS:
        items = []
        for name in names:
            if name in hidden:
                continue
            f = BY_NAME[name]
            label, unit = split_label(name)
            item: dict[str, Any] = {
                "name": name,
                "input": AREA_FORM if name == AREA_FIELD else name,
                "label": "申报面积" if name == AREA_FIELD else label,
                "unit": "亩" if name == AREA_FIELD else unit,
                "value": values.get(name, "" if f.kind != "list" else []),
                "error": errors.get(name),
                "readonly": name in READ_ONLY,
                "kind": f.kind,
                "choices": list(f.vocab.items()) if f.vocab else None,
                # The range beside the field, in the field's unit (the area is typed in 亩).
                "lo": _in_mu(f.lo) if name == AREA_FIELD else f.lo,
                "hi": _in_mu(f.hi) if name == AREA_FIELD else f.hi,
                "max_len": f.max_len,
            }
            if name == "county_code":
                item["kind"], item["choices"] = "code", counties
            if name in READ_ONLY:
                item["shown"] = _shown(name, values.get(name) or None, code_names)
            items.append(item)
        groups.append({"title": title, "fields": items})
    return groups


def scope_bounds(session: Session, principal: Principal) -> list[list[float]] | None:
    """[[south, west], [north, east]] of where the account keeps parcels (a committee's zone,
    a city bureau's city), where a new parcel's map opens; None for a province-wide account."""
    key: int | str | None
    if principal.role == "zone" and principal.zone_id is not None:
        table, column, key = "dev_zone", "id", principal.zone_id
    else:
        table, column, key = "admin_division", "code", own_city(principal)
    if key is None:
        return None
    box = session.execute(
        text(
            "SELECT ST_YMin(e), ST_XMin(e), ST_YMax(e), ST_XMax(e) FROM "
            f"(SELECT geom::box2d AS e FROM landmatch.{table} WHERE {column} = :k) b"
        ),
        {"k": key},
    ).first()
    if box is None or box[0] is None:
        return None
    return [[float(box[0]), float(box[1])], [float(box[2]), float(box[3])]]


def counties_of(session: Session, city_code: str) -> list[tuple[str, str]]:
    rows = session.execute(
        text(
            "SELECT code, name FROM landmatch.admin_division WHERE level = 'county' "
            "AND parent_code = :c ORDER BY code"
        ),
        {"c": city_code},
    ).all()
    return [(r[0], r[1]) for r in rows]


def parcel_flags(session: Session, parcel_id: int, stale_days: int) -> list[str]:
    """The QA checks this parcel is flagged by (the list's QA filter, for one parcel)."""
    cols = ", ".join(f"{flag_sql(c)} AS {c}" for c in FLAG_TITLES)
    row = (
        session.execute(
            text(f"SELECT {cols} FROM landmatch.parcel p WHERE p.id = :id"),
            {"id": parcel_id, **flag_params(stale_days)},
        )
        .mappings()
        .one()
    )
    return [FLAG_TITLES[c] for c in FLAG_TITLES if row[c]]


def surroundings(session: Session, parcel_id: int, margin_m: float = 400) -> dict[str, Any]:
    """GeoJSON (EPSG:4490) of the live parcels, zone boundaries and constraint areas within
    ``margin_m`` of the parcel (for the page map and the boundary editor's snapping)."""
    return surroundings_of(
        session, "(SELECT geom FROM landmatch.parcel WHERE id = :id)", {"id": parcel_id}, margin_m
    )


def feature_surroundings(
    session: Session, layer: str, code: str, margin_m: float = 400
) -> dict[str, Any]:
    """The same round a reference layer's feature (``layer`` one of ``reflayers.changes.LAYERS``),
    the feature itself left out: what its edit form's map shows and snaps to."""
    if layer not in ("facility", "constraint_area"):  # a table name, never the caller's text
        raise ValueError(f"not a reference layer: {layer!r}")
    return surroundings_of(
        session,
        f"(SELECT geom FROM landmatch.{layer} WHERE code = :code)",
        {"code": code, "id": 0},
        margin_m,
        skip_constraint=code if layer == "constraint_area" else None,
    )


def surroundings_of(
    session: Session,
    center: str,
    params: dict[str, Any],
    margin_m: float,
    *,
    skip_constraint: str | None = None,
) -> dict[str, Any]:
    """Parcels (but the one of id ``params["id"]``), zones and constraint areas (but
    ``skip_constraint``) within ``margin_m`` of the geometry the SQL ``center`` selects."""
    near = f"ST_DWithin(x.geom::geography, {center}::geography, :m)"
    box = f"x.geom && ST_Expand({center}, :m / 80000.0)"
    values = params | {"m": margin_m, "skip": skip_constraint or ""}

    def features(sql: str) -> list[dict[str, Any]]:
        out = []
        for r in session.execute(text(sql), values).mappings():
            props = {k: v for k, v in r.items() if k != "g"}
            out.append({"type": "Feature", "geometry": json.loads(r["g"]), "properties": props})
        return out

    return {
        "neighbours": features(
            f"SELECT x.code, x.name, x.status, {geojson_sql('x.geom', 8, options=0)} AS g FROM "
            f"landmatch.parcel x WHERE x.id <> :id AND x.deleted_at IS NULL AND {box} "
            f"AND {near} ORDER BY x.code LIMIT {NEIGHBOUR_LIMIT}"
        ),
        "zones": features(
            f"SELECT x.code, x.name, {geojson_sql('x.geom', 7, options=0)} AS g FROM landmatch.dev_zone x "
            f"WHERE {box} AND {near}"
        ),
        "constraints": features(
            f"SELECT x.code, x.name, x.kind, x.severity, {geojson_sql('x.geom', 7, options=0)} AS g "
            f"FROM landmatch.constraint_area x WHERE {box} AND {near} AND x.code <> :skip"
        ),
    }


def parcel_sheet(
    session: Session, code: str, principal: Principal, *, stale_days: int
) -> dict[str, Any]:
    """Everything the parcel page shows (raises NotFound / Forbidden)."""
    feature = get_parcel(session, code, principal)
    p = feature["properties"]
    require_view(principal, p["city_code"], _zone_id(session, p.get("zone_code")))
    facts = (
        session.execute(
            text(
                "SELECT f.*, (SELECT count(*) FROM landmatch.parcel_version v "
                "WHERE v.parcel_id = f.parcel_id) AS versions FROM landmatch.parcel_fact f "
                "WHERE f.parcel_id = :id"
            ),
            {"id": p["id"]},
        )
        .mappings()
        .first()
    )
    hits: list[dict[str, Any]] = list(facts["constraint_hits"] or []) if facts else []
    for h in hits:
        h["kind_label"] = vocab.label(vocab.CONSTRAINT_KINDS, h.get("kind"))
        h["severity_label"] = vocab.label(vocab.CONSTRAINT_SEVERITY, h.get("severity"))
    area = p.get("area_m2") or 0.0
    return {
        "feature": feature,
        "parcel": p,
        "groups": field_rows(
            p,
            code_names(session, p["city_code"], p.get("zone_code")),
            withheld=() if may_read(principal, p["city_code"]) else CONFIDENTIAL_FIELDS,
        ),
        "updated_at": dt.datetime.fromisoformat(p["updated_at"]) if p.get("updated_at") else None,
        "status_label": vocab.label(vocab.PARCEL_STATUS, p["status"]),
        "visibility_label": vocab.label(vocab.VISIBILITY, p.get("visibility")),
        "area_mu": area / M2_PER_MU,
        "area_ha": area / M2_PER_HA,
        "zone": zone_of(session, p.get("zone_code"), beijing_today(), p.get("zone_share")),
        "constraints": hits,
        "excluded": None if facts is None else facts["excluded"],
        "distances": [
            {"label": label, "km": facts[col] if facts else None} for col, label in DISTANCES
        ],
        "flags": parcel_flags(session, p["id"], stale_days),
        # A parcel held for a project: the bureau sees that it is held and until when before
        # it changes the parcel (the project itself is the promotion team's).
        "reservation": reservation_of(session, code, principal),
        "surroundings": surroundings(session, p["id"]),
        "can_edit": may_edit(
            session, principal, p["city_code"], _zone_id(session, p.get("zone_code"))
        ),
    }


def _zone_id(session: Session, zone_code: str | None) -> int | None:
    if not zone_code:
        return None
    zid = session.execute(
        text("SELECT id FROM landmatch.dev_zone WHERE code = :c"), {"c": zone_code}
    ).scalar()
    return int(zid) if zid is not None else None
