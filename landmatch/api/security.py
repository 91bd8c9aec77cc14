"""HTTP side of sign-in: which credentials a request carries, where it came from, the session
cookie, CSRF, the ``WWW-Authenticate`` challenge and the refusal of credentials in URLs.

- ``Authorization: Bearer <token>`` and ``Authorization: Basic <user:password-or-token>``
  are for scripts and desktop GIS; they need no CSRF token.
- The ``lm_session`` cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS) is the workbench's
  sign-in. Every request with an unsafe method that is authenticated by it must carry the
  session's CSRF token, as the ``X-CSRF-Token`` header (scripts, htmx) or the ``csrf_token``
  form field; ``landmatch.api.deps.get_auth`` checks it wherever the cookie is resolved, so no
  route can be reached as the cookie's user without it.
- A cookie that names no live session (it idled out, was signed out or revoked, or was never
  ours) makes a GET or HEAD the public's, and a write the public may make (a match, an
  inquiry; ``landmatch.api.deps.get_public_write_auth``) that sends no CSRF token: the answer
  is the public's and clears the cookie (:class:`ClearEndedSession`), so a browser left with
  an old cookie keeps the public map.
  The cookie keeps the session's absolute lifetime rather than its idle one: renewing it on
  every request would put a ``Set-Cookie`` on every answer (tiles included), and an ended
  cookie costs nothing now.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.accounts.audit import Client
from landmatch.accounts.principals import NONE, Credentials
from landmatch.accounts.sessions import SignedIn
from landmatch.api.asgi import HTTPMiddleware
from landmatch.api.problems import CHALLENGE as CHALLENGE  # the 401 challenge, answered there
from landmatch.api.problems import problem
from landmatch.errors import Forbidden, Unauthorized, UnsupportedMediaType
from landmatch.settings import Settings

SESSION_COOKIE = "lm_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The methods of the public's reads: with a session cookie that names no live session, these
# are answered as to the public (``landmatch.api.deps.get_auth``); anything else gets 401 but
# the public's own writes (``landmatch.api.deps.get_public_write_auth``).
PUBLIC_READS = frozenset({"GET", "HEAD"})
# Query parameters that would put a credential in a URL (and so in logs and histories).
QUERY_CREDENTIALS = frozenset({"token", "access_token"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def parse_credentials(conn: HTTPConnection) -> Credentials:
    """The credentials of a request: the Authorization header first, else the session cookie."""
    header = conn.headers.get("authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return Credentials("bearer", value)
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthorized("Basic 认证格式错误：应为 base64(用户名:密码)") from None
            user, sep, secret = decoded.partition(":")
            if not sep or not user or not secret:
                raise Unauthorized("Basic 认证格式错误：应为 base64(用户名:密码)")
            return Credentials("basic", secret, user)
        raise Unauthorized(
            "Authorization 头格式应为：Bearer <令牌>，或 Basic <base64(用户名:密码或令牌)>"
        )
    cookie = conn.cookies.get(SESSION_COOKIE)
    return Credentials("session", cookie) if cookie else NONE


def _trusted(peer: str | None, settings: Settings) -> bool:
    if not peer or not settings.trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(ip in net for net in settings.proxy_networks)


def client_of(conn: HTTPConnection, settings: Settings) -> Client:
    """The client's address (through trusted proxies' X-Forwarded-For) and user agent."""
    address = conn.client.host if conn.client else None
    if _trusted(address, settings):
        hops = [h.strip() for h in conn.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        # Walk from the nearest hop; the first address not of a trusted proxy is the client.
        for hop in reversed(hops):
            address = hop
            if not _trusted(hop, settings):
                break
    return Client(address, conn.headers.get("user-agent"))


def own_origin(origin: str, conn: HTTPConnection, settings: Settings) -> bool:
    """Whether a browser's ``Origin`` is this site: the host the request was sent to, the
    configured public address (``LANDMATCH_PUBLIC_BASE_URL``), or an origin an administrator
    allowed (``LANDMATCH_CORS_ORIGINS``)."""
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc:
        return False
    if parts.netloc == conn.headers.get("host", ""):
        return True
    public = urlsplit(settings.public_base_url)
    if public.netloc and (parts.scheme, parts.netloc.lower()) == (
        public.scheme,
        public.netloc.lower(),
    ):
        return True
    return origin.lower() in settings.cors_origin_set


def json_from_our_pages(request: Request, refused: str) -> None:
    """A public write comes as JSON (415 otherwise), and from a page of this site when a
    browser says where (403 ``refused`` for another site's ``Origin``). A page elsewhere can
    then only send one through a CORS preflight, which is refused: no other site's form,
    posted as text/plain or form-encoded without a preflight, writes from its visitors'
    addresses."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json":
        raise UnsupportedMediaType(
            f"请求体应为 JSON（Content-Type: application/json），收到：{kind[:60] or '未注明'}"
        )
    origin = request.headers.get("origin")
    if origin is not None and not own_origin(origin, request, request.app.state.settings):
        raise Forbidden(refused)


def base_url(conn: HTTPConnection, settings: Settings) -> str:
    """Where absolute links point (no trailing slash): the configured public address
    (``LANDMATCH_PUBLIC_BASE_URL``) when set; else the host the request names, over HTTPS
    when :func:`is_https` says so. A client's ``Host`` header chooses the links only on a
    server whose public address is not configured."""
    if settings.public_base_url:
        return settings.public_base_url
    scheme = "https" if is_https(conn, settings) else "http"
    return f"{scheme}://{conn.url.netloc}{conn.scope.get('root_path', '')}".rstrip("/")


def is_https(conn: HTTPConnection, settings: Settings) -> bool:
    """Whether the browser talks HTTPS to us: the public URL says so, the connection is TLS,
    or a trusted proxy says it terminated TLS."""
    if settings.public_base_url.startswith("https://") or conn.url.scheme == "https":
        return True
    peer = conn.client.host if conn.client else None
    return _trusted(peer, settings) and conn.headers.get("x-forwarded-proto", "") == "https"


def set_session_cookie(
    response: Response, conn: HTTPConnection, settings: Settings, value: str
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(settings.session_absolute_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(conn, settings),
    )


def clear_session_cookie(response: Response, conn: HTTPConnection, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(conn, settings)
    )


class ClearEndedSession(HTTPMiddleware):
    """Clear the session cookie of a request that it could not sign in and that was answered
    as the public's (``Resolved.ended``, left in the request's state by ``get_auth`` and the
    tile server), whatever the answer; such an answer is never for a shared cache. Outermost,
    so an error page keeps the header."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(app)
        self.settings = settings

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.setdefault("state", {})

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start" and getattr(
                state.get("auth"), "ended", False
            ):
                cleared = Response()
                clear_session_cookie(cleared, HTTPConnection(scope), self.settings)
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", cleared.headers["set-cookie"])
                cache = headers.get("cache-control")
                if cache is not None and "public" in cache:
                    headers["cache-control"] = cache.replace("public", "private")
            await send(message)

        await self.app(scope, receive, wrapped)


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token a state-changing cookie request carries: the header, else (for a form)
    the ``csrf_token`` field. Reads nothing for safe methods or other credentials."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("authorization") or SESSION_COOKIE not in request.cookies:
        return None
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def check_csrf(signed_in: SignedIn, submitted: str | None, method: str) -> None:
    if method in SAFE_METHODS:
        return
    if not submitted or not hmac.compare_digest(submitted.encode(), signed_in.csrf_token.encode()):
        raise Forbidden("请求缺少有效的 CSRF 令牌：请刷新页面后重试")


class RefuseQueryCredentials(HTTPMiddleware):
    """Answer 400 to any request with ``?token=`` or ``?access_token=``, before any route.

    The credential is blanked in the request's scope first, so the server's access log (which
    reads the same scope when the response goes out) never records it."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("query_string"):
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            if any(k.lower() in QUERY_CREDENTIALS for k, _ in pairs):
                scope["query_string"] = urlencode(
                    [(k, "***" if k.lower() in QUERY_CREDENTIALS else v) for k, v in pairs]
                ).encode("latin-1")
                response = problem(
                    400,
                    "请求无效",
                    "网址中不能携带令牌或密码（会被记录在日志和浏览历史中）："
                    "请使用 Authorization 请求头（Bearer 或 Basic），或登录工作台",
                    "/problems/credential-in-url",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
