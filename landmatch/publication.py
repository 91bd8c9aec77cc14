"""What the public may see of each reference layer: the one decision (docs/domain.md §12).

A 招商 map publishes what an investor plans around: administrative divisions, development
zones and facilities (ports, airports, rail freight yards, interchanges — public
infrastructure). It does not publish constraint areas (生态保护红线, 永久基本农田, 水源保护区,
蓄滞洪区 …): their boundaries are official planning data that the natural-resources
authorities release themselves, in their own channels and at their own precision, and a
promotion map redrawing them would be a second, unofficial copy. What an investor needs from
them is whether a site is affected: the public match and card say that a site lies in a
constraint area and of which kind and severity, without the area's name, code or outline.

Staff (any signed-in role) see the layers whole. The API's layer listings and the OGC API answer
the public 401 (sign in), the tiles 403 (a tile URL is not a sign-in prompt), and public match
results carry :func:`public_hits` only.

Pure (it reads a :class:`~landmatch.viewer.Viewer`), so the tiles of :mod:`landmatch.db.tiles`
apply the same decision as the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from landmatch import vocab
from landmatch.errors import Unauthorized
from landmatch.viewer import Viewer

# Reference layers (table names) the public does not get.
STAFF_ONLY_LAYERS = frozenset({"constraint_area"})


def published(layer: str) -> bool:
    return layer not in STAFF_ONLY_LAYERS


def require_published(principal: Viewer, layer: str) -> None:
    """Refuse the public a staff-only layer (401: staff sign in to see it)."""
    if principal.is_public and not published(layer):
        raise Unauthorized(
            "管控区图层仅对登录的工作人员开放；公众可在匹配结果中看到地块是否涉及管控区"
        )


def public_hits(hits: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A parcel's constraint hits as the public sees them: kind and severity, with labels."""
    return [
        {
            "kind": h.get("kind"),
            "kind_label": vocab.label(vocab.CONSTRAINT_KINDS, h.get("kind")),
            "severity": h.get("severity"),
            "severity_label": vocab.label(vocab.CONSTRAINT_SEVERITY, h.get("severity")),
        }
        for h in hits or []
    ]
