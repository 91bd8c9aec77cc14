"""Service functions behind ``/ogc``: one per resource, each returning a ``Reply``.

A reply carries the JSON document (a dict, or pre-serialised text for feature pages), its
media type, the CRS of its coordinates (for the ``Content-Crs`` header) and the template that
renders it as HTML.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.orm import Session

from landmatch.ogc import collections as colls
from landmatch.ogc import crs as ogc_crs
from landmatch.ogc import documents as docs
from landmatch.ogc import features, openapi, query
from landmatch.ogc.query import ItemsQuery

Params = Mapping[str, Sequence[str]]


@dataclass
class Reply:
    data: dict[str, Any] | str
    media_type: str
    template: str
    title: str
    crs: ogc_crs.OgcCrs = ogc_crs.DEFAULT
    context: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def json_text(self) -> str:
        if isinstance(self.data, str):
            return self.data
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))

    def as_dict(self) -> dict[str, Any]:
        return json.loads(self.data) if isinstance(self.data, str) else self.data


def _only(params: Params, allowed: set[str]) -> None:
    query.check_known(params, allowed)


def landing(base: str, params: Params) -> Reply:
    _only(params, query.COMMON)
    return Reply(docs.landing(base), docs.JSON, "landing.html", "首页")


def conformance(base: str, params: Params) -> Reply:
    _only(params, query.COMMON)
    return Reply(docs.conformance(base), docs.JSON, "conformance.html", "符合性声明")


def api(base: str, params: Params, default_limit: int, max_limit: int) -> Reply:
    _only(params, query.COMMON)
    return Reply(
        openapi.document(base, default_limit, max_limit), docs.OPENAPI, "api.html", "API 定义"
    )


def collections(session: Session, base: str, params: Params, public: bool) -> Reply:
    _only(params, query.COMMON)
    return Reply(docs.collections(session, base, public), docs.JSON, "collections.html", "要素集合")


def collection(session: Session, base: str, cid: str, params: Params, public: bool) -> Reply:
    coll = colls.get(cid, public)
    _only(params, query.COMMON)
    return Reply(
        docs.collection(session, base, coll, public), docs.JSON, "collection.html", coll.title
    )


def queryables(base: str, cid: str, params: Params, public: bool) -> Reply:
    coll = colls.get(cid, public)
    _only(params, query.COMMON)
    return Reply(
        docs.queryables(base, coll, public),
        docs.SCHEMA,
        "queryables.html",
        f"{coll.title}：可查询属性",
        context={"collection": coll},
    )


def items(
    session: Session,
    base: str,
    cid: str,
    params: Params,
    public: bool,
    default_limit: int,
    max_limit: int,
) -> Reply:
    coll = colls.get(cid, public)
    q = query.parse_items(coll, params, public, default_limit, max_limit)
    page = features.items(session, coll, q)
    url = f"{base}/collections/{coll.id}/items"
    links = _page_links(url, params, q, page)
    head: dict[str, Any] = {"type": "FeatureCollection", "timeStamp": _now()}
    if page.matched is not None:
        head["numberMatched"] = page.matched
    head["numberReturned"] = page.returned
    tail = json.dumps({"links": links}, ensure_ascii=False)[1:]
    text = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[' + page.body + "]," + tail
    return Reply(
        text,
        docs.GEOJSON,
        "items.html",
        f"{coll.title}：要素",
        crs=q.crs,
        context={"collection": coll, "links": links, "query": q},
        headers={"Link": link_header(links)},
    )


def item(session: Session, base: str, cid: str, fid: str, params: Params, public: bool) -> Reply:
    coll = colls.get(cid, public)
    query.check_known(params, query.ITEM)
    q = ItemsQuery(
        limit=1,
        crs=ogc_crs.parse(query.single(params, "crs")),
        where=[coll.where(public)],
        properties=query.select_properties(coll, params, public),
    )
    body = features.item(session, coll, q, fid)
    url = f"{base}/collections/{coll.id}/items/{quote(fid, safe='')}"
    links = [
        {"href": f"{url}?f=json", "rel": "self", "type": docs.GEOJSON, "title": "本要素"},
        {"href": f"{url}?f=html", "rel": "alternate", "type": docs.HTML, "title": "本要素（HTML）"},
        {
            "href": f"{base}/collections/{coll.id}",
            "rel": "collection",
            "type": docs.JSON,
            "title": coll.title,
        },
    ]
    text = body[:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}"
    return Reply(
        text,
        docs.GEOJSON,
        "item.html",
        f"{coll.title} {fid}",
        crs=q.crs,
        context={"collection": coll, "links": links},
        headers={"Link": link_header(links)},
    )


def _tiling_document(doc: dict[str, Any], title: str) -> Reply:
    """A JSON document of the tiles (matrix sets, tilesets), shown as ``document.html``."""
    return Reply(doc, docs.JSON, "document.html", title, crs=ogc_crs.WEB_MERCATOR)


def tile_matrix_sets(base: str, params: Params) -> Reply:
    _only(params, query.COMMON)
    return _tiling_document(docs.tile_matrix_sets(base), "瓦片矩阵集")


def web_mercator_quad(base: str, params: Params) -> Reply:
    _only(params, query.COMMON)
    return _tiling_document(docs.web_mercator_quad(base), "WebMercatorQuad")


def tilesets(base: str, cid: str, params: Params, public: bool) -> Reply:
    coll = _tiled(cid, public)
    _only(params, query.COMMON)
    return _tiling_document(docs.tilesets(base, coll, public), f"{coll.title}：矢量瓦片集")


def tileset(base: str, cid: str, params: Params, public: bool) -> Reply:
    coll = _tiled(cid, public)
    _only(params, query.COMMON)
    return _tiling_document(docs.tileset(base, coll, public), f"{coll.title}：矢量瓦片集")


TILE_LAYERS = docs.TILE_LAYERS
# Tile query parameters → TileFilter fields (parcels only; applied in SQL by the engine).
TILE_PARAMS = {
    "status": "status",
    "land_use": "land_use",
    "city_code": "city",
    "area_min": "area_min_mu",
    "area_max": "area_max_mu",
    "in_zone": "in_zone",
}


def tile(session: Session, cid: str, z: int, y: int, x: int, params: Params, public: bool) -> bytes:
    """One MVT tile of a collection, rendered by the same engine as the one map's tiles."""
    from landmatch.db.tiles import TileFilter, render_versioned
    from landmatch.errors import InvalidInput, NotFound

    coll = _tiled(cid, public)
    if not 0 <= z <= 22:
        raise NotFound(f"瓦片层级 {z} 超出范围 0–22")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(f"瓦片 {z}/{y}/{x} 超出 WebMercatorQuad 范围")
    allowed = TILE_PARAMS if coll.id == "parcels" else {}
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"不支持的瓦片参数：{', '.join(unknown)}；可用：{', '.join(allowed) or '无'}"
        )
    kw: dict[str, Any] = {}
    for name, target in allowed.items():
        v = query.single(params, name) if name in params else None
        if v is None:
            continue
        try:
            if target in ("status", "land_use"):
                kw[target] = tuple(p for p in v.split(",") if p)
            elif target in ("area_min_mu", "area_max_mu"):
                kw[target] = float(v)
            elif target == "in_zone":
                kw[target] = query.parse_bool(v)
            else:
                kw[target] = v
        except ValueError:
            raise InvalidInput(f"瓦片参数 {name} 的值无效：{v}") from None
    _, data = render_versioned(
        session.connection(), TILE_LAYERS[coll.id], z, x, y, TileFilter(**kw), public
    )
    return data


