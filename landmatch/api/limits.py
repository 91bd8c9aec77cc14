"""Limits the server keeps whatever the caller sends: the request body size (uploads) and
how many heavy public requests (xlsx exports, brochure PDFs) run at once."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.api.problems import PROBLEM
from landmatch.errors import PayloadTooLarge


class BodyLimitMiddleware:
    """413 for a request body larger than the upload cap, before the app parses any of it
    (by Content-Length, or counted as a chunked body arrives)."""

    def __init__(self, app: ASGIApp, max_mb: int) -> None:
        self.app = app
        self.max_mb = max_mb
        self.cap = max_mb * 1024 * 1024 + 1024 * 1024  # the file plus the form's own fields

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"上传文件超过上限 {self.max_mb} MB"
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.cap:
            too_large = PayloadTooLarge(message)
            response = JSONResponse(too_large.to_problem(), 413, media_type=PROBLEM)
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.cap:  # a chunked body: the route's body parsing re-raises this
                    raise HTTPException(413, message)
            return msg

        await self.app(scope, counted, send)
