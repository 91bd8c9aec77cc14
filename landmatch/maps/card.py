"""The parcel card as HTML, rendered once: ``web/templates/_parcel_card.html`` holds its
sections (key figures, planning and supply conditions, utilities, zone, policies, contact, the
staff-only internal part), drawn from the card dict of :func:`landmatch.inventory.cards.parcel_card`.
The map's card is the fragment :func:`card_html` (``GET /parcels/{code}/card.html``, put in the
panel by ``landmatch.js``); the 地块推介书 (:mod:`landmatch.maps.brochure`) imports the same
sections. The JSON card (``/api/parcels/{code}/card``) stays for API users."""

from __future__ import annotations

from typing import Any

from landmatch.maps.elements import render
from landmatch.maps.styles import STATUS_COLOURS


def policy_summary(policies: list[dict[str, Any]]) -> dict[str, Any]:
    """The card's policy section: the measures the parcel alone gives a value to (each with
    its 万元 estimate and formula, ``value_wan`` set by the card), then how many others, by
    kind of benefit."""
    valued = [p for p in policies if p.get("value_wan") is not None]
    rest = [p for p in policies if p.get("value_wan") is None]
    kinds: dict[str, int] = {}
    for p in rest:
        kinds[p["benefit_label"]] = kinds.get(p["benefit_label"], 0) + 1
    return {
        "valued": valued,
        "rest": len(rest),
        "rest_kinds": sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])),
    }


def card_html(card: dict[str, Any]) -> str:
    """The map's parcel card (an HTML fragment) for ``card`` as built for the caller: the
    internal part only when the card has it (staff), 我有意向 only when it has not."""
    return render(
        "parcel_card.html",
        c=card,
        policies=policy_summary(card["policies"]),
        status_colour=STATUS_COLOURS.get(card["parcel"].get("status") or "", "#555"),
    )
