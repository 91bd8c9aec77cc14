"""``create_app(settings)`` builds the application; nothing happens at import time."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from landmatch import __version__
from landmatch.api import openapi, problems
from landmatch.api.cors import CORSMiddleware
from landmatch.api.csp import CSPMiddleware
from landmatch.api.limits import BodyLimitMiddleware, slots
from landmatch.api.methods import MethodsMiddleware, RefuseMethod
from landmatch.api.reads import DataVersionMiddleware, Reads
from landmatch.api.routes import (
    dashboard,
    exports,
    health,
    imports,
    industries,
    inquiries,
    layers,
    match,
    monitoring,
    ogc,
    pages,
    parcel_edits,
    parcels,
    policies,
    projects,
    proposals,
    qa,
    tiles,
    users,
    workbench,
    zones,
)
from landmatch.api.security import ClearEndedSession, RefuseQueryCredentials
from landmatch.dates import BEIJING, beijing_now, beijing_today
from landmatch.db import derived
from landmatch.db.engine import (
    get_engine,
    health_limits,
    job_engine,
    read_engine,
    request_engine,
    session_factory,
)
from landmatch.db.failures import unavailable
from landmatch.db.health import Probe
from landmatch.db.replica import ReplicaWatch
from landmatch.maps import brochure
from landmatch.match import runs
from landmatch.monitoring import export, summary
from landmatch.monitoring.export_jobs import Exporter
from landmatch.monitoring.rules import default_rule
from landmatch.monitoring.summary import Figures
from landmatch.settings import Settings

log = logging.getLogger("landmatch.settle")


def _settle_pending(engine: Engine) -> None:
    with engine.connect() as conn:
        waiting = derived.pending(conn)
    if waiting["facts"] or waiting["cells"]:
        derived.drain(engine)


async def _settler(engine: Engine, every: float) -> None:
    """Settle derived data left queued (an import whose process stopped before settling)."""
    while True:
        try:
            await run_in_threadpool(_settle_pending, engine)
        except Exception as exc:  # noqa: BLE001 - keep serving; the next round retries
            if unavailable(exc):  # one line per round while the database is away
                log.warning("settling derived parcel data: database unavailable (%s)", exc)
            else:
                log.exception("settling derived parcel data failed")
        await asyncio.sleep(every)


def _prune_runs(engine: Engine, retention_days: int) -> int:
    with engine.begin() as conn:
        return runs.prune(conn, retention_days)


async def _pruner(engine: Engine, retention_days: int) -> None:
    """Delete match runs past their retention period: a minute after start, then hourly."""
    await asyncio.sleep(60)
    while True:
        try:
            deleted = await run_in_threadpool(_prune_runs, engine, retention_days)
            if deleted:
                log.info("deleted %d match runs older than %d days", deleted, retention_days)
        except Exception as exc:  # noqa: BLE001 - keep serving; the next round retries
            log.warning("pruning match runs failed: %s", exc)
        await asyncio.sleep(3600)


def _warm_figures(engine: Engine, settings: Settings) -> int:
    return summary.warm(engine, beijing_today(), default_rule(settings.idle_fee_rate))


async def _warmer(engine: Engine, settings: Settings) -> None:
    """The day's dashboard figures computed before anyone asks: some seconds after start, then
    just after each midnight (a new day's idle stages are new figures)."""
    await asyncio.sleep(settings.dashboard_warm_seconds)
    while True:
        try:
            computed = await run_in_threadpool(_warm_figures, engine, settings)
            if computed:
                logging.getLogger("landmatch.monitoring").info(
                    "computed %d sets of the day's dashboard figures", computed
                )
        except Exception as exc:  # noqa: BLE001 - keep serving; a view computes them itself
            logging.getLogger("landmatch.monitoring").warning(
                "warming the dashboard figures failed: %s", exc
            )
        now = beijing_now()
        next_day = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0, 0, 5), BEIJING)
        await asyncio.sleep(max((next_day - now).total_seconds(), 60.0))


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        swept = await run_in_threadpool(export.sweep_abandoned)
        if swept:
            logging.getLogger("landmatch.export").info(
                "removed %d temporary export files of stopped processes", swept
            )
        tasks = []
        if settings.settle_poll_seconds > 0:
            tasks.append(
                asyncio.create_task(_settler(app.state.job_engine, settings.settle_poll_seconds))
            )
        if settings.dashboard_warm_seconds > 0:
            tasks.append(asyncio.create_task(_warmer(app.state.job_engine, settings)))
        if settings.match_run_retention_days > 0:
            tasks.append(
                asyncio.create_task(
                    _pruner(app.state.job_engine, settings.match_run_retention_days)
                )
            )
        yield
        for task in tasks:
            task.cancel()

    app = FastAPI(
        title="landmatch 熟地清单与选址匹配",
        version=__version__,
        description="河北省熟地清单“一张图”与项目选址匹配 API",
        lifespan=lifespan,
        docs_url=None,  # served by pages.api_docs from our own swagger-ui-dist (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    # Requests and long jobs (imports, exports, settling) have their own time limits; /healthz
    # its own small pool and deadline.
    app.state.engine = request_engine(settings)
    app.state.sessions = session_factory(app.state.engine)
    app.state.slots = slots(settings)  # heavy requests at once: exports, brochure PDFs
    app.state.brochures = brochure.PdfCache(settings.brochure_cache_mb * 1024 * 1024)
    app.state.job_engine = job_engine(settings)
    app.state.job_sessions = session_factory(app.state.job_engine)
    # The dashboard's latest figures, refreshed in the background (monitoring.summary).
    app.state.figures = Figures(app.state.job_engine)
    # Large exports, one at a time per worker process (monitoring.export_jobs).
    app.state.exporter = Exporter(app.state.job_engine)
    # Public reads on the streaming replica when one is configured (landmatch.api.reads).
    replica = read_engine(settings)
    watch = (
        ReplicaWatch(
            replica,
            settings.replica_poll_ms / 1000,
            settings.replica_max_lag_s,
            primary=app.state.engine,
        )
        if replica is not None
        else None
    )
    app.state.reads = Reads(watch, session_factory(replica) if replica is not None else None)
    app.state.health = Probe(
        get_engine(settings.database_url, health_limits(settings), 1), replica=watch
    )
    app.state.tile_server = tiles.tile_server(settings, lambda: app.state.sessions)
    # The guards come before any route reads the query or the body; a browser's errors
    # (the body limit's 413, a refused method's 405 too) are pages.
    body_limit = functools.partial(BodyLimitMiddleware, router=app.router, settings=settings)
    problems.install(
        app,
        guards=[RefuseQueryCredentials, body_limit, RefuseMethod],
        page=workbench.common.error_page,
    )
    app.add_middleware(CSPMiddleware, settings=settings)
    app.add_middleware(MethodsMiddleware, router=app.router)  # HEAD, OPTIONS, 405 + Allow
    app.add_middleware(CORSMiddleware, router=app.router, origins=settings.cors_origin_set)
    if replica is not None:  # writers learn the data version to read back (read-your-writes)
        app.add_middleware(
            DataVersionMiddleware, sessions=lambda: app.state.sessions, settings=settings
        )
    # Outermost: whatever answered (a route, an error page), an ended session's cookie goes.
    app.add_middleware(ClearEndedSession, settings=settings)
    app.router.routes.insert(0, tiles.lean_route)  # ahead of every other route (routes/tiles.py)
    app.include_router(health.router)
    app.include_router(match.router)  # before parcels: /api/parcels/{code}/matching-projects
    app.include_router(parcels.router)
    app.include_router(tiles.router)
    app.include_router(parcel_edits.router)
    app.include_router(imports.router)
    app.include_router(exports.router)
    app.include_router(qa.router)
    app.include_router(projects.router)
    app.include_router(zones.router)
    app.include_router(policies.router)
    app.include_router(industries.router)
    app.include_router(proposals.router)
    app.include_router(inquiries.router)
    app.include_router(layers.router)
    app.include_router(monitoring.router)
    app.include_router(dashboard.router)
    app.include_router(ogc.router)
    app.include_router(users.router)
    pages.install(app, settings)
    workbench.install(app)
    openapi.install(app)
    return app
