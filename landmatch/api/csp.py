"""Content-Security-Policy for every HTML page, with a fresh script nonce per response.

One mechanism (see NOTES and the README): :class:`CSPMiddleware` wraps the whole app. For each
``text/html`` response it draws a nonce, adds ``nonce="…"`` to every ``<script`` tag of the
page (folium's inline blocks, our templates' scripts, Swagger UI's) and sends the policy
below. Scripts run only from this server or with the nonce, so markup that slips into a page
through data (``<img onerror=…>``, ``javascript:`` links, ``on…=`` attributes) never runs.
Page authors therefore write no inline event handlers and no ``javascript:`` URLs; inline
``<script>`` blocks and styles are fine. Stored text is escaped before it reaches HTML
(Jinja autoescape, ``textContent`` in JS): the nonce is stamped after rendering, so escaping
is what keeps a stored ``<script>`` text from becoming a tag.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.api.asgi import HTTPMiddleware, buffered
from landmatch.settings import Settings

_SCRIPT_TAG = re.compile(rb"<script(?=[\s>/])(?![^>]*\snonce=)", re.IGNORECASE)
TIANDITU_ORIGIN = "http://*.tianditu.gov.cn"


def basemap_origins(settings: Settings) -> list[str]:
    """Where the configured basemap's tiles come from (images only)."""
    if settings.basemap == "osm":
        u = urlsplit(settings.osm_tile_url)
        return [f"{u.scheme}://{u.netloc.replace('{s}', '*')}"]
    if settings.basemap == "tianditu":
        return [TIANDITU_ORIGIN]
    return []


def policy(settings: Settings, nonce: str) -> str:
    images = " ".join(["'self'", "data:", "blob:", *basemap_origins(settings)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            # Leaflet, folium and Bootstrap set styles inline everywhere; scripts are what matter.
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


def stamp(html: bytes, nonce: str) -> bytes:
    """``html`` with ``nonce`` on every ``<script`` tag that has none."""
    return _SCRIPT_TAG.sub(b'<script nonce="' + nonce.encode() + b'"', html)


class CSPMiddleware(HTTPMiddleware):
    """Stamps a per-response nonce into HTML pages and sends the matching policy."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(app)
        self.settings = settings

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(start: Message, html: bytes, send: Send) -> None:
            nonce = secrets.token_urlsafe(18)
            body = stamp(html, nonce)
            headers = MutableHeaders(raw=start["headers"])
            if scope["method"] != "HEAD":
                headers["content-length"] = str(len(body))
            headers["content-security-policy"] = policy(self.settings, nonce)
            headers["x-content-type-options"] = "nosniff"
            headers["referrer-policy"] = "same-origin"
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, buffered(send, "text/html", stamped))
