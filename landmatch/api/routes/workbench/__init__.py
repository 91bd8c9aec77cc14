"""The staff workbench: server-rendered pages under ``/workbench``, one module per area.

Each module holds a ``router``; ``install`` includes them all and the handlers that turn a
page dependency's redirect and a domain error on a page into HTML (``common``).
"""

from __future__ import annotations

from fastapi import FastAPI

from landmatch.api.routes.workbench import (
    account,
    audit,
    boundary,
    cases,
    common,
    home,
    imports,
    layers,
    leads,
    matches,
    monitoring_settings,
    parcel_edit,
    parcels,
    policies,
    projects,
    qa,
    signin,
    users,
    zones,
)

# boundary (/workbench/parcels/new) and parcel_edit before /workbench/parcels/{code}.
AREAS = (
    signin,
    home,
    account,
    users,
    audit,
    boundary,
    parcel_edit,
    parcels,
    qa,
    monitoring_settings,  # before cases: /workbench/cases/{case_id}
    cases,
    zones,
    policies,
    layers,
    projects,
    matches,
    leads,
    imports,
)


def install(app: FastAPI) -> None:
    for area in AREAS:
        app.include_router(area.router)
    common.install_handlers(app)
