"""HTTP methods as RFC 9110 wants them, for every route at once.

- ``HEAD`` wherever ``GET`` works (§9.3.2): the request runs as ``GET`` and the body is
  dropped, the headers (``Content-Length``, ``ETag``, ``Link`` …) kept.
- ``OPTIONS`` answers 204 with ``Allow`` listing every method the path takes (§9.3.7).
- A method the path does not take answers 405 with that same ``Allow`` (§15.5.6). Routing
  alone would name the methods of the first route matching the path only (``GET`` where
  another route of the same path takes ``PATCH`` and ``DELETE``). The refusal is found here
  and answered by :class:`RefuseMethod`, a guard inside ``problems.PageErrors``: a browser
  gets the error page (a ``/workbench`` URL opened with a method it does not take), programs
  problem+json.

The methods of a path are found by asking each route whether it would take the request with
each method, so nothing is declared twice. CORS preflights (``OPTIONS`` with
``Access-Control-Request-Method``) are answered by :mod:`landmatch.api.cors` before this.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Match, Mount, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.api.asgi import HTTPMiddleware
from landmatch.api.problems import problem

PROBED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# The scope key by which MethodsMiddleware hands a refused method's Allow to RefuseMethod (set
# by the server only: a client cannot put anything in the scope).
REFUSED = "landmatch.refused_method"
ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """The methods the request's path takes (with HEAD where GET is, and OPTIONS), in a fixed
    order; empty when no route has the path."""
    found: set[str] = set()
    for route in router.routes:
        if isinstance(route, Mount):  # static files: read-only
            if route.matches({**scope, "method": "GET"})[0] == Match.FULL:
                found |= {"GET", "HEAD"}
            continue
        for method in PROBED:
            if method not in found and route.matches({**scope, "method": method})[0] == Match.FULL:
                found.add(method)
    if not found:
        return []
    if "GET" in found:
        found.add("HEAD")
    found.add("OPTIONS")
    return [m for m in ORDER if m in found]


class MethodsMiddleware(HTTPMiddleware):
    def __init__(self, app: ASGIApp, router: Router) -> None:
        super().__init__(app)
        self.router = router

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "GET" or method == "POST":  # the common case: nothing to decide
            await self.app(scope, receive, send)
            return
        allowed = allowed_methods(self.router, scope)
        if not allowed:  # no such path: the app's own 404
            await self.app(scope, receive, send)
            return
        allow = {"Allow": ", ".join(allowed)}
        if method == "OPTIONS":
            await Response(status_code=204, headers=allow)(scope, receive, send)
        elif method not in allowed:  # answered inside the error pages (RefuseMethod)
            await self.app({**scope, REFUSED: allow["Allow"]}, receive, send)
        elif method == "HEAD" and not self._route_takes_head(scope):
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
        else:
            await self.app(scope, receive, send)

    def _route_takes_head(self, scope: Scope) -> bool:
        """Whether a route answers HEAD itself (Starlette routes and static files do)."""
        for route in self.router.routes:
            if route.matches(scope)[0] == Match.FULL:
                return True
            if route.matches({**scope, "method": "GET"})[0] == Match.FULL:
                return False  # the first GET route for the path does not take HEAD
        return False


class RefuseMethod(HTTPMiddleware):
    """405 with ``Allow`` for a method the path does not take, as :class:`MethodsMiddleware`
    found it; a guard inside ``problems.PageErrors`` (``landmatch.api.app``), so a browser's
    refusal is the error page."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        allow = scope.get(REFUSED)
        if allow is None:
            await self.app(scope, receive, send)
            return
        detail = f"{scope['path']} 不支持 {scope['method']}；支持：{allow}"
        response = problem(405, "不支持的请求方法", detail, headers={"Allow": allow})
        await response(scope, receive, send)


def _without_body(send: Send) -> Send:
    done = False

    async def head_send(message: Message) -> None:
        nonlocal done
        if message["type"] == "http.response.body":
            if done:
                return
            done = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await send(message)

    return head_send
