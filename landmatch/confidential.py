"""Who may read which confidential parcel field: the one definition (docs/domain.md §10).

Under the 招拍挂 rules (Order 39, Art. 10) a parcel's base price (底价) stays secret until the
sale ends, and a staff contact's personal mobile number stays with the city that keeps it. So
``CONFIDENTIAL_FIELDS`` are readable only by the admin and the land bureau of the parcel's own
city (a province bureau counts for every city), the same people who may write the parcel
(:meth:`landmatch.auth.Principal.can_edit_city`). Everyone else gets the published reference
price where it is published (``price_public``) and nothing else.

Readers apply it one of three ways, each with a function here:

- SQL that selects parcel columns for a caller: :func:`column_sql` / :func:`ref_price_sql`;
- rows already in Python (history snapshots, cards): :func:`redact`;
- outputs that serve many callers from one body (match runs, OGC items, tiles) never carry the
  confidential fields, and price by the published reference price only
  (:data:`PUBLISHED_PRICE_SQL`): a match ranked on an unpublished price would let anyone narrow
  it down with budgets.

``tests/visibility`` walks every GET route as each role and checks the rule holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from landmatch.viewer import Viewer

CONFIDENTIAL_FIELDS: tuple[str, ...] = ("reserve_price_wan_per_mu", "contact_phone")
# What a page shows for a confidential field its reader may not read (not “—” or 未知, which
# read as “not recorded”).
WITHHELD = "仅所在城市的自然资源部门可见"
_SQL_TYPES = {"reserve_price_wan_per_mu": "numeric", "contact_phone": "text"}
REF_PRICE = "ref_price_wan_per_mu"
_CITY_CODE = re.compile(r"\d{6}")


def may_read(principal: Viewer, city_code: str | None) -> bool:
    """May ``principal`` read the confidential fields of a parcel of ``city_code``?"""
    return principal.city_wide_everywhere or (
        city_code is not None and principal.can_edit_city(city_code)
    )


def _entitled_sql(principal: Viewer, alias: str) -> str:
    """A SQL condition true for the rows whose confidential fields the caller may read."""
    if principal.city_wide_everywhere:
        return "TRUE"
    if principal.role == "bureau" and principal.city_code is not None:
        if not _CITY_CODE.fullmatch(principal.city_code):
            return "FALSE"
        return f"{alias}.city_code = '{principal.city_code}'"
    return "FALSE"


def column_sql(principal: Viewer, column: str, alias: str = "p") -> str:
    """The select-list entry for parcel ``column`` as ``principal`` may see it."""
    if column == REF_PRICE:
        return f"{ref_price_sql(principal, alias)} AS {REF_PRICE}"
    if column not in CONFIDENTIAL_FIELDS:
        return f"{alias}.{column}"
    cond = _entitled_sql(principal, alias)
    if cond == "TRUE":
        return f"{alias}.{column}"
    if cond == "FALSE":
        return f"NULL::{_SQL_TYPES[column]} AS {column}"
    return f"CASE WHEN {cond} THEN {alias}.{column} END AS {column}"


def ref_price_sql(principal: Viewer, alias: str = "p") -> str:
    """The reference price the caller may see: published, or any for the entitled."""
    return _price_sql(_entitled_sql(principal, alias), alias)


def _price_sql(cond: str, alias: str) -> str:
    """The reference price where published or where ``cond`` (the caller's entitlement)."""
    if cond == "TRUE":
        return f"{alias}.{REF_PRICE}"
    published = f"{alias}.price_public"
    if cond == "FALSE":
        return f"(CASE WHEN {published} THEN {alias}.{REF_PRICE} END)"
    return f"(CASE WHEN {published} OR {cond} THEN {alias}.{REF_PRICE} END)"


def redact(
    principal: Viewer, row: Mapping[str, Any], city_code: str | None = None
) -> dict[str, Any]:
    """``row`` (a parcel's fields) without what ``principal`` may not read. ``city_code``
    defaults to the row's own; the reference price is kept only where published or entitled
    (a row without ``price_public`` counts as unpublished)."""
    out = dict(row)
    if may_read(principal, city_code if city_code is not None else row.get("city_code")):
        return out
    for name in CONFIDENTIAL_FIELDS:
        if name in out:
            out[name] = None
    if REF_PRICE in out and not row.get("price_public"):
        out[REF_PRICE] = None
    return out


# The price everyone may see, as the match, OGC items and tiles use it: the public's view
# (entitled to nothing, as ``_entitled_sql`` answers for the public).
PUBLISHED_PRICE_SQL = _price_sql("FALSE", "p")
