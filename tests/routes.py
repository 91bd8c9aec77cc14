"""Every route of the application, for tests that must cover a whole class of endpoints
(every HTML page, every upload). FastAPI ≥ 0.16x keeps included routers as branches; this walks
them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute


def api_routes(app: Any) -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) for every APIRoute, included routers flattened."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, APIRoute]]:
        for r in routes:
            if isinstance(r, APIRoute):
                yield prefix + r.path, r
            elif hasattr(r, "original_router"):  # an included router
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)

    yield from walk(list(app.router.routes), "")
