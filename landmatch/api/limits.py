"""Limits the server keeps whatever the caller sends: the request body size (uploads) and
how many heavy public requests (xlsx exports, brochure PDFs) run at once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.api.asgi import HTTPMiddleware
from landmatch.api.problems import PROBLEM
from landmatch.errors import PayloadTooLarge, TooManyRequests
from landmatch.settings import Settings


class BodyLimitMiddleware(HTTPMiddleware):
    """413 for a request body larger than the upload cap, before the app parses any of it
    (by Content-Length, or counted as a chunked body arrives). One of the error middleware's
    guards (``problems.install``): inside ``PageErrors``, so that a browser's form post gets
    the error page rather than problem+json."""

    def __init__(self, app: ASGIApp, max_mb: int) -> None:
        super().__init__(app)
        self.max_mb = max_mb
        self.cap = max_mb * 1024 * 1024 + 1024 * 1024  # the file plus the form's own fields

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"上传文件超过上限 {self.max_mb} MB，请压缩或拆分后重新上传"
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


class Slots:
    """At most N requests of each heavy kind at once (per worker); one more gets 429 with
    Retry-After at once instead of queueing behind the others."""

    TITLES = {"export": "导出", "pdf": "推介书 PDF 生成"}

    def __init__(self, sizes: dict[str, int], retry_after: int) -> None:
        self._free = {kind: threading.BoundedSemaphore(n) for kind, n in sizes.items()}
        self.retry_after = retry_after

    @contextmanager
    def take(self, kind: str) -> Iterator[None]:
        sem = self._free[kind]
        if not sem.acquire(blocking=False):
            raise TooManyRequests(
                f"{self.TITLES.get(kind, kind)}请求较多，请 {self.retry_after} 秒后重试",
                retry_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.retry_after),
            )
        try:
            yield
        finally:
            sem.release()


def slots(settings: Settings) -> Slots:
    return Slots(
        {"export": settings.max_concurrent_exports, "pdf": settings.max_concurrent_pdfs},
        settings.busy_retry_after_seconds,
    )


def heavy(kind: str) -> Any:
    """A route dependency holding one ``kind`` slot for the request (429 when none is free)."""

    def hold(request: Request) -> Iterator[None]:
        with request.app.state.slots.take(kind):
            yield

    return Depends(hold)
