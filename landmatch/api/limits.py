"""Limits the server keeps whatever the caller sends: the request body size (uploads) and
how many heavy public requests (xlsx exports, brochure PDFs) run at once."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import Router, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.api.asgi import HTTPMiddleware
from landmatch.api.problems import PROBLEM
from landmatch.api.routing import api_routes
from landmatch.errors import BodyTooLarge, PayloadTooLarge, TooManyRequests
from landmatch.settings import Settings

#: Request bodies of the routes that take no file: a JSON or form body. Routes that anyone may
#: call declare a smaller cap of their own (FastAPI's ``max_body_size`` on the route, e.g. 64 KB
#: for ``POST /api/match``); the others get :func:`body_cap`.
KB = 1024
MB = 1024 * KB


def body_cap(settings: Settings) -> int:
    """The largest JSON or form body of a route that takes no file and declares no cap: a
    parcel, zone or constraint area with the most vertices allowed (about 80 bytes each as
    GeoJSON text), in whole MB."""
    return -(-settings.max_parcel_vertices * 80 // MB) * MB


def _size(n: int) -> str:
    return f"{n // MB} MB" if n >= MB and n % MB == 0 else f"{n // KB} KB"


class BodyLimitMiddleware(HTTPMiddleware):
    """413 for a request body larger than its route allows, before anything parses or buffers
    it (by Content-Length, or counted as a chunked body arrives). One of the error
    middleware's guards (``problems.install``): inside ``PageErrors``, so that a browser's form
    post gets the error page rather than problem+json.

    A route that takes a file (an ``UploadFile``, multipart) allows the upload cap plus the
    form's own fields; a route that declares ``max_body_size`` allows that; any other request
    (another route, no route at all) :func:`body_cap`. The routes are read once, from the
    router, when the first request arrives."""

    def __init__(self, app: ASGIApp, router: Router, settings: Settings) -> None:
        super().__init__(app)
        self.router = router
        self.max_mb = settings.max_upload_mb
        self.upload_cap = settings.max_upload_mb * MB + MB  # the file plus the form's fields
        self.default_cap = body_cap(settings)
        self._caps: list[tuple[frozenset[str], re.Pattern[str], int]] | None = None

    def _routes(self) -> list[tuple[frozenset[str], re.Pattern[str], int]]:
        if self._caps is None:
            caps = []
            for path, route in api_routes(self.router):
                declared = getattr(route, "max_body_size", None)
                if declared is not None:
                    cap = int(declared)
                elif _takes_file(route):
                    cap = self.upload_cap
                else:
                    continue
                caps.append((frozenset(route.methods or ()), compile_path(path)[0], cap))
            self._caps = caps
        return self._caps

    def cap_of(self, scope: Scope) -> int:
        """The body cap of the request's route (:func:`body_cap` for any other)."""
        method, path = scope["method"], scope["path"]
        for methods, regex, cap in self._routes():
            if method in methods and regex.match(path):
                return cap
        return self.default_cap

    def _kind(self, cap: int) -> type[PayloadTooLarge]:
        """A file over the upload cap, or another body over its route's."""
        return PayloadTooLarge if cap == self.upload_cap else BodyTooLarge

    def _message(self, cap: int) -> str:
        if cap == self.upload_cap:
            return f"上传文件超过上限 {self.max_mb} MB，请压缩或拆分后重新上传"
        return f"提交内容过大（上限 {_size(cap)}）"

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        if not length and b"transfer-encoding" not in headers:  # no body (a GET, a tile)
            await self.app(scope, receive, send)
            return
        cap = self.cap_of(scope)
        if length.isdigit() and int(length) > cap:
            await self._refuse(cap, scope, receive, send)
            return
        seen = 0
        message = self._message(cap)
        kind = self._kind(cap)

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > cap:  # a chunked body: the reader's error handling answers 413
                    raise kind(message)
            return msg

        await self.app(scope, counted, send)

    async def _refuse(self, cap: int, scope: Scope, receive: Receive, send: Send) -> None:
        too_large = self._kind(cap)(self._message(cap))
        response = JSONResponse(too_large.to_problem(), 413, media_type=PROBLEM)
        await response(scope, receive, send)


def _takes_file(route: APIRoute) -> bool:
    body = route.body_field
    return body is not None and getattr(body.field_info, "media_type", "") == "multipart/form-data"


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
