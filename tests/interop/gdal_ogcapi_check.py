"""GDAL's OGC API driver (``OGCAPI``) reading landmatch's vector tilesets, run in a process of
its own (GDAL's HTTP calls would otherwise hold the interpreter that also serves the test
server); ``tests/interop/test_gdal_ogcapi.py`` starts it and checks the JSON it prints.

    python gdal_ogcapi_check.py COLLECTION_URL MINX MINY MAXX MAXY ZOOM [ZOOM ...]

The GDAL is the one pyogrio's wheel bundles (3.12): Debian 12's gdal-bin 3.6 cannot read
vector tiles through this driver at all (its vector-tiles code is compiled out there, see the
test's docstring). The driver opens ``OGCAPI:<collection>``, follows the collection's
``tilesets-vector`` link to the tileset, its ``tiling-scheme`` link to the tile matrix set and
its ``tileMatrixSetLimits``, and offers one layer per listed tile matrix ("Zoom level N").
MINX..MAXY (EPSG:3857, the tile matrix set's CRS) are the driver's open options for the area
to read: GDAL uses the collection's CRS84 bounding box in the tile matrix set's CRS unconverted
for vector tiles, so without them only the zoom levels whose limits reach lon/lat 0 survive.
For each ZOOM: the layer's fields, and every feature read (its properties and geometry type).
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import pyogrio
    from pyogrio import raw
    from pyogrio.errors import DataLayerError

    url, minx, miny, maxx, maxy, *zooms = sys.argv[1:]
    opts = {"MINX": minx, "MINY": miny, "MAXX": maxx, "MAXY": maxy}
    source = f"OGCAPI:{url}"
    out: dict[str, object] = {"gdal": pyogrio.__gdal_version_string__}
    listed = []
    for level in range(0, 23):
        try:
            pyogrio.read_info(source, layer=f"Zoom level {level}", **opts)
        except DataLayerError:
            continue
        listed.append(level)
    out["zoom_levels"] = listed
    for z in zooms:
        meta, _fids, geoms, values = raw.read(source, layer=f"Zoom level {z}", **opts)
        fields = [str(f) for f in meta["fields"]]
        rows = []
        for i, geom in enumerate(geoms):
            props = {}
            for name, column in zip(fields, values, strict=True):
                v = column[i]
                props[name] = v.item() if hasattr(v, "item") else v
            rows.append({"type": int.from_bytes(geom[1:5], "little") % 1000, "properties": props})
        out[str(z)] = {"fields": fields, "crs": meta.get("crs"), "features": rows}
    print("GDAL-RESULT " + json.dumps(out, default=str, ensure_ascii=False))


if __name__ == "__main__":
    main()
