"""The base of the project's ASGI middleware (CORS, CSP, methods, body limit, problems …),
and :func:`buffered`, for a middleware that replaces whole responses of one content type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What answers in place of a buffered response: (its start message, its whole body, send).
Transform = Callable[[Message, bytes, Send], Awaitable[None]]


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


def buffered(send: Send, content_type: str, transform: Transform) -> Send:
    """A ``send`` for the rest of the stack: a response whose ``Content-Type`` starts with
    ``content_type`` is held — its start message and every part of its body — and, once the
    last part is in, ``transform(start, body, send)`` answers in its place; any other response
    passes through as it comes. (The CSP middleware stamps its nonce into HTML pages this way;
    ``problems.PageErrors`` turns problem+json into the error page.)"""
    start: Message | None = None
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            if Headers(raw=message["headers"]).get("content-type", "").startswith(content_type):
                start = message  # held until the whole body is here
                return
            await send(message)
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        await transform(start, b"".join(chunks), send)

    return wrapped
