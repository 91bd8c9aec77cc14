"""``landmatch serve``: the API and the maps."""

from __future__ import annotations

from typing import Annotated

import typer

from landmatch.cli.common import settings


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=32, help="Worker processes (one per core; each keeps its own tile cache)."
        ),
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve the API and the maps."""
    import uvicorn

    from landmatch.settings import SERVER_OPTIONS

    s = settings()
    uvicorn.run(
        "landmatch.api.main:app",
        host=host or s.host,
        port=port or s.port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        timeout_worker_healthcheck=s.worker_healthcheck_seconds,
        **SERVER_OPTIONS,
    )
