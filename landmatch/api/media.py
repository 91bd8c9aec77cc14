"""Response classes whose media type ``/openapi.json`` declares for the routes that use them."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

GEOJSON = "application/geo+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array"}},
}


def files(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route answering a file: its 200 in each of these media types (a
    GeoJSON file is a FeatureCollection, the others are bytes)."""
    binary = {"type": "string", "format": "binary"}

    def schema(media: str) -> dict[str, Any]:
        return FEATURE_COLLECTION if media == GEOJSON else binary

    return {200: {"content": {t: {"schema": schema(t)} for t in media_types}}}


def documents(media_type: str, *, html: bool = True) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for an OGC API resource: a JSON document of its own media type (its shape
    is the OGC standard's, described by ``/ogc/api``), or its HTML page (``f=html``)."""
    content: dict[str, Any] = {media_type: {"schema": {"type": "object"}}}
    if html:
        content["text/html"] = {"schema": {"type": "string"}}
    return {200: {"content": content}}


def prefers_representation(prefer: str | None) -> bool:
    """Does a ``Prefer`` header (RFC 7240: comma-separated preferences, each with optional
    ``;`` parameters, names case-insensitive, values optionally quoted) ask for
    ``return=representation``?"""
    for pref in (prefer or "").split(","):
        name, _, value = pref.split(";")[0].partition("=")
        if name.strip().lower() == "return" and value.strip().strip('"').lower() == (
            "representation"
        ):
            return True
    return False
