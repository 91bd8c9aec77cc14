"""Which database a read goes to: the primary, or the streaming replica
(``LANDMATCH_READ_DATABASE_URL``).

A request reads the replica when all of these hold:

- a replica is configured;
- the route is a public read: tiles, the OGC API's collections and items, the public parcel
  listing, the public map and its data, the computation of a public match (its run is stored on
  the primary);
- the caller sent no credentials (a bearer token, Basic or the session cookie): signed-in staff
  and scripts read the primary, so they always see what they wrote;
- the replica has replayed the data version the request needs: the ``lm_dv`` cookie or the
  ``X-Data-Version`` header, whichever is higher (0 without either). Every successful write
  answers with both (the primary's ``all`` version after its commit), so a writer that then reads
  as the public — a script without its token, a browser after signing out — reads the primary
  until the replica has caught up with its write, and the replica afterwards;
- the replica answered the last poll of its data versions (``landmatch.db.replica``), re-read at
  most every ``replica_poll_ms`` per worker.

Everything else — writes, signed-in reads, stored match runs, pages for staff — uses the
primary. With the primary down and the replica up, public reads keep working and writes answer
503 problem+json (``landmatch.db.failures``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmatch.api.asgi import HTTPMiddleware
from landmatch.api.security import SAFE_METHODS, is_https, parse_credentials
from landmatch.db.replica import ALL_VERSION_SQL, ReplicaWatch
from landmatch.errors import LandMatchError
from landmatch.settings import Settings

VERSION_COOKIE = "lm_dv"
VERSION_HEADER = "x-data-version"
#: How long a writer's version cookie is kept: far longer than any replica lag worth serving.
VERSION_COOKIE_SECONDS = 600


def needed_version(conn: HTTPConnection) -> int:
    """The data version this request must see: the writer's cookie or header, else 0."""
    found = 0
    for raw in (conn.cookies.get(VERSION_COOKIE), conn.headers.get(VERSION_HEADER)):
        if raw and raw.strip().isdigit() and len(raw.strip()) < 19:
            found = max(found, int(raw.strip()))
    return found


def _public(conn: HTTPConnection) -> bool:
    try:
        return parse_credentials(conn).kind is None
    except LandMatchError:  # a malformed Authorization header: the route answers 401
        return False


class Reads:
    """The replica's session factory and watch, and the routing rule of this module."""

    def __init__(self, watch: ReplicaWatch | None, sessions: sessionmaker[Session] | None) -> None:
        self.watch = watch
        self.sessions = sessions

    def _eligible(self, conn: HTTPConnection) -> bool:
        return self.watch is not None and _public(conn)

    def use_replica(self, conn: HTTPConnection) -> bool:
        """The rule, for synchronous callers (re-reads the replica's versions when due)."""
        if self.watch is None or not self._eligible(conn):
            return False
        if self.watch.due:
            self.watch.refresh()
        return self.watch.serves(needed_version(conn))

    async def use_replica_async(self, conn: HTTPConnection) -> bool:
        """The same rule on the event loop: the re-read (when due) runs in the thread pool."""
        if self.watch is None or not self._eligible(conn):
            return False
        if self.watch.due:
            await run_in_threadpool(self.watch.refresh)
        return self.watch.serves(needed_version(conn))


#: The public-read routes (GET and HEAD), by path: their ``SessionDep`` is the replica's when
#: the rule allows (``landmatch.api.deps.get_session``). tests/api/test_read_replica.py checks
#: that each is a route of the app.
PUBLIC_READS = frozenset(
    {
        "/map",
        "/api/map/places",
        "/api/search",
        "/api/parcels/{code}/card",
        "/parcels/{code}/card.html",
        "/api/identify",
        "/api/parcels",
        "/api/parcels/{code}",
        "/ogc/collections",
        "/ogc/collections/{cid}",
        "/ogc/collections/{cid}/items",
        "/ogc/collections/{cid}/items/{fid}",
        "/ogc/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}",
    }
)
READ_METHODS = frozenset({"GET", "HEAD"})


def replica_sessions(request: Request) -> sessionmaker[Session] | None:
    """The replica's session factory when this request is a public read the replica may
    answer (the rule above), else None (the primary)."""
    reads: Reads = request.app.state.reads
    route = request.scope.get("route")
    if (
        reads.sessions is None
        or request.method not in READ_METHODS
        or getattr(route, "path", None) not in PUBLIC_READS
        or not reads.use_replica(request)
    ):
        return None
    return reads.sessions


@contextlib.contextmanager
def read_session(request: Request, primary: Session) -> Iterator[Session]:
    """For a route that reads and writes (a public match): a replica session for its reads
    when the rule allows it, else ``primary`` itself."""
    reads: Reads = request.app.state.reads
    if reads.sessions is None or not reads.use_replica(request):
        yield primary
        return
    with reads.sessions() as replica:
        yield replica


def _primary_version(sessions: Callable[[], Session]) -> int | None:
    with contextlib.suppress(Exception), sessions() as session:
        v = session.execute(text(ALL_VERSION_SQL)).scalar()
        return int(v or 0)
    return None


class DataVersionMiddleware(HTTPMiddleware):
    """After a successful write with credentials (unsafe method, status below 400), tell the
    writer the primary's data version: ``X-Data-Version`` and the ``lm_dv`` cookie, which the
    routing rule reads back. The public's writes (a match run, an inquiry) bump no data version
    and get neither. Only with a replica configured (without one nothing needs it)."""

    def __init__(
        self, app: ASGIApp, sessions: Callable[[], Callable[[], Session]], settings: Settings
    ) -> None:
        super().__init__(app)
        self.sessions = sessions
        self.settings = settings

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["method"] in SAFE_METHODS
            or _public(HTTPConnection(scope))  # the public's writes change no data version
        ):
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                version = await run_in_threadpool(_primary_version, self.sessions())
                if version is not None:
                    headers = MutableHeaders(scope=message)
                    headers.append("X-Data-Version", str(version))
                    https = is_https(HTTPConnection(scope), self.settings)
                    secure = "; Secure" if https else ""
                    headers.append(
                        "Set-Cookie",
                        f"{VERSION_COOKIE}={version}; Max-Age={VERSION_COOKIE_SECONDS}; "
                        f"Path=/; HttpOnly; SameSite=Lax{secure}",
                    )
            await send(message)

        await self.app(scope, receive, stamped)
