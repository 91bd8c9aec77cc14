"""Cross-origin access (CORS) for web maps and apps on other origins.

Two tiers, decided by the request's ``Origin`` and path:

- **Public data** — tiles, the OGC API, the public listings and matching (``PUBLIC``) — may be
  read from any origin, without credentials: ``Access-Control-Allow-Origin: *``. A browser
  never sends cookies or an ``Authorization`` header with such a request (``*`` forbids
  credentials, and ``Authorization`` is never in the allowed headers), so the answer is the
  public view.
- **Credentialed access** (a token or the session cookie) only for the origins an
  administrator lists in ``LANDMATCH_CORS_ORIGINS``: their exact origin is echoed with
  ``Access-Control-Allow-Credentials: true``, on the API paths (``/api``, ``/ogc``, ``/tiles``),
  never on the workbench's pages.

Any other origin's request gets no CORS header (the browser withholds the answer); an origin
is never reflected unless it is configured. Preflights (``OPTIONS`` with
``Access-Control-Request-Method``) are answered here with the path's real methods.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.api.asgi import HTTPMiddleware
from landmatch.api.methods import allowed_methods

# Public data: read from anywhere. (prefix, methods a foreign origin may use)
PUBLIC: tuple[tuple[str, frozenset[str]], ...] = (
    ("/tiles/", frozenset({"GET", "HEAD"})),
    ("/ogc", frozenset({"GET", "HEAD"})),
    ("/api/parcels", frozenset({"GET", "HEAD"})),
    ("/api/zones", frozenset({"GET", "HEAD"})),
    ("/api/policies", frozenset({"GET", "HEAD"})),
    ("/api/identify", frozenset({"GET", "HEAD"})),
    ("/api/search", frozenset({"GET", "HEAD"})),
    ("/api/match", frozenset({"GET", "HEAD", "POST"})),  # public matching is a POST
)
CREDENTIALED = ("/api/", "/ogc", "/tiles/")
PUBLIC_HEADERS = frozenset({"accept", "accept-language", "content-type", "if-none-match"})
CREDENTIALED_HEADERS = PUBLIC_HEADERS | {"authorization", "if-match", "x-csrf-token"}
EXPOSED = "Content-Crs, ETag, Link, Location, Retry-After, WWW-Authenticate"
MAX_AGE = "600"


def _public_methods(path: str) -> frozenset[str]:
    for prefix, methods in PUBLIC:
        if path == prefix.rstrip("/") or path.startswith(prefix):
            return methods
    return frozenset()


def _within(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p) for p in prefixes)


class CORSMiddleware(HTTPMiddleware):
    def __init__(self, app: ASGIApp, router: Router, origins: frozenset[str]) -> None:
        super().__init__(app)
        self.router = router
        self.origins = origins

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        public = _public_methods(path)
        trusted_path = _within(path, CREDENTIALED)
        if not public and not trusted_path:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        trusted = origin is not None and origin.lower() in self.origins and trusted_path
        method = scope["method"]
        if method == "OPTIONS" and origin and "access-control-request-method" in headers:
            await self._preflight(scope, receive, send, headers, origin, trusted, public)
            return
        extra: list[tuple[bytes, bytes]] = [(b"vary", b"Origin")]
        if trusted and origin:
            extra += [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-expose-headers", EXPOSED.encode()),
            ]
        elif origin and method in public:
            extra += [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-expose-headers", EXPOSED.encode()),
            ]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-")
                ]
                vary = [v for k, v in kept if k.lower() == b"vary"]
                if vary:  # merge into the existing Vary
                    kept = [(k, v) for k, v in kept if k.lower() != b"vary"]
                    merged = b", ".join([*vary, b"Origin"])
                    message = {**message, "headers": [*kept, (b"vary", merged), *extra[1:]]}
                else:
                    message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Headers,
        origin: str,
        trusted: bool,
        public: frozenset[str],
    ) -> None:
        wanted = headers["access-control-request-method"].upper()
        asked = {
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        }
        path_methods = set(allowed_methods(self.router, scope))
        if trusted:
            methods = path_methods - {"OPTIONS"}
            may_send = CREDENTIALED_HEADERS
            out = {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
            }
        else:
            methods = path_methods & public
            may_send = PUBLIC_HEADERS
            out = {"Access-Control-Allow-Origin": "*"}
        if wanted not in methods or not asked <= may_send:
            # Not allowed: no CORS header at all, the browser refuses the real request.
            await Response(status_code=204, headers={"Vary": "Origin"})(scope, receive, send)
            return
        out.update(
            {
                "Access-Control-Allow-Methods": ", ".join(m for m in sorted(methods)),
                "Access-Control-Allow-Headers": ", ".join(sorted(asked)) or "Content-Type",
                "Access-Control-Max-Age": MAX_AGE,
                "Vary": "Origin",
            }
        )
        await Response(status_code=204, headers=out)(scope, receive, send)
