"""``create_app(settings)`` builds the application; nothing happens at import time."""

from __future__ import annotations

from fastapi import FastAPI

from landmatch import __version__
from landmatch.api import problems
from landmatch.api.routes import (
    dashboard,
    exports,
    health,
    imports,
    layers,
    match,
    monitoring,
    ogc,
    pages,
    parcel_edits,
    parcels,
    policies,
    projects,
    qa,
    tiles,
    zones,
)
from landmatch.db.engine import get_engine, session_factory
from landmatch.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="landmatch 熟地清单与选址匹配",
        version=__version__,
        description="河北省熟地清单“一张图”与项目选址匹配 API",
    )
    app.state.settings = settings
    app.state.engine = get_engine(settings.database_url)
    app.state.sessions = session_factory(app.state.engine)
    app.state.tile_server = tiles.tile_server(settings, lambda: app.state.sessions)
    problems.install(app)
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
    app.include_router(layers.router)
    app.include_router(monitoring.router)
    app.include_router(dashboard.router)
    app.include_router(ogc.router)
    dashboard.mount_vendor(app, settings)
    pages.install(app, settings)
    return app