def _tiled(cid: str, public: bool) -> colls.Collection:
    from landmatch.errors import NotFound

    coll = colls.get(cid, public)
    if not coll.geometry:
        raise NotFound(f"集合 {coll.id} 没有几何，不提供瓦片")
    return coll


def _page_links(
    url: str, params: Params, q: ItemsQuery, page: features.Page
) -> list[dict[str, str]]:
    flat = [(k, v) for k, vs in params.items() for v in vs if k not in ("offset", "f")]

    def href(offset: int | None, f: str = "json") -> str:
        parts = [*flat, ("f", f)]
        if offset:
            parts.append(("offset", str(offset)))
        return f"{url}?{urlencode(parts)}"

    links = [
        {"href": href(q.offset), "rel": "self", "type": docs.GEOJSON, "title": "本页"},
        {
            "href": href(q.offset, "html"),
            "rel": "alternate",
            "type": docs.HTML,
            "title": "本页（HTML）",
        },
        {
            "href": url.rsplit("/items", 1)[0],
            "rel": "collection",
            "type": docs.JSON,
            "title": "所属集合",
        },
        {  # Part 3: a filterable resource links its queryables
            "href": url.rsplit("/items", 1)[0] + "/queryables",
            "rel": docs.REL_QUERYABLES,
            "type": docs.SCHEMA,
            "title": "可查询属性",
        },
    ]
    more = (
        (q.offset + page.returned < page.matched)
        if page.matched is not None
        else page.returned == q.limit
    )
    if more and page.returned:
        links.append(
            {
                "href": href(q.offset + q.limit),
                "rel": "next",
                "type": docs.GEOJSON,
                "title": "下一页",
            }
        )
    if q.offset > 0:
        links.append(
            {
                "href": href(max(q.offset - q.limit, 0)),
                "rel": "prev",
                "type": docs.GEOJSON,
                "title": "上一页",
            }
        )
    return links


def link_header(links: list[dict[str, str]]) -> str:
    """The links as an RFC 8288 ``Link`` header (Features Part 1, 7.15.7 recommends next, prev
    and self there too). Hrefs are already percent-encoded, so none holds a comma."""
    return ", ".join(f'<{k["href"]}>; rel="{k["rel"]}"; type="{k["type"]}"' for k in links)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
