"""Parcels as the API sends them: the properties (built from the field table, the one source of
which fields exist and which are public), features, listings, map clicks and the parcel card."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, create_model

from landmatch.api.schemas.common import Contract, Geometry, Link
from landmatch.db.parcels import BOOKKEEPING, INTERNAL_COLUMNS, PUBLIC_COLUMNS
from landmatch.inventory.fields import FIELDS, Kind

_TYPES: dict[Kind, Any] = {
    "text": str,
    "code": str,
    "int": int,
    "num": float,
    "date": dt.date,
    "bool": bool,
    "list": list[str],
}
_LABELS = {f.name: f.label for f in FIELDS}
_KINDS: dict[str, Any] = {f.name: _TYPES[f.kind] for f in FIELDS}
_BOOKKEEPING: dict[str, tuple[Any, str]] = {
    "id": (int, "internal row id"),
    "version": (int, "the parcel's version (optimistic locking: If-Match)"),
    "created_at": (dt.datetime, "when the parcel was created"),
    "updated_at": (dt.datetime, "when it last changed"),
    "updated_by": (str, "who changed it last"),
    "import_id": (int, "the import that wrote it last"),
}
# What every reader joins in or derives (landmatch.db.parcels._select / _feature).
_DERIVED: dict[str, tuple[Any, str]] = {
    "area_m2": (float, "measured area on the ellipsoid, m²"),
    "area_mu": (float, "measured area, 亩"),
    "area_ha": (float, "measured area, 公顷"),
    "zone_code": (str, "the development zone the parcel lies in"),
    "zone_name": (str, "its name"),
    "zone_share": (float, "share of the parcel's area inside the zone"),
    "city_name": (str, "the city's name"),
}
assert set(_BOOKKEEPING) == {"id", *BOOKKEEPING}


def _fields(names: tuple[str, ...], *, required: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        kind, about = _BOOKKEEPING.get(name) or _DERIVED.get(name) or (_KINDS[name], _LABELS[name])
        if required:
            out[name] = (kind | None, Field(description=about))
        else:
            out[name] = (kind | None, Field(None, description=about))
    return out


def parcel_fields(*, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The parcel's properties as pydantic fields: the public ones (and the derived area and
    zone) always present, the internal ones present for staff only."""
    public = tuple(c for c in PUBLIC_COLUMNS if c not in exclude)
    internal = tuple(c for c in INTERNAL_COLUMNS if c not in exclude)
    derived = tuple(c for c in _DERIVED if c not in public and c not in exclude)
    return _fields(public + derived, required=True) | _fields(internal, required=False)


ParcelProperties = create_model(  # type: ignore[call-overload]
    "ParcelProperties",
    __base__=Contract,
    __doc__="A parcel's fields: the public ones for everyone, the internal ones for staff.",
    **parcel_fields(),
)


class ParcelFeature(Contract):
    type: Literal["Feature"]
    id: str = Field(description="the parcel's code")
    geometry: Geometry
    properties: ParcelProperties  # type: ignore[valid-type]


class ParcelCollection(Contract):
    """A page of the inventory (``/api/parcels``), paged as OGC API items are."""

    type: Literal["FeatureCollection"]
    features: list[ParcelFeature]
    numberReturned: int
    numberMatched: int
    limit: int
    offset: int
    links: list[Link]


class ParcelsAtPoint(Contract):
    """The parcels a map click hits (``/api/identify``), nearest first."""

    type: Literal["FeatureCollection"]
    features: list[ParcelFeature]
    numberReturned: int


class CardLabels(Contract):
    status: str | None
    land_use: str | None
    compatible_uses: list[str | None]
    supply_modes: list[str | None]
    readiness: list[str | None]
    visibility: str | None = Field(None, description="公开 / 内部 (staff's card)")


