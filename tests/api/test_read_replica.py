"""Public reads on a streaming replica (issue #20 item 5, ``LANDMATCH_READ_DATABASE_URL``).

One private primary cluster with a small seeded inventory and its streaming standby
(pg_basebackup -R), started once for the module; the app runs in a thread against both. Replay
on the standby is paused with ``pg_wal_replay_pause()`` to make lag deterministic: a write is
then on the primary only, so which value a request sees says which server answered it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy import create_engine, text

from landmatch.db.engine import upgrade
from landmatch.db.replica import ReplicaWatch
from landmatch.settings import load_settings
from tests.conftest import _free_port
from tests.pgcluster import Cluster, own_dir
from tests.serving import served

DB = "landmatch_replica"
MATCH = {"industry": "36", "area_mu_min": 5, "area_mu_max": 500, "top": 5}
WAIT_S = 60  # how long the test waits for replay to catch up (a bound, never an assertion)


@pytest.fixture(scope="module")
def pair() -> Iterator[dict[str, Any]]:
    """A primary with a migrated, seeded database, and its streaming standby."""
    root = own_dir(Path(tempfile.mkdtemp(prefix="lm-replica-")))
    primary = Cluster(root, "primary", _free_port())
    standby = Cluster(root, "standby", _free_port())
    try:
        primary.initdb()
        primary.start()
        with psycopg.connect(primary.url(driver="postgresql"), autocommit=True) as c:
            c.execute(f"CREATE DATABASE {DB}")
        upgrade(primary.url(DB))
        engine = create_engine(primary.url(DB))
        from landmatch.seed.run import seed

        with engine.begin() as conn:
            seed(conn, n=200, seed_value=7)
        engine.dispose()
        standby.base_backup(primary)
        standby.start()
        yield {"primary": primary, "standby": standby}
    finally:
        standby.stop("immediate")
        primary.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def _sql(cluster: Cluster, sql: str, *params: object) -> Any:
    with psycopg.connect(cluster.url(DB, driver="postgresql"), autocommit=True) as c:
        return c.execute(sql, params).fetchone()[0]  # type: ignore[index]


@contextlib.contextmanager
def replay_paused(standby: Cluster) -> Iterator[None]:
    """Replay stopped on the standby (what the primary commits meanwhile is not seen there)."""
    _sql(standby, "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + WAIT_S
    while _sql(standby, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the standby did not pause its replay"
        time.sleep(0.02)
    try:
        yield
    finally:
        _sql(standby, "SELECT pg_wal_replay_resume()")


def caught_up(pair: dict[str, Any]) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    target = _sql(pair["primary"], "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + WAIT_S
    while not _sql(pair["standby"], "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", target):
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def server(pair: dict[str, Any]) -> Iterator[str]:
    """The app on the pair: primary for writes and signed-in reads, the standby for the public.
    ``replica_poll_ms=0``: each routed request re-reads the replica's data version."""
    from landmatch.accounts.users import add_user
    from landmatch.api.app import create_app

    settings = load_settings(
        database_url=pair["primary"].url(DB),
        read_database_url=pair["standby"].url(DB),
        replica_poll_ms=0,
        mode="test",
        db_connect_timeout=2,
        db_pool_timeout=1,
        db_statement_timeout=3,
        settle_poll_seconds=0,
    )
    from sqlalchemy.orm import Session

    engine = create_engine(settings.database_url)
    with Session(engine) as s:
        pair["token"] = add_user(s, "replica-admin", "admin")
        s.commit()
    engine.dispose()
    caught_up(pair)
    with served(create_app(settings)) as url:
        yield url


def _code(pair: dict[str, Any]) -> str:
    return str(
        _sql(
            pair["primary"],
            "SELECT code FROM landmatch.parcel WHERE status = 'ready' AND visibility = 'public' "
            "AND deleted_at IS NULL ORDER BY code LIMIT 1",
        )
    )


def _tile(pair: dict[str, Any], code: str) -> str:
    """The z12 tile holding the parcel."""
    from landmatch.db.tiles import tile_at

    lonlat = _sql(
        pair["primary"],
        "SELECT array[ST_X(p), ST_Y(p)] FROM (SELECT ST_PointOnSurface(geom) AS p "
        "FROM landmatch.parcel WHERE code = %s) s",
        code,
    )
    x, y = tile_at(lonlat[0], lonlat[1], 12)
    return f"/tiles/parcels/12/{x}/{y}.pbf"


def _rename(c: httpx.Client, token: str, code: str, name: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}"}
    etag = c.get(f"/api/parcels/{code}", headers=auth).headers["ETag"]
    r = c.patch(f"/api/parcels/{code}", json={"name": name}, headers={**auth, "If-Match": etag})
    assert r.status_code == 200, r.text
    return r


