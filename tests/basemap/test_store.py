"""The offline basemap in the database, its tiles and the maps that draw it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import mapbox_vector_tile
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.basemap import gshhg, store
from landmatch.db import tiles

ATTRIBUTION = "GSHHG 2.3.7"


def _kinds(session: Session, lon: float, lat: float, z: int) -> Counter[str]:
    x, y = tiles.tile_at(lon, lat, z)
    data = tiles.render_versioned(session.connection(), "water", z, x, y)[1]
    layer = mapbox_vector_tile.decode(data).get("water", {"features": []}) if data else None
    return Counter(f["properties"]["kind"] for f in (layer or {"features": []})["features"])


def test_a_build_replaces_the_water_in_epsg_4326(session: Session) -> None:
    before = session.execute(
        text("SELECT version FROM landmatch.data_state WHERE name = 'basemap_water'")
    ).scalar_one()
    result = store.build(session)
    assert result.loaded and result.counts["coast"] > 0 and result.counts["river_major"] > 0
    rows = session.execute(
        text(
            "SELECT kind, count(*), min(ST_SRID(geom)), ST_Extent(geom)::text"
            " FROM landmatch.basemap_water GROUP BY kind"
        )
    ).all()
    assert {r[0]: r[1] for r in rows} == result.counts  # replaced, not added to
    assert {r[2] for r in rows} == {4326}
    w, s, e, n = gshhg.REGION_BBOX
    for kind, _, _, extent in rows:
        (x0, y0), (x1, y1) = (map(float, c.split()) for c in extent[4:-1].split(","))
        assert w - 1e-9 <= x0 and x1 <= e + 1e-9 and s - 1e-9 <= y0 and y1 <= n + 1e-9, kind
    after = session.execute(
        text("SELECT version FROM landmatch.data_state WHERE name = 'basemap_water'")
    ).scalar_one()
    assert after > before  # the water tiles' cache key moves


def test_without_the_package_nothing_changes_and_the_log_says_why(
    session: Session, tmp_path: Path, caplog: Any
) -> None:
    n = session.execute(text("SELECT count(*) FROM landmatch.basemap_water")).scalar_one()
    assert n > 0
    result = store.build(session, tmp_path)
    assert not result.loaded and "gmt-gshhg-high" in result.reason
    assert "gmt-gshhg-high" in caplog.text
    assert session.execute(text("SELECT count(*) FROM landmatch.basemap_water")).scalar() == n


def test_water_tiles_show_the_coast_and_major_rivers_first_other_rivers_closer_in(
    session: Session,
) -> None:
    store.build(session)  # this code's zooms (store.MIN_ZOOM), not those of an earlier build
    province = _kinds(session, 118.2, 39.6, 6)
    assert province["coast"] and province["sea"] and province["river_major"]
    assert not province["river"]  # minor rivers only from zoom 8 (store.MIN_ZOOM)
    closer = Counter[str]()
    for lon, lat in ((115.5, 38.8), (114.5, 38.0), (117.0, 39.5), (118.5, 40.0), (116.0, 41.0)):
        closer += _kinds(session, lon, lat, 8)
    assert closer["river"]


def test_the_map_draws_water_with_its_attribution_when_it_is_built(client: Any) -> None:
    page = client.get("/map").text
    assert "/tiles/water/{z}/{x}/{y}.pbf" in page
    assert ATTRIBUTION in page and "LGPL" in page
    assert "海岸线、河流、湖泊" in page  # the legend
    # Water sits above the boundaries' land fill and under the zones and parcels.
    assert page.index("/tiles/admin/") < page.index("/tiles/water/") < page.index("/tiles/zones/")


def test_no_water_layer_when_the_basemap_is_not_built(client: Any, session: Session) -> None:
    session.execute(text("DELETE FROM landmatch.basemap_water"))
    page = client.get("/map").text
    assert "/tiles/water/" not in page and ATTRIBUTION not in page
    assert client.get("/tiles/water/7/105/48.pbf").status_code in (200, 204)


def test_workbench_maps_draw_the_water_too(session: Session) -> None:
    from landmatch.maps.workbench import area_picker, parcel_map
    from landmatch.settings import load_settings

    settings = load_settings(mode="test")
    parts = area_picker(settings, water=store.water_loaded(session))
    assert "/tiles/water/" in parts.script and ATTRIBUTION in parts.script
    assert "/tiles/water/" not in parcel_map(settings, [[38, 114], [38.1, 114.1]]).script


def test_an_online_basemap_brings_its_own_water() -> None:
    from landmatch.maps import builders
    from landmatch.settings import load_settings

    online = load_settings(mode="test", basemap="osm")
    page = builders.public_map(online, cities=[], facilities=[], water=True)
    assert "/tiles/water/" not in page and ATTRIBUTION not in page
