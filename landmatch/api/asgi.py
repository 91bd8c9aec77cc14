"""The base of the project's ASGI middleware (CORS, CSP, methods, body limit, problems …)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


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