def _name(c: httpx.Client, code: str, **headers: str) -> str:
    r = c.get(f"/api/parcels/{code}", headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["properties"]["name"])


def test_the_standby_is_a_replica(pair: dict[str, Any]) -> None:
    assert _sql(pair["standby"], "SELECT pg_is_in_recovery()") is True
    assert _sql(pair["primary"], "SELECT pg_is_in_recovery()") is False


def test_public_reads_the_replica_the_writer_reads_its_write(
    pair: dict[str, Any], server: str
) -> None:
    code = _code(pair)
    token = pair["token"]
    auth = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=server, timeout=30) as public,
        httpx.Client(base_url=server, timeout=30) as writer,
    ):
        before = _name(public, code)
        tile = "/tiles/parcels/12/3322/1552.pbf"
        tile_etag = public.get(tile).headers["ETag"]
        ogc = "/ogc/collections/parcels/items?limit=1000"
        with replay_paused(pair["standby"]):
            r = _rename(writer, token, code, "副本测试地块")
            version = int(r.headers["X-Data-Version"])
            assert writer.cookies.get("lm_dv") == str(version)
            # The writer sees its write at once: signed in (the primary), and signed out
            # with the version its write answered (the replica has not replayed it).
            assert _name(writer, code, **auth) == "副本测试地块"
            assert _name(writer, code) == "副本测试地块"
            assert _name(public, code, **{"X-Data-Version": str(version)}) == "副本测试地块"
            # The public reads the replica, which has not replayed the write: the old name,
            # in the listing, the OGC API and the tiles' versions alike.
            assert _name(public, code) == before
            listed = public.get("/api/parcels", params={"limit": 1000}).json()["features"]
            assert {f["properties"]["name"] for f in listed if f["properties"]["code"] == code} == {
                before
            }
            items = public.get(ogc).json()["features"]
            assert [f["properties"]["name"] for f in items if f["properties"]["code"] == code] == [
                before
            ]
            assert public.get(tile).headers["ETag"] == tile_etag
            card = public.get(f"/parcels/{code}/card.html").text  # the map's card fragment
            assert before in card and "副本测试地块" not in card
            # A public match is computed on the replica (its data version is the replica's)
            # and kept on the primary (read back at once); it sets no version cookie.
            with httpx.Client(base_url=server, timeout=30) as investor:
                m = investor.post("/api/match", json=MATCH)
                assert m.status_code == 200, m.text
                assert "x-data-version" not in m.headers and not investor.cookies
                replayed = _sql(
                    pair["standby"], "SELECT version FROM landmatch.data_state WHERE name = 'all'"
                )
                assert m.json()["data_version"] == replayed < version
                assert m.json()["features"]
                run = investor.get(f"/api/match/{m.json()['match_id']}")
                assert run.status_code == 200 and run.json() == m.json()
        caught_up(pair)
        # Replayed: the next poll (every request here) sees it, and so does the public.
        assert _name(public, code) == "副本测试地块"
        items = public.get(ogc).json()["features"]
        assert [f["properties"]["name"] for f in items if f["properties"]["code"] == code] == [
            "副本测试地块"
        ]
        assert public.get(tile).headers["ETag"] != tile_etag


def test_the_poll_interval_bounds_what_a_worker_knows(pair: dict[str, Any]) -> None:
    """A worker learns of replayed writes at its next poll of the replica, not before."""
    engine = create_engine(pair["standby"].url(DB))
    try:
        watch = ReplicaWatch(engine, interval=3600)
        watch.refresh()
        seen = watch.version()
        assert seen is not None and not watch.due
        with create_engine(pair["primary"].url(DB)).begin() as conn:
            conn.execute(text("UPDATE landmatch.parcel SET name = name WHERE id = 1"))
            now = conn.execute(
                text("SELECT version FROM landmatch.data_state WHERE name = 'all'")
            ).scalar()
        caught_up(pair)
        assert now is not None and now > seen
        assert not watch.serves(now)  # replayed, but not polled yet
        watch.expire()
        assert watch.due
        watch.refresh()
        assert watch.serves(now) and watch.version() == now
    finally:
        engine.dispose()


def _run(cluster: Cluster, statement: str | sql.Composed) -> None:
    with psycopg.connect(cluster.url(DB, driver="postgresql"), autocommit=True) as c:
        c.execute(statement)


