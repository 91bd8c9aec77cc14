"""Who reads which city's monitoring data: the one rule for every monitoring read (API,
dashboard, disposal cases). Writes are narrower (:func:`landmatch.monitoring.cases.require_scope`,
:mod:`landmatch.monitoring.rules`, :mod:`landmatch.monitoring.targets`)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.errors import Forbidden, InvalidInput
from landmatch.inventory.listing import own_city


def require_reader(principal: Principal) -> None:
    """Monitoring data is for staff (any role); the public gets 401."""
    principal.require("admin", "bureau", "zone", "promoter")


def city_scope(principal: Principal, city: str | None) -> str | None:
    """The city the dashboard shows: a city bureau its own (another is refused), anyone else
    the city asked for (None: the whole province)."""
    require_reader(principal)
    if city is not None and city not in vocab.CITIES:
        raise InvalidInput(vocab.unknown_city(city))
    own = own_city(principal)
    if own is not None:
        if city not in (None, own):
            raise Forbidden(
                f"无权查看{vocab.label(vocab.CITIES, city)}的监测数据：本账号的城市范围为"
                f"{vocab.label(vocab.CITIES, own)}"
            )
        return own
    return city


def dashboard_city(session: Session, principal: Principal, city: str | None) -> str | None:
    """The city the dashboard page opens on: as :func:`city_scope`, and a zone committee that
    names none gets its zone's city."""
    if city is None and principal.role == "zone" and principal.zone_id is not None:
        city = session.execute(
            text("SELECT city_code FROM landmatch.dev_zone WHERE id = :z"),
            {"z": principal.zone_id},
        ).scalar()
    return city_scope(principal, city or None)


def may_choose_city(principal: Principal) -> bool:
    """Does the caller pick the city (the province's bureau, admins, zones, promoters), or is
    it fixed to its own (a city's bureau)?"""
    return own_city(principal) is None
