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


def _items_path(coll: Collection) -> dict[str, Any]:
    params = [_ref(n) for n in ITEM_PARAMS]
    for name, p in coll.queryables(public=True).items():
        schema = dict(p.schema)
        schema.pop("title", None)
        params.append(_param(name, schema, f"等值过滤：{p.title or name}"))
    return {
        "get": {
            "tags": [coll.id],
            "summary": f"{coll.title}：要素列表",
            "operationId": f"getItems_{coll.id}",
            "parameters": params,
            "responses": {
                "200": _response(
                    "要素集合",
                    {"application/geo+json": {"type": "object"}, "text/html": {"type": "string"}},
                ),
                "400": _ref_resp("400"),
                "404": _ref_resp("404"),
            },
        }
    }


def _ref_resp(code: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{code}"}


def document(base: str, default_limit: int = 100, max_limit: int = 1000) -> dict[str, Any]:
    json_doc = {"application/json": {"type": "object"}, "text/html": {"type": "string"}}
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "summary": "首页",
                "operationId": "getLandingPage",
                "parameters": [_ref("f")],
                "responses": {"200": _response("首页", json_doc)},
            }
        },
        "/conformance": {
            "get": {
                "summary": "符合性声明",
                "operationId": "getConformance",
                "parameters": [_ref("f")],
                "responses": {"200": _response("符合性类", json_doc)},
            }
        },
        "/api": {
            "get": {
                "summary": "本 API 定义",
                "operationId": "getApi",
                "parameters": [_ref("f")],
                "responses": {
                    "200": _response(
                        "OpenAPI 3.0 文档",
                        {
                            "application/vnd.oai.openapi+json;version=3.0": {"type": "object"},
                            "text/html": {"type": "string"},
                        },
                    )
                },
            }
        },
        "/collections": {
            "get": {
                "summary": "要素集合列表",
                "operationId": "getCollections",
                "parameters": [_ref("f")],
                "responses": {"200": _response("要素集合", json_doc)},
            }
        },
        "/tileMatrixSets": {
            "get": {
                "summary": "瓦片矩阵集",
                "operationId": "getTileMatrixSets",
                "parameters": [_ref("f")],
                "responses": {"200": _response("瓦片矩阵集", json_doc)},
            }
        },
        "/tileMatrixSets/WebMercatorQuad": {
            "get": {
                "summary": "WebMercatorQuad 定义",
                "operationId": "getWebMercatorQuad",
                "responses": {
                    "200": _response("瓦片矩阵集定义", {"application/json": {"type": "object"}})
                },
            }
        },
    }
    for coll in COLLECTIONS.values():
        url = f"/collections/{coll.id}"
        paths[url] = {
            "get": {
                "tags": [coll.id],
                "summary": f"{coll.title}：集合描述",
                "operationId": f"describeCollection_{coll.id}",
                "parameters": [_ref("f")],
                "responses": {"200": _response("集合", json_doc), "404": _ref_resp("404")},
            }
        }
        paths[f"{url}/items"] = _items_path(coll)
        paths[f"{url}/items/{{featureId}}"] = {
            "get": {
                "tags": [coll.id],
                "summary": f"{coll.title}：单个要素",
                "operationId": f"getFeature_{coll.id}",
                "parameters": [
                    {"$ref": "#/components/parameters/featureId"},
                    _ref("f"),
                    _ref("crs"),
                    _ref("properties"),
                ],
                "responses": {
                    "200": _response(
                        "要素",
                        {
                            "application/geo+json": {"type": "object"},
                            "text/html": {"type": "string"},
                        },
                    ),
                    "404": _ref_resp("404"),
                },
            }
        }
        paths[f"{url}/queryables"] = {
            "get": {
                "tags": [coll.id],
                "summary": f"{coll.title}：可查询属性",
                "operationId": f"getQueryables_{coll.id}",
                "parameters": [_ref("f")],
                "responses": {
                    "200": _response(
                        "JSON Schema",
                        {
                            "application/schema+json": {"type": "object"},
                            "text/html": {"type": "string"},
                        },
                    )
                },
            }
        }
        if coll.geometry:
            paths[f"{url}/tiles"] = {
                "get": {
                    "tags": [coll.id],
                    "summary": f"{coll.title}：矢量瓦片集列表",
                    "operationId": f"getTilesets_{coll.id}",
                    "parameters": [_ref("f")],
                    "responses": {"200": _response("瓦片集", json_doc)},
                }
            }
            paths[f"{url}/tiles/WebMercatorQuad"] = {
                "get": {
                    "tags": [coll.id],
                    "summary": f"{coll.title}：矢量瓦片集",
                    "operationId": f"getTileset_{coll.id}",
                    "responses": {
                        "200": _response("瓦片集", {"application/json": {"type": "object"}})
                    },
                }
            }
            paths[f"{url}/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"] = {
                "get": {
                    "tags": [coll.id],
                    "summary": f"{coll.title}：矢量瓦片（MVT）",
                    "operationId": f"getTile_{coll.id}",
                    "parameters": [
                        {
                            "name": n,
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 0},
                        }
                        for n in ("tileMatrix", "tileRow", "tileCol")
                    ],
                    "responses": {
                        "200": _response(
                            "MVT 瓦片",
                            {
                                "application/vnd.mapbox-vector-tile": {
                                    "type": "string",
                                    "format": "binary",
                                }
                            },
                        ),
                        "400": _ref_resp("400"),
                        "404": _ref_resp("404"),
                    },
                }
            }
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
                "f": {
                    "name": "f",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "schema": {"type": "string", "enum": ["json", "html"]},
                    "description": "输出格式",
                },
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
                "bbox": {
                    "name": "bbox",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "description": "范围：minx,miny,maxx,maxy（按 bbox-crs 轴序）",
                    "schema": {
                        "type": "array",
                        "minItems": 4,
                        "maxItems": 6,
                        "items": {"type": "number"},
                    },
                },
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
                "properties": {
                    "name": "properties",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "description": "返回的属性",
                    "schema": {"type": "array", "items": {"type": "string"}},
                },
                "sortby": {
                    "name": "sortby",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "description": "排序：+属性 或 -属性，逗号分隔",
                    "schema": {"type": "array", "items": {"type": "string"}},
                },
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
