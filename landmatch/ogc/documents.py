"""The JSON documents of the API: landing page, conformance, collections, queryables, tiling.

``base`` is the absolute URL of the API root (``…/ogc``); every link is absolute.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from landmatch.db import tiles
from landmatch.geo.crs import HEBEI_BBOX
from landmatch.ogc import crs as ogc_crs
from landmatch.ogc import features
from landmatch.ogc.collections import Collection, visible

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
MVT = "application/vnd.mapbox-vector-tile"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
REL_CONFORMANCE = "http://www.opengis.net/def/rel/ogc/1.0/conformance"
REL_TMS = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"
REL_TILESETS = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"

# Exactly the classes implemented and exercised by tests/ogc (nothing more: clients act on it).
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def _self_alt(url: str, json_type: str = JSON) -> list[dict[str, str]]:
    return [
        _link(f"{url}?f=json", "self", json_type, "本文档（JSON）"),
        _link(f"{url}?f=html", "alternate", HTML, "本文档（HTML）"),
    ]


def landing(base: str) -> dict[str, Any]:
    return {
        "title": "landmatch 熟地清单 OGC API",
        "description": "河北省熟地清单“一张图”：地块、开发区、行政区划、设施、管控区与政策，"
        "符合 OGC API – Features（第 1–3 部分）与 OGC API – Tiles。",
        "links": [
            _link(f"{base}/?f=json", "self", JSON, "本文档"),
            _link(f"{base}/?f=html", "alternate", HTML, "本文档（HTML）"),
            _link(f"{base}/api", "service-desc", OPENAPI, "API 定义（OpenAPI 3.0）"),
            _link(f"{base}/api?f=html", "service-doc", HTML, "API 文档"),
            _link(f"{base}/conformance", "conformance", JSON, "符合性声明"),
            _link(f"{base}/conformance", REL_CONFORMANCE, JSON, "符合性声明"),
            _link(f"{base}/collections", "data", JSON, "要素集合"),
            _link(f"{base}/tileMatrixSets", REL_TMS, JSON, "瓦片矩阵集"),
        ],
    }


def conformance(base: str) -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE, "links": _self_alt(f"{base}/conformance")}


def collection(session: Session, base: str, coll: Collection, public: bool) -> dict[str, Any]:
    url = f"{base}/collections/{coll.id}"
    links = [
        *_self_alt(url),
        _link(f"{url}/items?f=json", "items", GEOJSON, "要素（GeoJSON）"),
        _link(f"{url}/items?f=html", "items", HTML, "要素（HTML）"),
        _link(f"{url}/queryables", REL_QUERYABLES, SCHEMA, "可查询属性"),
    ]
    if coll.geometry:
        links.append(_link(f"{url}/tiles", REL_TILESETS, JSON, "矢量瓦片集"))
    out: dict[str, Any] = {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": "feature",
        "extent": features.extent(session, coll, public),
        "links": links,
    }
    if coll.geometry:
        out["crs"] = ogc_crs.CRS_LIST
        out["storageCrs"] = ogc_crs.STORAGE.uri
    return out


def collections(session: Session, base: str, public: bool) -> dict[str, Any]:
    return {
        "links": _self_alt(f"{base}/collections"),
        "collections": [collection(session, base, c, public) for c in visible(public)],
        "crs": ogc_crs.CRS_LIST,
    }


def queryables(base: str, coll: Collection, public: bool) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if coll.geometry:
        kind = "Point" if coll.geometry == "POINT" else "MultiPolygon"
        props["geometry"] = {
            "title": "几何",
            "format": f"geometry-{kind.lower()}",
            "$ref": f"https://geojson.org/schema/{kind}.json",
        }
    for name, p in coll.queryables(public).items():
        props[name] = p.schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{coll.id}/queryables",
        "type": "object",
        "title": coll.title,
        "properties": props,
        "additionalProperties": False,
    }


def tile_matrix_sets(base: str) -> dict[str, Any]:
    return {
        "tileMatrixSets": [
            {
                "id": "WebMercatorQuad",
                "title": "Google Maps Compatible for the World",
                "uri": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
                "links": [_link(f"{base}/tileMatrixSets/WebMercatorQuad", "self", JSON)],
            }
        ],
        "links": _self_alt(f"{base}/tileMatrixSets"),
    }


def web_mercator_quad(base: str) -> dict[str, Any]:
    """The WebMercatorQuad definition in OGC TMS 2.0 JSON, with the TMS 1.0 member names beside
    it (``identifier``, ``supportedCRS``, ``topLeftCorner``, the bounding box corners) for
    clients that read only those: GDAL before 3.7 (Debian 12's 3.6) recognises a tile matrix set
    document by ``identifier`` + ``boundingBox`` + ``tileMatrices`` and reads the 1.0 names, so
    its OGC API driver could not open a tileset whose tiling scheme was 2.0 alone."""
    origin = 20037508.3427892
    crs = "http://www.opengis.net/def/crs/EPSG/0/3857"
    matrices = []
    for z in range(0, 23):
        n = 2**z
        matrices.append(
            {
                "id": str(z),
                "identifier": str(z),
                "scaleDenominator": 559082264.0287178 / n,
                "cellSize": 156543.03392804097 / n,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-origin, origin],
                "topLeftCorner": [-origin, origin],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n,
            }
        )
    return {
        "id": "WebMercatorQuad",
        "identifier": "WebMercatorQuad",
        "title": "Google Maps Compatible for the World",
        "uri": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "crs": crs,
        "supportedCRS": crs,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "boundingBox": {
            "crs": crs,
            "lowerLeft": [-origin, -origin],
            "upperRight": [origin, origin],
            "lowerCorner": [-origin, -origin],
            "upperCorner": [origin, origin],
        },
        "tileMatrices": matrices,
        "links": [_link(f"{base}/tileMatrixSets/WebMercatorQuad", "self", JSON)],
    }


# OGC collection ids → layers of the shared tile engine (landmatch.db.tiles).
TILE_LAYERS = {
    "parcels": "parcels",
    "zones": "zones",
    "admin_divisions": "admin",
    "facilities": "facilities",
    "constraint_areas": "constraints",
}
# The deepest tile matrix listed in tileMatrixSetLimits: tiles exist below it (to z22), but a
# client reading "the whole tileset" (GDAL) should not walk millions of them.
LIMITS_MAX_ZOOM = 14


def _mvt_layers(coll: Collection) -> list[tuple[str, str, int, int]]:
    """The MVT layers of a collection's tiles: (name, geometry type, first zoom, last zoom)."""
    if coll.id == "parcels":
        return [
            ("parcel_cells", "points", 0, tiles.CELL_MAX_ZOOM),
            ("parcels", "polygons", tiles.PARCEL_MIN_ZOOM, tiles.MAX_ZOOM),
        ]
    kind = "points" if coll.geometry == "POINT" else "polygons"
    return [(TILE_LAYERS[coll.id], kind, 0, tiles.MAX_ZOOM)]


def _limits(max_zoom: int) -> list[dict[str, Any]]:
    """Tile rows and columns that cover Hebei at each zoom (where data may be)."""
    x0, y0, x1, y1 = HEBEI_BBOX
    out = []
    for z in range(max_zoom + 1):
        c0, r1 = tiles.tile_at(x0, y0, z)
        c1, r0 = tiles.tile_at(x1, y1, z)
        out.append(
            {
                "tileMatrix": str(z),
                "minTileRow": r0,
                "maxTileRow": r1,
                "minTileCol": c0,
                "maxTileCol": c1,
            }
        )
    return out


def tilesets(base: str, coll: Collection, public: bool = True) -> dict[str, Any]:
    return {
        "tilesets": [tileset(base, coll, public)],
        "links": _self_alt(f"{base}/collections/{coll.id}/tiles"),
    }


def tileset(base: str, coll: Collection, public: bool = True) -> dict[str, Any]:
    url = f"{base}/collections/{coll.id}/tiles/WebMercatorQuad"
    layers = []
    for name, kind, first, last in _mvt_layers(coll):
        fields = dict(tiles.LAYER_FIELDS[name])
        if not public:
            fields.update(tiles.INTERNAL_FIELDS.get(name, {}))
        layers.append(
            {
                "id": name,
                "title": tiles.LAYERS.get(name, "地块密度（每格的地块数与面积）"),
                "dataType": "vector",
                "geometryType": kind,
                "minTileMatrix": str(first),
                "maxTileMatrix": str(last),
                "propertiesSchema": {"type": "object", "properties": fields},
            }
        )
    return {
        "title": f"{coll.title}（矢量瓦片）",
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "tileMatrixSetLimits": _limits(LIMITS_MAX_ZOOM),
        "boundingBox": {
            "lowerLeft": list(HEBEI_BBOX[:2]),
            "upperRight": list(HEBEI_BBOX[2:]),
            "crs": ogc_crs.CRS84,
        },
        "layers": layers,
        "links": [
            _link(url, "self", JSON),
            _link(
                f"{base}/tileMatrixSets/WebMercatorQuad",
                "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                JSON,
            ),
            {
                "href": url + "/{tileMatrix}/{tileRow}/{tileCol}",
                "rel": "item",
                "type": MVT,
                "templated": True,
            },
        ],
    }