class CardUtility(Contract):
    key: Literal["power", "water", "sewage", "gas", "heat", "telecom"]
    label: str
    value: float | str | None = Field(description="capacity (a number), or for telecom 5G、光纤")
    unit: str
    as_of: dt.date | None = Field(description="when the capacity was confirmed")
    stale: bool = Field(description="confirmed longer ago than the staleness limit")


class Industry(Contract):
    code: str
    name: str | None


class CardAssessment(Contract):
    kind: str
    name: str | None
    approved_on: dt.date | None
    valid_until: dt.date | None
    doc_no: str | None
    label: str | None


class CardZone(Contract):
    code: str
    name: str
    level: str
    kind: str | None
    contact_name: str | None
    contact_phone: str | None
    level_label: str | None
    share: float | None = Field(description="share of the parcel's area inside the zone")
    label: str = Field(description="the zone's name, with the share where it is partial")
    industries: list[Industry] = Field(description="leading industries")
    assessments: list[CardAssessment] = Field(description="completed, still valid assessments")


class CardPolicy(Contract):
    code: str
    title: str
    issuer: str | None
    doc_no: str | None
    valid_until: dt.date | None
    scope_level: str
    benefit_kind: str | None
    benefit_rate: float | None
    benefit_cap_wan: float | None
    benefit_amount_wan: float | None
    summary: str | None
    industries: list[str] | None
    benefit_label: str | None
    scope_label: str | None
    scope_place: str | None = Field(
        None, description="where it applies, by name (全省, 石家庄市, a county's or zone's name)"
    )
    value_wan: float | None = Field(description="what the parcel alone is worth under it, 万元")
    value_formula: str | None
    value_conditions: list[str] = Field(description="what a project must meet for that value")


class CardContact(Contract):
    name: str
    phone: str | None
    source: Literal["zone", "city"]


class PersonContact(Contract):
    name: str | None
    phone: str | None


class CardReservation(Contract):
    """The parcel's hold in force, as ``landmatch.db.holds.shown`` lets the caller see it: in
    full for the holding team and admins, the team and date for the bureau of the parcel's
    city, else until when."""

    own: bool
    until: dt.date | None
    team: str | None = Field(None, description="招商团队: the holding team, its city's bureau")
    reserved_by: str | None = None
    note: str | None = None
    created_at: dt.datetime | None = None
    project: str | None = None


class CardInternal(Contract):
    visibility: str | None
    reserve_price_wan_per_mu: float | None = Field(description="底价: own city's bureau, admin")
    parcel_contact: PersonContact
    holder: str | None
    notes: str | None
    reservation: CardReservation | None
    qa_flags: list[str]
    history_url: str
    withheld: dict[str, str] = Field(
        default_factory=dict, description="confidential fields the caller may not read → text"
    )


class ParcelCard(Contract):
    """What the parcel card (map, card page) and the brochure show, as the caller may see it."""

    parcel: ParcelProperties  # type: ignore[valid-type]
    geometry: Geometry
    labels: CardLabels
    utilities: list[CardUtility]
    zone: CardZone | None
    policies: list[CardPolicy]
    contact: CardContact
    brochure_url: str
    internal: CardInternal | None = Field(None, description="staff only")


class EditNote(Contract):
    field: str
    message: str = Field(description="what was decided or should be checked (中文)")


class EditedParcel(ParcelFeature):
    """The parcel as the write left it (its ETag in the header), with the write's notes."""

    warnings: list[EditNote]


class DeletedParcel(Contract):
    """What a delete did, answered (200) when asked for with ``Prefer: return=representation``;
    otherwise a delete answers 204 with the deleted version's ETag only."""

    code: str
    deleted: Literal[True]
    warnings: list[EditNote] = Field(
        description="what the delete ended: a hold (预留) on the parcel, said on the holding "
        "project's timeline too (中文)"
    )


class BulkResult(Contract):
    updated: int
    etags: dict[str, str] = Field(description="each parcel's new ETag, by code")
    warnings: list[EditNote] = Field(
        description="what to check: a held parcel's status changed (中文)"
    )
