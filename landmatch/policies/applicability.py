"""Which policies apply: the one definition, used by the match (its ranking and its listing),
the parcel card, the brochure and the policy pages.

A policy applies to a *site* (a place, and where known a parcel's status and land use) for a
project's industry on a day when every one of these holds:

1. **In force** on the day: ``valid_from`` ≤ day ≤ ``valid_until`` (either may be open). The
   SQL twin is the database function ``landmatch.policy_active(p, day)`` (:data:`IN_FORCE_SQL`),
   which the policy pages' search uses; ``tests/zones/test_policy_applicability.py`` ties the two
   over generated cases.
2. **Reaches the place**: province-wide; a city's for parcels of that city (in a zone or not);
   a county's for that county; a zone's for parcels *in* that zone (the stored membership,
   :mod:`landmatch.db.membership`).
3. **Zone level** (``conditions.zone_levels``): only in a zone of one of those levels.
4. **Parcel status and land use** (``statuses``, ``land_uses``; empty = any): the parcel's.
   A site without a status or land use (the match's per-zone context) is handled by the caller
   (:func:`parcel_conditional`).
5. **Industry** (``industries``, GB/T 4754 codes at any level; empty = any): the project's
   code lies within one of them (``landmatch.industry_codes.related``: policy 39 covers a
   project in 3911, section C covers 36). For a project of unknown
   industry a policy limited to industries does not apply; without a project (a parcel card,
   a brochure: :data:`ANY_INDUSTRY`) it does — it is on offer there.
6. **Visible** to the caller: the public (and public matches) see public policies only.

Estimated values (what a policy is worth to a project) build on this: see
``landmatch.match.scores.policy_value``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from landmatch import industry_codes
from landmatch.dates import in_force

__all__ = ["ANY_INDUSTRY", "IN_FORCE_SQL", "Policy", "Site", "applicable", "applies", "in_force"]

#: ``industry`` for "no project": a policy limited to some industries is on offer here.
ANY_INDUSTRY = "*"
#: SQL twin of :func:`in_force` on ``landmatch.policy p`` with the bind parameter ``:as_of``.
IN_FORCE_SQL = "landmatch.policy_active(p, :as_of)"
#: Scope order for lists: the most local first.
SCOPE_ORDER = {"zone": 0, "county": 1, "city": 2, "province": 3}


@dataclass(frozen=True)
class Policy:
    """The fields of a ``landmatch.policy`` row that decide where it applies and what it is
    worth (:func:`from_row` builds one from a row)."""

    code: str
    title: str
    scope_level: str
    scope_code: str
    industries: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    land_uses: tuple[str, ...] = ()
    benefit_kind: str = "other"
    rate: float | None = None
    cap: float | None = None
    amount: float | None = None
    basis: str | None = None
    conditions: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    summary: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    visibility: str = "public"


@dataclass(frozen=True)
class Site:
    """Where a policy would apply: the city, county and zone (code and level) of a parcel, and
    its status and land use (None where not known)."""

    city: str
    county: str | None = None
    zone_code: str | None = None
    zone_level: str | None = None
    status: str | None = None
    land_use: str | None = None


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def from_row(r: Any) -> Policy:
    """A :class:`Policy` from a ``landmatch.policy`` row (a mapping or a Row)."""
    m = r if isinstance(r, Mapping) else r._mapping
    return Policy(
        code=m["code"],
        title=m["title"],
        scope_level=m["scope_level"],
        scope_code=m["scope_code"],
        industries=tuple(m.get("industries") or ()),
        statuses=tuple(m.get("statuses") or ()),
        land_uses=tuple(m.get("land_uses") or ()),
        benefit_kind=m.get("benefit_kind") or "other",
        rate=_num(m.get("benefit_rate")),
        cap=_num(m.get("benefit_cap_wan")),
        amount=_num(m.get("benefit_amount_wan")),
        basis=m.get("benefit_basis"),
        conditions=dict(m.get("conditions") or {}),
        summary=m.get("summary") or "",
        valid_from=m.get("valid_from"),
        valid_until=m.get("valid_until"),
        visibility=m.get("visibility") or "public",
    )


def reaches(pol: Policy, site: Site) -> bool:
    """Rules 2 and 3: the policy's scope covers the site, and its zone-level condition holds."""
    scope = pol.scope_level
    ok = (
        scope == "province"
        or (scope == "city" and pol.scope_code == site.city)
        or (scope == "county" and site.county is not None and pol.scope_code == site.county)
        or (scope == "zone" and site.zone_code is not None and pol.scope_code == site.zone_code)
    )
    levels = pol.conditions.get("zone_levels")
    return ok and not (levels and site.zone_level not in levels)


def concerns(pol: Policy, industry: str | None) -> bool:
    """Rule 5: the project's industry (None = unknown; :data:`ANY_INDUSTRY` = no project).

    >>> p = Policy("x", "x", "province", "130000", industries=("39",))
    >>> concerns(p, "3911"), concerns(p, "34"), concerns(p, None), concerns(p, ANY_INDUSTRY)
    (True, False, False, True)
    """
    if not pol.industries or industry == ANY_INDUSTRY:
        return True
    return industry is not None and any(industry_codes.related(industry, i) for i in pol.industries)


def fits_parcel(pol: Policy, status: str | None, land_use: str | None) -> bool:
    """Rule 4 for a known status and land use (None: not known, not checked here)."""
    if status is not None and pol.statuses and status not in pol.statuses:
        return False
    return not (land_use is not None and pol.land_uses and land_use not in pol.land_uses)


def parcel_conditional(pol: Policy) -> bool:
    """Whether the policy depends on the parcel beyond its place (status, land use, county):
    the match's per-zone context leaves these to a per-parcel term."""
    return bool(pol.statuses or pol.land_uses or pol.scope_level == "county")


def applies(
    pol: Policy,
    site: Site,
    as_of: dt.date,
    *,
    industry: str | None = ANY_INDUSTRY,
    public: bool = False,
) -> bool:
    """The rule (module docstring): does ``pol`` apply to ``site`` on ``as_of`` for a project
    of ``industry``, as seen by the public (``public``) or by staff?"""
    return (
        (not public or pol.visibility == "public")
        and in_force(pol.valid_from, pol.valid_until, as_of)
        and reaches(pol, site)
        and fits_parcel(pol, site.status, site.land_use)
        and concerns(pol, industry)
    )


def applicable(
    policies: Iterable[Policy],
    site: Site,
    as_of: dt.date,
    *,
    industry: str | None = ANY_INDUSTRY,
    public: bool = False,
) -> list[Policy]:
    """The policies of ``policies`` that apply, the most local first, then by code."""
    hits = [p for p in policies if applies(p, site, as_of, industry=industry, public=public)]
    return sorted(hits, key=lambda p: (SCOPE_ORDER.get(p.scope_level, 9), p.code))
