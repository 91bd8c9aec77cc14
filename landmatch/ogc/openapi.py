"""The OpenAPI **3.0** document of the OGC API, generated from the collection specs.

FastAPI emits 3.1 for the application; OGC clients are told ``version=3.0`` in the
``service-desc`` media type, so this document is written as 3.0.3 (``nullable``, no
``type`` arrays). Item paths are per collection so each lists its queryables as
``in: query, style: form, explode: false`` equality parameters (QGIS reads them so).
"""

from __future__ import annotations

from typing import Any

from landmatch import __version__
from landmatch.ogc import cql
from landmatch.ogc import crs as ogc_crs
from landmatch.ogc.collections import COLLECTIONS, Collection
from landmatch.ogc.query import ITEM_PARAMS

_TEXT_LIST = {"type": "array", "items": {"type": "string"}}


def _param(
    name: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "style": "form",
        "explode": False,
        "description": description,
        "schema": schema,
    }


def _response(description: str, media: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if media:
        out["content"] = {k: {"schema": v} for k, v in media.items()}
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _get(
    summary: str,
    operation_id: str,
    responses: dict[str, Any],
    *,
    tag: str | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A path item with one GET operation."""
    op: dict[str, Any] = {"tags": [tag]} if tag else {}
    op |= {"summary": summary, "operationId": operation_id}
    if parameters is not None:
        op["parameters"] = parameters
    op["responses"] = responses
    return {"get": op}


def _ok(description: str, media: dict[str, Any], *errors: str) -> dict[str, Any]:
    """A 200 response in ``media`` and the problem responses named by ``errors``."""
    return {"200": _response(description, media)} | {code: _ref_resp(code) for code in errors}


def _or_html(media_type: str) -> dict[str, Any]:
    """A JSON object in ``media_type``, or the same as an HTML page."""
    return {media_type: {"type": "object"}, "text/html": {"type": "string"}}


def _ref_resp(code: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{code}"}


_JSON = {"application/json": {"type": "object"}}
_SCHEMA_DOC = _or_html("application/schema+json")
_MVT = {"application/vnd.mapbox-vector-tile": {"type": "string", "format": "binary"}}
_TILE = "/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"


def _collection_paths(coll: Collection) -> dict[str, Any]:
    """The paths of one collection: its description, items, item, queryables and tiles."""
    json_doc, geo_doc = _or_html("application/json"), _or_html("application/geo+json")
    f_only = [_ref("f")]
    item_params = [_ref(n) for n in ("featureId", "f", "crs", "properties")]
    items_params = [_ref(n) for n in ITEM_PARAMS]
    for name, p in coll.queryables(public=True).items():
        schema = dict(p.schema)
        schema.pop("title", None)
        items_params.append(_param(name, schema, f"等值过滤：{p.title or name}"))
    # (path below the collection, summary, operation, responses, parameters)
    ops: list[tuple[str, str, str, dict[str, Any], list[dict[str, Any]] | None]] = [
        ("", "集合描述", "describeCollection", _ok("集合", json_doc, "404"), f_only),
        ("/items", "要素列表", "getItems", _ok("要素集合", geo_doc, "400", "404"), items_params),
        ("/items/{featureId}", "单个要素", "getFeature", _ok("要素", geo_doc, "404"), item_params),
        ("/queryables", "可查询属性", "getQueryables", _ok("JSON Schema", _SCHEMA_DOC), f_only),
    ]
    if coll.geometry:
        tile_params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
            for n in ("tileMatrix", "tileRow", "tileCol")
        ]
        ops += [
            ("/tiles", "矢量瓦片集列表", "getTilesets", _ok("瓦片集", json_doc), f_only),
            ("/tiles/WebMercatorQuad", "矢量瓦片集", "getTileset", _ok("瓦片集", _JSON), None),
            (_TILE, "矢量瓦片（MVT）", "getTile", _ok("MVT 瓦片", _MVT, "400", "404"), tile_params),
        ]
    return {
        f"/collections/{coll.id}{path}": _get(
            f"{coll.title}：{summary}", f"{op}_{coll.id}", responses, tag=coll.id, parameters=params
        )
        for path, summary, op, responses, params in ops
    }


def document(base: str, default_limit: int = 100, max_limit: int = 1000) -> dict[str, Any]:
    json_doc = _or_html("application/json")
    f_only = [_ref("f")]
    paths: dict[str, Any] = {
        "/": _get("首页", "getLandingPage", _ok("首页", json_doc), parameters=f_only),
        "/conformance": _get(
            "符合性声明", "getConformance", _ok("符合性类", json_doc), parameters=f_only
        ),
        "/api": _get(
            "本 API 定义",
            "getApi",
            _ok("OpenAPI 3.0 文档", _or_html("application/vnd.oai.openapi+json;version=3.0")),
            parameters=f_only,
        ),
        "/collections": _get(
            "要素集合列表", "getCollections", _ok("要素集合", json_doc), parameters=f_only
        ),
        "/tileMatrixSets": _get(
            "瓦片矩阵集", "getTileMatrixSets", _ok("瓦片矩阵集", json_doc), parameters=f_only
        ),
        "/tileMatrixSets/WebMercatorQuad": _get(
            "WebMercatorQuad 定义",
            "getWebMercatorQuad",
            _ok("瓦片矩阵集定义", _JSON),
        ),
    }
    for coll in COLLECTIONS.values():
        paths |= _collection_paths(coll)
    problem = {
        "application/problem+json": {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                },
            }
        }
    }
    # Any other error (401 for a bad credential, 405, 406, 413, 429, 503 …) is a problem too.
    for ops in paths.values():
        for op in ops.values():
            op["responses"].setdefault("default", _ref_resp("error"))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "landmatch 熟地清单 OGC API",
            "version": __version__,
            "description": "OGC API – Features（第 1、2、3 部分）与 OGC API – Tiles。",
        },
        "servers": [{"url": base}],
        "paths": paths,
        "components": {
            "parameters": {
                "f": _param("f", {"type": "string", "enum": ["json", "html"]}, "输出格式"),
                "limit": _param(
                    "limit",
                    {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": max_limit,
                        "default": default_limit,
                    },
                    "每页要素数（超过最大值时按最大值返回）",
                ),
                "offset": _param(
                    "offset", {"type": "integer", "minimum": 0, "default": 0}, "跳过的要素数"
                ),
                "bbox": _param(
                    "bbox",
                    {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                    "范围：minx,miny,maxx,maxy（按 bbox-crs 轴序）",
                ),
                "bbox-crs": _param(
                    "bbox-crs",
                    {"type": "string", "format": "uri", "enum": ogc_crs.CRS_LIST},
                    "bbox 的坐标系",
                ),
                "crs": _param(
                    "crs",
                    {"type": "string", "format": "uri", "enum": ogc_crs.CRS_LIST},
                    "输出坐标系",
                ),
                "datetime": _param(
                    "datetime", {"type": "string"}, "时间或区间（RFC 3339，开放端用 ..）"
                ),
                "properties": _param("properties", _TEXT_LIST, "返回的属性"),
                "sortby": _param("sortby", _TEXT_LIST, "排序：+属性 或 -属性，逗号分隔"),
                "filter": _param("filter", {"type": "string"}, "CQL2 过滤表达式"),
                "filter-lang": _param(
                    "filter-lang",
                    {"type": "string", "enum": list(cql.LANGS), "default": "cql2-text"},
                    "过滤语言（cql-text 即 CQL2 文本）",
                ),
                "filter-crs": _param(
                    "filter-crs",
                    {"type": "string", "format": "uri", "enum": [ogc_crs.CRS84]},
                    "过滤表达式中几何的坐标系",
                ),
                "featureId": {
                    "name": "featureId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "要素编号（整数），或要素的编码（如地块编码）",
                },
            },
            "responses": {
                "400": {"description": "请求参数无效", "content": problem},
                "404": {"description": "未找到", "content": problem},
                "error": {"description": "错误", "content": problem},
            },
        },
    }
