"""Read rivers, lakes and the coastline for a region from GSHHG's binned files.

GSHHG (Global Self-consistent, Hierarchical, High-resolution Geography, by P. Wessel and
W. H. F. Smith; LGPL-3+) is shipped by Debian's ``gmt-gshhg-high`` as the netCDF-4 (HDF5) files
GMT reads: ``binned_GSHHS_h.nc`` (shorelines) and ``binned_river_h.nc`` (WDBII rivers), at the
"high" resolution (Douglas-Peucker at 0.2 km, about 1:1 million). Both cut the world into
2° × 2° bins; a bin lists segments, a segment lists points as unsigned 16-bit offsets from the
bin's south-west corner (65535 = the bin's width). Bin ``b`` lies ``b % 180`` bins east of 0°
and ``b // 180 + 1`` bins south of 90°N.

- Rivers: each segment carries its WDBII class (``RIVER_CLASSES``); segments of one river that
  cross a bin edge are joined again by ``linemerge``.
- Shorelines: a segment's info packs its point count (bits 9+), level (bits 6–8: 1 land/ocean,
  2 lake, 3 island in a lake, 4 pond) and where it enters and leaves the bin; a bin's info packs
  the level at its four corners (bits 9–11 the south-west one). Level-1 segments are the
  coastline; level-2 segments of a polygon with a negative area are river-lakes (wide rivers
  drawn as areas), the others lakes. The sea is the part of the region, cut by the coastline,
  whose bin corners lie at level 0.

The result is plain shapely geometry in EPSG:4326 (GSHHG is WGS 84); nothing here touches the
database (``landmatch.basemap.store`` loads it).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from shapely import box, line_merge, polygonize
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

log = logging.getLogger(__name__)

DEFAULT_DIR = Path("/usr/share/gmt-gshhg")
SHORE_FILE = "binned_GSHHS_h.nc"
RIVER_FILE = "binned_river_h.nc"
DEBIAN_PACKAGE = "gmt-gshhg-high"
SOURCE = "GSHHG 2.3.7 (shorelines, WDBII rivers), © Wessel & Smith, LGPL-3.0-or-later"

# Hebei (``landmatch.geo.crs.HEBEI_BBOX``) and what the maps show around it at province zoom
# (z7 at 1366 px spans about 108–123°E): the whole Bohai with the Liaodong and Shandong coasts,
# so no sea ends in a straight edge in view; east of 124.5°E would add Korea's many islands.
REGION_BBOX = (108.0, 33.0, 124.5, 45.0)

# WDBII river classes as GSHHG stores them (GMT's ``coast -I`` numbers) and the kind each is
# drawn as: double-lined and major rivers from province zoom, the rest closer in.
RIVER_CLASSES: dict[int, tuple[str, str]] = {
    0: ("river_major", "double-lined river (river-lake)"),
    1: ("river_major", "permanent major river"),
    2: ("river_major", "additional major river"),
    3: ("river", "additional river"),
    4: ("river", "minor river"),
    5: ("river_intermittent", "intermittent river, major"),
    6: ("river_intermittent", "intermittent river, additional"),
    7: ("river_intermittent", "intermittent river, minor"),
    8: ("canal", "major canal"),
    9: ("canal", "minor canal"),
    10: ("canal", "irrigation canal"),
}


class SourceMissing(Exception):
    """The GSHHG files are not there (the Debian package is not installed) or not readable."""


@dataclass(frozen=True)
class Feature:
    kind: str  # coast, sea, lake, river_major, river, river_intermittent, canal
    level: int  # WDBII class for rivers, GSHHG level for shores (1 coast/sea, 2 lake)
    geom: BaseGeometry  # EPSG:4326


def _open(path: Path) -> Any:
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - h5py is a dependency
        raise SourceMissing(f"h5py is not installed ({e})") from e
    if not path.is_file():
        raise SourceMissing(f"{path} not found (Debian package {DEBIAN_PACKAGE} not installed?)")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise SourceMissing(f"{path} is not readable as netCDF-4/HDF5: {e}") from e


def _bins(h: Any, bbox: tuple[float, float, float, float]) -> Iterator[tuple[int, float, float]]:
    """The bins overlapping ``bbox`` as (index, west, south)."""
    size = int(h["Bin_size_in_minutes"][0]) / 60.0
    nx = int(h["N_bins_in_360_longitude_range"][0])
    ny = int(h["N_bins_in_180_degree_latitude_range"][0])
    w, s, e, n = bbox
    for row in range(ny):
        south = 90.0 - (row + 1) * size
        if south >= n or south + size <= s:
            continue
        for col in range(nx):
            west = col * size
            if west >= e or west + size <= w:
                continue
            yield row * nx + col, west, south


def _points(h: Any, start: int, count: int, west: float, south: float, scale: float) -> np.ndarray:
    dx = h["Relative_longitude_from_SW_corner_of_bin"][start : start + count].astype(np.uint16)
    dy = h["Relative_latitude_from_SW_corner_of_bin"][start : start + count].astype(np.uint16)
    return np.column_stack((west + dx * scale, south + dy * scale))


def _scale(h: Any) -> float:
    return int(h["Bin_size_in_minutes"][0]) / 60.0 / 65535.0


def read_rivers(
    directory: Path = DEFAULT_DIR, bbox: tuple[float, float, float, float] = REGION_BBOX
) -> list[Feature]:
    """WDBII rivers and canals inside ``bbox``, merged across bins, one feature per class."""
    with _open(directory / RIVER_FILE) as h:
        scale = _scale(h)
        first = h["Id_of_first_segment_in_a_bin"][:]
        nseg = h["N_segments_in_a_bin"][:]
        npts = h["N_points_for_a_segment"][:]
        level = h["Hierarchial_level_of_a_segment"][:]
        start = h["Id_of_first_point_in_a_segment"][:]
        by_class: dict[int, list[LineString]] = defaultdict(list)
        for b, west, south in _bins(h, bbox):
            for s in range(int(first[b]), int(first[b]) + int(nseg[b])):
                if npts[s] < 2:
                    continue
                xy = _points(h, int(start[s]), int(npts[s]), west, south, scale)
                by_class[int(level[s])].append(LineString(xy))
    return _lines_by_class(by_class, bbox)


def _lines_by_class(
    by_class: dict[int, list[LineString]], bbox: tuple[float, float, float, float]
) -> list[Feature]:
    region = box(*bbox)
    out = []
    for cls in sorted(by_class):
        kind = RIVER_CLASSES.get(cls, ("river", ""))[0]
        merged = line_merge(MultiLineString(by_class[cls])).intersection(region)
        for part in getattr(merged, "geoms", [merged]):
            if isinstance(part, LineString) and not part.is_empty and part.length > 0:
                out.append(Feature(kind, cls, part))
    return out


def read_shores(
    directory: Path = DEFAULT_DIR, bbox: tuple[float, float, float, float] = REGION_BBOX
) -> list[Feature]:
    """The coastline (lines), the sea (polygons) and lakes (polygons) inside ``bbox``."""
    region = box(*bbox)
    with _open(directory / SHORE_FILE) as h:
        scale = _scale(h)
        first = h["Id_of_first_segment_in_a_bin"][:]
        nseg = h["N_segments_in_a_bin"][:]
        bin_info = h["Embedded_node_levels_in_a_bin"][:].astype(np.uint16)
        info = h["Embedded_npts_levels_exit_entry_for_a_segment"]
        start = h["Id_of_first_point_in_a_segment"]
        poly_id = h["Id_of_GSHHS_ID"]
        area = h["The_km_squared_area_of_polygons"][:]
        coast: list[LineString] = []
        lakes: dict[int, list[LineString]] = defaultdict(list)
        corners: list[tuple[Point, int]] = []
        for b, west, south in _bins(h, bbox):
            corners.append((Point(west, south), int(bin_info[b]) >> 9 & 7))
            k0, k1 = int(first[b]), int(first[b]) + int(nseg[b])
            if k1 == k0:
                continue
            seg_info = info[k0:k1]
            seg_start = start[k0:k1]
            seg_poly = poly_id[k0:k1]
            for i in range(k1 - k0):
                n = int(seg_info[i]) >> 9
                lvl = int(seg_info[i]) >> 6 & 7
                if n < 2 or lvl not in (1, 2):
                    continue
                line = LineString(_points(h, int(seg_start[i]), n, west, south, scale))
                if lvl == 1:
                    coast.append(line)
                else:
                    lakes[int(seg_poly[i])].append(line)
    out: list[Feature] = []
    coastline = line_merge(unary_union(coast)) if coast else None
    if coastline is not None:
        clipped = coastline.intersection(region)
        for part in getattr(clipped, "geoms", [clipped]):
            if isinstance(part, LineString) and part.length > 0:
                out.append(Feature("coast", 1, part))
        out.extend(Feature("sea", 1, p) for p in _sea(coastline, region, corners))
    for pid, parts in lakes.items():
        merged = line_merge(unary_union(parts))
        for ring in polygonize(list(getattr(merged, "geoms", [merged]))).geoms:
            clipped = ring.intersection(region)  # a lake across the region's edge: its parts
            for lake in getattr(clipped, "geoms", [clipped]):
                if isinstance(lake, Polygon) and lake.area > 0:
                    kind = "river_lake" if area[pid] < 0 else "lake"
                    out.append(Feature(kind, 2, lake))
    return out


def _sea(
    coastline: BaseGeometry, region: Polygon, corners: list[tuple[Point, int]]
) -> list[Polygon]:
    """The faces of ``region`` cut by the coastline that hold a bin corner at level 0 (ocean)."""
    faces = polygonize([unary_union([coastline.intersection(region), region.exterior])]).geoms
    wet = [pt for pt, lvl in corners if lvl == 0 and region.covers(pt)]
    return [f for f in faces if any(f.covers(pt) for pt in wet)]


def extract(
    directory: Path = DEFAULT_DIR, bbox: tuple[float, float, float, float] = REGION_BBOX
) -> list[Feature]:
    """Everything the offline basemap draws, for ``bbox``. Raises ``SourceMissing``."""
    return read_shores(directory, bbox) + read_rivers(directory, bbox)
