"""The reference layers committed under ``layers/`` (see layers/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd

from landmatch import resources
from landmatch.errors import ConfigError

DEFAULT_DIR = resources.LAYERS  # layers/ of the checkout, package data in a wheel


def layers_dir() -> Path:
    d = Path(os.environ.get("LANDMATCH_LAYERS_DIR") or DEFAULT_DIR)
    if not d.is_dir():
        raise ConfigError(f"找不到参考图层目录 {d}（LANDMATCH_LAYERS_DIR）")
    return d


def read_layer(name: str) -> gpd.GeoDataFrame:
    """Read ``layers/<name>.geojson`` as a GeoDataFrame in EPSG:4490."""
    path = layers_dir() / f"{name}.geojson"
    if not path.exists():
        raise ConfigError(f"缺少参考图层 {path}")
    gdf = gpd.read_file(path, engine="pyogrio")
    # The files are CGCS2000/WGS 84 lon/lat; PROJ treats 4326↔4490 as identical at map scale.
    return gdf.set_crs(4490, allow_override=True)
