"""Who is reading, as the code below the services sees it.

The queries in :mod:`landmatch.db` and the confidentiality rule (:mod:`landmatch.confidential`)
need to know a few things about the caller — public or staff, which role and city, which
promotion team — but not how callers are made, signed in or refused. They take a ``Viewer``;
:class:`landmatch.auth.Principal` is one (the rules themselves are its methods, defined once
there), so the layers below the services never import ``auth`` (``tests/test_layers.py``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Viewer(Protocol):
    """The caller of a read: what the db layer asks of it."""

    @property
    def role(self) -> str | None:
        """``admin``, ``bureau``, ``zone``, ``promoter``; None for the public."""
        ...

    @property
    def city_code(self) -> str | None: ...

    @property
    def is_public(self) -> bool: ...

    @property
    def city_wide_everywhere(self) -> bool:
        """The admin or a province-level bureau: acts for every city."""
        ...

    def can_edit_city(self, city_code: str) -> bool:
        """Does the caller keep the parcels of ``city_code`` (and so read their confidential
        fields)?"""
        ...

    def owns(self, owner_team: str | None) -> bool:
        """Does what belongs to promotion team ``owner_team`` (a reservation) belong to the
        caller?"""
        ...