@contextlib.contextmanager
def stream_lost(standby: Cluster) -> Iterator[None]:
    """The standby's WAL stream cut (no primary_conninfo) while the primary goes on: the
    standby has replayed all it received, and receives nothing more."""
    conninfo = sql.Literal(_sql(standby, "SHOW primary_conninfo"))
    _run(standby, "ALTER SYSTEM SET primary_conninfo = ''")
    _run(standby, "SELECT pg_reload_conf()")
    deadline = time.monotonic() + WAIT_S
    while _sql(standby, "SELECT count(*) FROM pg_stat_wal_receiver"):
        assert time.monotonic() < deadline, "the standby kept its WAL stream"
        time.sleep(0.05)
    try:
        yield
    finally:
        _run(standby, sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(conninfo))
        _run(standby, "SELECT pg_reload_conf()")


FALLING_BEHIND = {"replay paused": replay_paused, "stream lost": stream_lost}


@pytest.mark.parametrize("how", sorted(FALLING_BEHIND))
def test_a_replica_past_the_lag_cap_serves_nobody(
    pair: dict[str, Any], server: str, how: str
) -> None:
    """A replica short of the primary's data for longer than ``replica_max_lag_s`` — replay
    paused, or its WAL stream lost while the primary goes on (then the standby itself sees no
    lag) — serves nobody: the public reads the primary (even a request that needs no
    particular version) and /healthz says the replica lags; caught up, the replica serves
    again. The module's server (the default 30 s cap) keeps the replica meanwhile."""
    from landmatch.api.app import create_app

    settings = load_settings(
        database_url=pair["primary"].url(DB),
        read_database_url=pair["standby"].url(DB),
        replica_poll_ms=0,
        replica_max_lag_s=1,
        mode="test",
        db_connect_timeout=2,
        db_pool_timeout=1,
        settle_poll_seconds=0,
    )
    code = _code(pair)
    renamed = f"滞后测试地块（{how}）"
    caught_up(pair)
    with (
        served(create_app(settings)) as capped_url,
        httpx.Client(base_url=capped_url, timeout=30) as capped,
        httpx.Client(base_url=server, timeout=30) as default,
    ):
        health = capped.get("/healthz").json()["replica"]
        assert health["state"] == "ok" and health["serving"] is True
        assert health["lag_s"] == 0 and health["max_lag_s"] == 1
        assert health["data_version"] > 0
        before = _name(capped, code)
        with FALLING_BEHIND[how](pair["standby"]):
            _sql(
                pair["primary"],
                "UPDATE landmatch.parcel SET name = %s WHERE code = %s RETURNING 1",
                renamed,
                code,
            )
            deadline = time.monotonic() + WAIT_S
            while (health := capped.get("/healthz").json()["replica"])["state"] != "lagging":
                assert time.monotonic() < deadline, health
                time.sleep(0.1)
            assert health["lag_s"] > 1 and health["serving"] is False
            assert _name(capped, code) == renamed  # the primary answered
            assert _name(default, code) == before  # within 30 s: still the replica
            assert default.get("/healthz").json()["replica"]["state"] == "ok"
        caught_up(pair)
        health = capped.get("/healthz").json()["replica"]
        assert health["state"] == "ok" and health["serving"] is True and health["lag_s"] == 0
        assert _name(capped, code) == renamed


def test_the_primary_down_keeps_the_public_map_up(pair: dict[str, Any], server: str) -> None:
    code = _code(pair)
    auth = {"Authorization": f"Bearer {pair['token']}"}
    tile = _tile(pair, code)
    caught_up(pair)
    pair["primary"].stop("fast")
    try:
        with httpx.Client(base_url=server, timeout=30) as c:
            assert c.get("/map").status_code == 200
            assert c.get("/api/map/places").status_code == 200
            assert c.get(tile).status_code == 200
            assert c.get("/ogc/collections/parcels/items").status_code == 200
            assert c.get("/api/parcels").json()["numberMatched"] > 0
            assert _name(c, code)
            # Writes, and reads that must see the primary, answer 503 in Chinese.
            for r in (
                c.patch(f"/api/parcels/{code}", json={"name": "x"}, headers=auth),
                c.post("/api/match", json=MATCH),  # its run is kept on the primary
                c.get(f"/api/parcels/{code}", headers=auth),
            ):
                assert r.status_code == 503, r.text
                assert r.headers["content-type"].startswith("application/problem+json")
                assert "数据库" in r.json()["detail"]
    finally:
        pair["primary"].start()


def test_every_public_read_is_a_route_of_the_app() -> None:
    """The routing rule names routes by path: a renamed route must not drop out silently
    (API routes and pages alike: the map and its card fragment are pages)."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import Route

    from landmatch.api.app import create_app
    from landmatch.api.reads import PUBLIC_READS

    app = create_app(load_settings(mode="test", settle_poll_seconds=0))
    gets = {
        str(c.path)
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, Route) and "GET" in (c.original_route.methods or ())
    }
    assert gets >= PUBLIC_READS, PUBLIC_READS - gets
