"""Response models of the JSON API: what ``/openapi.json`` shows is what the routes send, and
``tests/api/test_contracts.py`` (and Schemathesis' response-conformance check) validate live
answers against these models (extra keys are refused, so a shape that drifts fails there). Pages
and the map's JavaScript read these shapes."""

from landmatch.api.schemas.common import Contract, Geometry, Link, Problem
from landmatch.api.schemas.maps import Health, PlaceSummary, SearchResults
from landmatch.api.schemas.match import MatchResult
from landmatch.api.schemas.parcels import (
    ParcelCard,
    ParcelCollection,
    ParcelFeature,
    ParcelsAtPoint,
)

__all__ = [
    "Contract",
    "Geometry",
    "Health",
    "Link",
    "MatchResult",
    "ParcelCard",
    "ParcelCollection",
    "ParcelFeature",
    "ParcelsAtPoint",
    "PlaceSummary",
    "Problem",
    "SearchResults",
]
