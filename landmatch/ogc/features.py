"""Feature pages and single features, serialised to GeoJSON inside PostgreSQL.

One statement returns a whole page as text: the page's keys are chosen first (index order, no
serialisation of skipped rows), then only those rows are joined, projected and written out by
``ST_AsGeoJSON``/``to_json``. Python never builds a dict per feature.

``numberMatched`` is exact: counts are cached per (query, data version) and so cost one scan
per data change, not one per request. Deep ``offset`` pages in the default order start from a
cached key every ``ANCHOR_STEP`` rows, so page 500 000 costs what page 1 costs.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.db.geometry import geojson_sql
from landmatch.errors import NotFound
from landmatch.ogc import cache
from landmatch.ogc import crs as ogc_crs
from landmatch.ogc.collections import Collection, Prop
from landmatch.ogc.query import ItemsQuery

TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"  # OGC API Features 1, 7.14.4
ANCHOR_STEP = 1000
ANCHOR_FROM = 5 * ANCHOR_STEP  # below this, a plain OFFSET is cheap enough


def _geometry_sql(coll: Collection, c: ogc_crs.OgcCrs) -> str:
    if not coll.geometry:
        return "'null'"
    a = coll.alias
    if c.srid == 3857:
        g = f"{a}.geom_3857"
    elif c.transform:
        g = f"ST_Transform({a}.geom, {c.srid:d})"
    else:
        g = f"{a}.geom"
    digits = 3 if c.transform else 7
    return f"coalesce({geojson_sql(g, digits, flip=c.flip, options=0)}, 'null')"


def _props_sql(props: tuple[Prop, ...]) -> str:
    return "to_json(r)::text" if props else "'{}'"


def _lateral(props: tuple[Prop, ...]) -> str:
    """The properties as a lateral row ``r`` (cheaper than a per-row sub-select)."""
    if not props:
        return ""
    cols = ", ".join(f'{p.sql} AS "{p.name}"' for p in props)
    return f" CROSS JOIN LATERAL (SELECT {cols}) r"


def _feature_sql(coll: Collection, q: ItemsQuery, fid: str) -> str:
    return (
        '\'{"type":"Feature","id":\' || '
        + fid
        + " || ',\"geometry\":' || "
        + _geometry_sql(coll, q.crs)
        + " || ',\"properties\":' || "
        + _props_sql(q.properties)
        + " || '}'"
    )


def _order_sql(coll: Collection, q: ItemsQuery) -> str:
    terms = [f"({p.sql}) {'DESC' if d else 'ASC'} NULLS LAST" for p, d in q.order]
    return ", ".join([*terms, coll.key])


@dataclass
class Page:
    body: str  # comma-separated Feature objects
    returned: int
    matched: int | None


def _where(q: ItemsQuery) -> str:
    return " AND ".join(f"({w})" for w in q.where)


def count(session: Session, coll: Collection, q: ItemsQuery, version: int | None) -> int:
    sql = f"SELECT count(*) FROM {coll.from_sql} WHERE {_where(q)}"
    key = ("count", cache.database_key(session), coll.id, sql, _frozen(q.params), version)
    if version is not None and (hit := cache.get(key)) is not None:
        return int(hit)
    n = int(session.execute(text(sql), q.params).scalar_one())
    if version is not None:
        cache.put(key, n)
    return n


def _anchors(session: Session, coll: Collection, q: ItemsQuery, version: int) -> list[Any]:
    inner = (
        f"SELECT {coll.key} AS k, row_number() OVER (ORDER BY {coll.key}) AS rn "
        f"FROM {coll.from_sql} WHERE {_where(q)}"
    )
    sql = f"SELECT k FROM ({inner}) s WHERE rn % {ANCHOR_STEP:d} = 0 ORDER BY rn"
    key = ("anchors", cache.database_key(session), coll.id, sql, _frozen(q.params), version)
    hit = cache.get(key)
    if hit is None:
        hit = [r[0] for r in session.execute(text(sql), q.params)]
        cache.put(key, hit)
    return hit  # type: ignore[no-any-return]


def items(session: Session, coll: Collection, q: ItemsQuery) -> Page:
    version = cache.data_version(session, coll.state)
    where, params, offset = list(q.where), dict(q.params), q.offset
    if q.default_order and version is not None and offset >= ANCHOR_FROM:
        anchors = _anchors(session, coll, q, version)
        block = min(offset // ANCHOR_STEP, len(anchors))
        if block:
            where.append(f"{coll.key} > :anchor")
            params["anchor"] = anchors[block - 1]
            offset -= block * ANCHOR_STEP
    order = _order_sql(coll, q)
    params.update(limit=q.limit, offset=offset)
    page = (
        f"SELECT {coll.key} AS k, row_number() OVER (ORDER BY {order}) AS rn "
        f"FROM {coll.from_sql} WHERE {' AND '.join(f'({w})' for w in where)} "
        f"ORDER BY {order} LIMIT :limit OFFSET :offset"
    )
    sql = (
        f"WITH page AS ({page}) "
        f"SELECT count(*), coalesce(string_agg({_feature_sql(coll, q, coll.id_sql)}, ',' "
        f"ORDER BY page.rn), '') "
        f"FROM page JOIN {coll.from_sql} ON {coll.key} = page.k {coll.joins}"
        f"{_lateral(q.properties)}"
    )
    returned, body = session.execute(text(sql), params).one()
    matched = count(session, coll, q, version)
    return Page(body=body, returned=int(returned), matched=matched)


def item(session: Session, coll: Collection, q: ItemsQuery, fid: str) -> str:
    """One feature as GeoJSON text, or NotFound. ``fid`` is the integer feature id or, where
    the collection has codes (a parcel's 地块编码), the code; the integer id is tried first."""
    base = (
        f"SELECT {_feature_sql(coll, q, coll.id_sql)} FROM {coll.from_sql} {coll.joins}"
        f"{_lateral(q.properties)} WHERE ({_where(q)}) AND "
    )
    try:
        n: int | None = int(fid)
    except ValueError:
        n = None
    if n is not None and not (coll.fid_text and not 0 <= n <= 999999):
        value: Any = f"{n:06d}" if coll.fid_text else n
        if -(2**63) <= n < 2**63:
            row = session.execute(
                text(base + coll.fid_predicate), {**q.params, "fid": value}
            ).first()
            if row is not None:
                return str(row[0])
    if coll.code_sql:
        row = session.execute(
            text(base + f"{coll.code_sql} = :fcode"), {**q.params, "fcode": fid}
        ).first()
        if row is not None:
            return str(row[0])
    hint = "" if coll.code_sql or n is not None else "（要素编号为整数）"
    raise NotFound(f"集合 {coll.id} 中没有要素 {fid}{hint}")


def extent(session: Session, coll: Collection, public: bool) -> dict[str, Any]:
    """Spatial (CRS84) and temporal extent, cached per data version."""
    version = cache.data_version(session, coll.state)
    key = ("extent", cache.database_key(session), coll.id, public, version)
    if version is not None and (hit := cache.get(key)) is not None:
        return hit  # type: ignore[no-any-return]
    parts = []
    if coll.geometry:
        parts.append(f"ST_Extent({coll.geom_sql})::box2d::text")
    else:
        parts.append("NULL")
    if coll.datetime:
        parts.append(
            f"min(({coll.datetime[0]})::timestamptz), max(({coll.datetime[1]})::timestamptz)"
        )
    else:
        parts.append("NULL, NULL")
    row = session.execute(
        text(f"SELECT {', '.join(parts)} FROM {coll.from_sql} WHERE {coll.where(public)}")
    ).one()
    out: dict[str, Any] = {}
    if row[0]:
        nums = [float(x) for x in row[0][4:-1].replace(",", " ").split()]
        out["spatial"] = {"bbox": [[round(v, 6) for v in nums]], "crs": ogc_crs.CRS84}
    elif coll.geometry:
        out["spatial"] = {"bbox": [[113.45, 36.03, 119.85, 42.62]], "crs": ogc_crs.CRS84}
    if row[1] is not None or row[2] is not None:
        out["temporal"] = {
            "interval": [[_iso(row[1]), _iso(row[2])]],
            "trs": TRS,
        }
    if version is not None:
        cache.put(key, out)
    return out


def _iso(v: dt.datetime | None) -> str | None:
    return v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if v else None


def _frozen(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)
