"""The base of the project's ASGI middleware (CORS, CSP, methods, body limit, problems …)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

#: uvicorn's options for every server of the app (``landmatch serve``, the tests, the scripts).
#: Not uvicorn's ``X-Forwarded-*`` handling, which by default believes any process on the
#: same machine (127.0.0.1) before the app sees the request: the client's address and the
#: scheme stay the connection's, and ``landmatch.api.security`` alone decides which proxies
#: to believe (``LANDMATCH_TRUSTED_PROXIES``).
SERVER_OPTIONS: dict[str, Any] = {"proxy_headers": False, "forwarded_allow_ips": ""}


class HTTPMiddleware:
    """A middleware that acts on HTTP requests only: anything else (the lifespan, a websocket)
    goes to the app untouched. A subclass implements :meth:`handle`; one with options of its
    own calls ``super().__init__(app)`` first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request (``self.app`` is the rest of the stack)."""
        raise NotImplementedError
