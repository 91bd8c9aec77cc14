"""What a parcel card, a brochure and the map pages show about one parcel or the map's context:
the parcel's own (visible) fields, its zone with completed regional assessments, the policies
that apply, a contact, and — for staff only — reservations and data-quality flags.

Visibility follows :mod:`landmatch.db.parcels`: the public gets the public columns of public
ready parcels, nothing else. The parcel row's own parts are read by :mod:`landmatch.db.cards`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import industry_codes, vocab
from landmatch.confidential import CONFIDENTIAL_FIELDS, WITHHELD, may_read
from landmatch.dates import beijing_today
from landmatch.db.cards import qa_flags_of, reservation_of, utilities_of
from landmatch.db.membership import zone_label
from landmatch.db.parcels import get_parcel
from landmatch.db.values import json_row
from landmatch.geo.measure import M2_PER_MU
from landmatch.match.policy_values import parcel_estimate
from landmatch.policies.applicability import Site
from landmatch.policies.library import applicable_to_site, name_scopes
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
    found = applicable_to_site(session, site, today, public=principal.is_public)
    places = name_scopes(session, [dict(r) for _, r in found])
    for (pol, r), named in zip(found, places, strict=True):
        item = {k: r.get(k) for k in POLICY_FIELDS}
        est = parcel_estimate(pol, None if price is None else float(price), area_mu)
        out.append(
            item
            | {
                "benefit_label": r["benefit_label"],
                "scope_label": r["scope_label"],
                "scope_place": named["scope_place"],
                "value_wan": est.value_wan,
                "value_formula": est.formula,
                "value_conditions": list(est.conditions),
            }
        )
    return out


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
    today = today or beijing_today()
    feature = get_parcel(session, code, principal)
    p = feature["properties"]
    utilities = utilities_of(p, today - dt.timedelta(days=stale_after_days))
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
            "visibility": vocab.label(vocab.VISIBILITY, p.get("visibility")),
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
            "reservation": reservation_of(session, code, principal),
            "qa_flags": qa_flags_of(p, utilities),
            "history_url": f"/api/parcels/{quote(code, safe='')}/history",
            # The confidential fields this reader may not read, each with what to show.
            "withheld": {}
            if may_read(principal, p.get("city_code"))
            else dict.fromkeys(CONFIDENTIAL_FIELDS, WITHHELD),
        }
    return json.loads(json.dumps(card, default=str))
