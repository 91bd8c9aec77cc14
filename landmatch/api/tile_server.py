"""The lean tile path: cache hits are answered on the event loop without touching the database.

A tile request costs, on a hit, a dictionary lookup or three; the database is reached only

- to render a tile that is not cached (one statement: the tile and its layer's data version);
- to refresh the data versions, at most once per ``tile_version_poll_ms`` per worker;
- to resolve a bearer token not seen within ``token_cache_seconds``.

Staleness bounds (per worker process):

- a committed write reaches tiles and their ETags within ``tile_version_poll_ms`` (default
  200 ms) plus one round trip; a tile is never labelled with a version newer than its data;
- a revoked token or session, or a deactivated user, keeps tile access (to what that role could already see)
  for at most ``token_cache_seconds`` (default 15 s). Only tiles use this cache; every other
  endpoint resolves the token on each request.

Public and internal tiles are separate cache entries (``public`` is part of the key) and are
rendered by the same SQL as before (``landmatch.db.tiles``), so the field separation is the
one defined in ``landmatch.db.parcels``.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from landmatch.accounts.audit import Client
from landmatch.accounts.principals import Credentials, Resolved, resolve
from landmatch.api.security import client_of, parse_credentials
from landmatch.auth import PUBLIC, Principal
from landmatch.db.tiles import NO_FILTER, TileFilter, check_tile, data_versions, render_versioned
from landmatch.errors import InvalidInput, Unauthorized
from landmatch.settings import Settings

MVT = "application/vnd.mapbox-vector-tile"
GZIP_LEVEL = 5

if TYPE_CHECKING:
    from landmatch.api.reads import Reads

SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class Tile:
    etag: str
    body: bytes
    gzipped: bytes | None = None  # filled the first time a client accepts gzip

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"") + 200


class TileCache:
    """An in-process LRU of rendered tiles, bounded by total bytes. Keys include the layer's
    data version, so a write makes every older entry unreachable (and it ages out)."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], Tile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> Tile | None:
        with self._lock:
            tile = self._items.get(key)
            if tile is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return tile

    def put(self, key: tuple[Any, ...], tile: Tile) -> None:
        if tile.size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._items[key] = tile
            self._bytes += tile.size
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)


class DataClock:
    """The layers' data versions as last read, re-read when older than ``interval`` seconds.

    Versions only move forward: a render that saw a newer version advances the clock."""

    def __init__(self, sessions: Callable[[], SessionFactory], interval: float) -> None:
        self._sessions = sessions
        self.interval = interval
        self._versions: dict[str, int] = {}
        self._read_at = float("-inf")
        self._refresh: asyncio.Future[None] | None = None

    def expire(self) -> None:
        """Forget the versions (the next request re-reads them): the invalidation hook."""
        self._read_at = float("-inf")

    def observe(self, layer: str, version: int) -> None:
        if version > self._versions.get(layer, -1):
            self._versions[layer] = version

    async def version(self, layer: str) -> int:
        if time.monotonic() - self._read_at >= self.interval:
            await self._reread()
        return self._versions.get(layer, 0)

    async def _reread(self) -> None:
        # One read in flight per worker; concurrent requests wait for it rather than pile on.
        if self._refresh is None:
            self._refresh = asyncio.ensure_future(run_in_threadpool(self._read))
        refresh = self._refresh
        try:
            await asyncio.shield(refresh)
        finally:
            if self._refresh is refresh and refresh.done():
                self._refresh = None

    def _read(self) -> None:
        started = time.monotonic()
        with self._sessions()() as session:
            fresh = data_versions(session)
        for layer, v in fresh.items():
            self.observe(layer, v)
        self._read_at = started


class TokenCache:
    """Credentials (bearer token, Basic, session cookie) → principal, remembered for ``ttl``
    seconds (revocation bounded by it). Resolved by the one resolver
    (``landmatch.accounts.principals``), so Basic failures are throttled and logged as anywhere;
    a refusal is remembered too, so a wrong password costs one check per ``ttl``. Tiles are
    reads the public may make: a session cookie that names no live session is the public's
    (``Resolved.ended``: the answer clears the cookie)."""

    def __init__(
        self,
        sessions: Callable[[], SessionFactory],
        ttl: float,
        settings: Settings,
        max_entries: int = 10_000,
    ) -> None:
        self._sessions = sessions
        self.ttl = ttl
        self.settings = settings
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[str, str, str], tuple[float, Resolved | None]] = (
            OrderedDict()
        )

    def expire(self) -> None:
        self._items.clear()

    async def principal(self, creds: Credentials, client: Client) -> Resolved:
        now = time.monotonic()
        key = creds.cache_key()
        hit = self._items.get(key)
        if hit is None or now - hit[0] >= self.ttl:
            found = await run_in_threadpool(self._lookup, creds, client)
            self._items[key] = hit = (now, found)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        if hit[1] is None:
            raise Unauthorized("令牌、密码或登录状态无效")
        return hit[1]

    def _lookup(self, creds: Credentials, client: Client) -> Resolved | None:
        with self._sessions()() as session:
            try:
                found = resolve(session, creds, client, self.settings, ended_as_public=True)
            except Unauthorized:
                return None
            session.commit()  # last-used / last-seen marks
            return found


