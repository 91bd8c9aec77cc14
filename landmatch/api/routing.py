"""Every route of the application with its full path: FastAPI (≥ 0.16x) keeps an included
router as a branch of its own, with the prefix in the branch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute


def api_routes(router: Any) -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) for every APIRoute of ``router`` (an app's ``router``), included
    routers flattened."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, APIRoute]]:
        for r in routes:
            if isinstance(r, APIRoute):
                yield prefix + r.path, r
            elif hasattr(r, "original_router"):  # an included router
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)

    yield from walk(list(router.routes), "")
