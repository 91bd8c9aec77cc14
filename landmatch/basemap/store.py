"""The ``basemap_water`` table: filled from GSHHG by :func:`build`, read by the maps.

A build replaces the table whole in one transaction, so a map never sees half a basemap. When
the GSHHG files are missing (no Debian package, no apt) the table is left as it is and the
reason is logged: the maps then simply draw no water.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from shapely import to_wkb
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.basemap import gshhg

log = logging.getLogger(__name__)

# The first zoom each kind is drawn at: the sea, the coast, lakes and major rivers orient at
# province zoom; other rivers and canals only closer in, where they do not clutter.
MIN_ZOOM: dict[str, int] = {
    "sea": 0,
    "coast": 0,
    "lake": 0,
    "river_lake": 0,
    "river_major": 0,
    "river": 8,
    "river_intermittent": 9,
    "canal": 9,
}
# The map's attribution for the water layer (source and licence).
ATTRIBUTION = "水系：GSHHG 2.3.7（Wessel &amp; Smith，LGPL-3.0）"


@dataclass(frozen=True)
class BuildResult:
    loaded: bool
    counts: dict[str, int]
    reason: str = ""


def build(
    session: Session,
    directory: Path = gshhg.DEFAULT_DIR,
    bbox: tuple[float, float, float, float] = gshhg.REGION_BBOX,
) -> BuildResult:
    """Extract the water for ``bbox`` and replace the table's rows with it (the caller
    commits). When the source is missing, nothing changes and the reason is returned."""
    try:
        features = gshhg.extract(directory, bbox)
    except gshhg.SourceMissing as e:
        reason = f"offline basemap not built: {e}; the maps draw no water layer"
        log.warning(reason)
        return BuildResult(False, {}, reason)
    session.execute(text("DELETE FROM landmatch.basemap_water"))
    rows = [
        {
            "kind": f.kind,
            "level": f.level,
            "min_zoom": MIN_ZOOM[f.kind],
            "source": gshhg.SOURCE,
            "wkb": to_wkb(f.geom, hex=True),
        }
        for f in features
    ]
    if rows:
        session.execute(
            text(
                "INSERT INTO landmatch.basemap_water (kind, level, min_zoom, source, geom)"
                " VALUES (:kind, :level, :min_zoom, :source,"
                " ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326))"
            ),
            rows,
        )
    counts: dict[str, int] = {}
    for f in features:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    log.info("offline basemap built from %s: %s", directory, counts)
    return BuildResult(True, counts)


_told = False


def water_built(session: Session) -> bool:
    """Whether ``basemap_water`` holds anything (what ``build --if-empty`` asks, silently)."""
    return bool(
        session.execute(text("SELECT EXISTS (SELECT 1 FROM landmatch.basemap_water)")).scalar()
    )


def water_loaded(session: Session) -> bool:
    """Whether the maps have a water layer to draw. The first time it is missing in this
    process, one log line says why and what to do."""
    global _told
    loaded = water_built(session)
    if not loaded and not _told:
        _told = True
        log.warning(
            "offline basemap: no water layer (table basemap_water is empty); install the Debian"
            " package %s and run `landmatch basemap build`",
            gshhg.DEBIAN_PACKAGE,
        )
    return loaded