def make_etag(key: tuple[Any, ...]) -> str:
    return '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    return if_none_match.strip() == "*" or etag in (
        t.strip().removeprefix("W/") for t in if_none_match.split(",")
    )


def _coord(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"瓦片坐标 {name} 应为整数：{value}") from None


class TileServer:
    """Serves ``/tiles/{layer}/{z}/{x}/{y}.pbf``; one per application (state is per worker)."""

    def __init__(
        self,
        sessions: Callable[[], SessionFactory],
        cache_mb: int,
        poll_seconds: float,
        token_ttl: float,
        parse_query: Callable[[dict[str, str]], TileFilter],
        settings: Settings,
    ) -> None:
        self.cache = TileCache(cache_mb * 1024 * 1024) if cache_mb > 0 else None
        self.clock = DataClock(sessions, poll_seconds)
        self.tokens = TokenCache(sessions, token_ttl, settings)
        self._sessions = sessions
        self._parse_query = parse_query
        self._filters: dict[str, TileFilter] = {}

    def filters(self, request: Request) -> TileFilter:
        raw = request.scope.get("query_string", b"").decode("latin-1")
        if not raw:
            return NO_FILTER
        found = self._filters.get(raw)
        if found is None:
            found = self._parse_query(dict(request.query_params))
            if len(self._filters) >= 4096:
                self._filters.clear()
            self._filters[raw] = found
        return found

    async def principal(self, request: Request) -> Principal:
        creds = parse_credentials(request)  # bearer, Basic, or the session cookie
        if creds.kind is None:
            return PUBLIC
        resolved = await self.tokens.principal(creds, client_of(request, self.tokens.settings))
        request.state.auth = resolved  # an ended session's cookie is cleared (ClearEndedSession)
        return resolved.principal

    def _render(
        self,
        sessions: SessionFactory,
        layer: str,
        z: int,
        x: int,
        y: int,
        filters: TileFilter,
        public: bool,
    ) -> tuple[int, bytes]:
        with sessions() as session:
            return render_versioned(session, layer, z, x, y, filters, public)

    async def respond(self, request: Request) -> Response:
        p = request.path_params
        layer = p["layer"]
        z, x, y = _coord("z", p["z"]), _coord("x", p["x"]), _coord("y", p["y"])
        filters = self.filters(request)
        public = (await self.principal(request)).is_public
        check_tile(layer, z, x, y, public)
        head = (layer, z, x, y, filters, public)
        # A public tile from the replica when it has replayed what the caller needs
        # (landmatch.api.reads), keyed by the replica's version of the layer: a physical copy
        # has the primary's data at the same version, so both share the cache.
        reads: Reads = request.app.state.reads
        replica = public and await reads.use_replica_async(request)
        if replica and reads.watch is not None and reads.sessions is not None:
            sessions: SessionFactory = reads.sessions
            key = (*head, reads.watch.layer_version(layer))
        else:
            replica, sessions = False, self._sessions()
            key = (*head, await self.clock.version(layer))
        tile = self.cache.get(key) if self.cache is not None else None
        headers = {
            "ETag": tile.etag if tile is not None else make_etag(key),
            "Vary": "Accept-Encoding, Authorization",
            "Cache-Control": "public, no-cache" if public else "private, no-cache",
        }
        if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
            return Response(status_code=304, headers=headers)
        if tile is None:
            version, body = await run_in_threadpool(self._render, sessions, *head)
            if not replica:
                self.clock.observe(layer, version)
            key = (*head, version)
            tile = Tile(make_etag(key), body)
            headers["ETag"] = tile.etag
            if self.cache is not None:
                self.cache.put(key, tile)
        if "gzip" in request.headers.get("accept-encoding", ""):
            if tile.gzipped is None:
                tile = replace(
                    tile, gzipped=await run_in_threadpool(gzip.compress, tile.body, GZIP_LEVEL)
                )
                if self.cache is not None:
                    self.cache.put(key, tile)
            headers["Content-Encoding"] = "gzip"
            return Response(tile.gzipped, media_type=MVT, headers=headers)
        return Response(tile.body, media_type=MVT, headers=headers)


def query_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors located in the query string (for ``RequestValidationError``)."""
    return [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
