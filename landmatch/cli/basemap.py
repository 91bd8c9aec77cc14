"""``landmatch basemap``: build the offline basemap's water layer from GSHHG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from landmatch.basemap import gshhg

app = typer.Typer(help="The offline basemap (water from GSHHG).", no_args_is_help=True)


@app.command("build")
def build_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the GSHHG binned files are.")
    ] = gshhg.DEFAULT_DIR,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the basemap is already built.")
    ] = False,
) -> None:
    """Extract sea, coastline, lakes and rivers for Hebei from GSHHG (Debian package
    gmt-gshhg-high) into the basemap_water table. Without the package it says so and exits 0:
    the maps then draw no water."""
    from sqlalchemy.orm import Session

    from landmatch.basemap import store
    from landmatch.db.engine import job_engine
    from landmatch.settings import get_settings

    with Session(job_engine(get_settings())) as session:
        if if_empty and store.water_built(session):
            typer.echo("offline basemap already built")
            return
        result = store.build(session, directory)
        session.commit()
    if not result.loaded:
        typer.echo(result.reason, err=True)
        return
    summary = ", ".join(f"{k} {n}" for k, n in sorted(result.counts.items()))
    typer.echo(f"offline basemap built: {summary}")
