"""Every route of the application, for tests that must cover a whole class of endpoints
(every HTML page, every upload): ``landmatch.api.routing``'s walk over the app's router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute

from landmatch.api.routing import api_routes as _walk


def api_routes(app: Any) -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) for every APIRoute, included routers flattened."""
    yield from _walk(app.router)
