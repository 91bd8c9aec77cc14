"""Parsing of the items query parameters into a validated ``ItemsQuery``.

Unknown parameters are a 400 (so a typo never silently returns everything). Parameters named
like a queryable are equality filters, as QGIS expects from the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from landmatch import vocab
from landmatch.errors import InvalidInput
from landmatch.ogc import cql
from landmatch.ogc import crs as ogc_crs
from landmatch.ogc.collections import Collection, Prop

COMMON = {"f"}
# The /items parameters, in the order the OpenAPI document lists them.
ITEM_PARAMS = (
    "f",
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "properties",
    "sortby",
    "filter",
    "filter-lang",
    "filter-crs",
)
ITEMS = COMMON | set(ITEM_PARAMS)
ITEM = COMMON | {"crs", "properties"}
FORMATS = ("json", "html")


def _bad(param: str, reason: str) -> InvalidInput:
    return InvalidInput(f"参数 {param} 无效：{reason}", detail=[{"field": param, "reason": reason}])


@dataclass
class ItemsQuery:
    limit: int
    offset: int = 0
    crs: ogc_crs.OgcCrs = ogc_crs.DEFAULT
    where: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    properties: tuple[Prop, ...] = ()
    order: list[tuple[Prop, bool]] = field(default_factory=list)  # (prop, descending)

    @property
    def default_order(self) -> bool:
        return not self.order


def single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise _bad(name, "只能出现一次")
    return values[0]


def check_known(params: Mapping[str, Sequence[str]], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidInput(
            f"未知查询参数：{', '.join(unknown)}；支持：{', '.join(sorted(allowed))}",
            detail=[{"field": u, "reason": "未知参数"} for u in unknown],
        )


def output_format(params: Mapping[str, Sequence[str]], accept: str | None) -> str:
    f = single(params, "f")
    if f is not None:
        if f not in FORMATS:
            raise _bad("f", f"可选 {', '.join(FORMATS)}")
        return f
    if accept and "text/html" in accept:
        return "html"
    return "json"


def _int(params: Mapping[str, Sequence[str]], name: str, default: int, low: int) -> int:
    v = single(params, name)
    if v is None:
        return default
    try:
        n = int(v)
    except ValueError:
        raise _bad(name, "应为整数") from None
    if n < low:
        raise _bad(name, f"不能小于 {low}")
    return n


def _numbers(v: str, name: str) -> list[float]:
    try:
        nums = [float(x) for x in v.split(",")]
    except ValueError:
        raise _bad(name, "应为逗号分隔的数字") from None
    if any(x != x or abs(x) == float("inf") for x in nums):
        raise _bad(name, "应为有限数字")
    return nums


def bbox_sql(value: str, crs_value: str | None, geom: str, q: ItemsQuery) -> None:
    nums = _numbers(value, "bbox")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4:
        raise _bad("bbox", "应为 4 个（或 6 个）数字")
    c = ogc_crs.parse(crs_value, "bbox-crs")
    a0, a1, b0, b1 = nums
    x0, y0, x1, y1 = (a1, a0, b1, b0) if c.flip else (a0, a1, b0, b1)
    if x0 > x1 or y0 > y1:
        raise _bad("bbox", "最小值不能大于最大值（不支持跨越 180° 经线）")
    if not c.transform and not (
        -180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90
    ):
        raise _bad("bbox", "经度应在 -180..180、纬度应在 -90..90 之间")
    q.params.update(bx0=x0, by0=y0, bx1=x1, by1=y1)
    env = "ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, 4490)"
    if c.transform:
        env = f"ST_Transform(ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, {c.srid:d}), 4490)"
    q.where.append(f"ST_Intersects({geom}, {env})")


def _instant(v: str, field: str = "datetime") -> dt.datetime | None:
    """An RFC 3339 time or date (a date is its midnight, UTC); ``..`` or nothing is an open end.
    ``field`` is the parameter the value came in (named in the error)."""
    if v in ("..", ""):
        return None
    try:
        if len(v) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(v), dt.time(), dt.UTC)
        t = dt.datetime.fromisoformat(v)
    except ValueError:
        what = "时间、日期或以 / 分隔的区间（开放端用 ..）" if field == "datetime" else "时间或日期"
        raise _bad(field, f"应为 RFC 3339 {what}") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def datetime_sql(value: str, coll: Collection, q: ItemsQuery) -> None:
    if "/" in value:
        a, _, b = value.partition("/")
        start, end = _instant(a), _instant(b)
        if start and end and start > end:
            raise _bad("datetime", "区间起点晚于终点")
    else:
        start = end = _instant(value)
        if start is None:
            raise _bad("datetime", "缺少时间")
        if len(value) == 10:  # a whole day
            end = start + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    if coll.datetime is None:
        return  # no temporal property: the parameter does not restrict (Part 1, 7.15.4)
    s, e = coll.datetime
    # An interval with an open end (no valid_until) runs on for ever; an instant that is not
    # known (NULL) matches no time at all.
    low, high = ("'-infinity'", "'infinity'") if s != e else ("NULL", "NULL")
    if end is not None:
        q.where.append(f"coalesce(({s})::timestamptz, {low}) <= :dt_end")
        q.params["dt_end"] = end
    if start is not None:
        q.where.append(f"coalesce(({e})::timestamptz, {high}) >= :dt_start")
        q.params["dt_start"] = start


BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def parse_bool(v: str) -> bool:
    """``true``/``false`` or ``1``/``0`` (GDAL and QGIS keep booleans as integers)."""
    try:
        return BOOLEANS[v.strip().lower()]
    except KeyError:
        raise ValueError(v) from None


def _typed(prop: Prop, v: str) -> Any:
    t = prop.schema.get("type")
    try:
        if t == "integer":
            return int(v)
        if t == "number":
            return float(v)
        if t == "boolean":
            return parse_bool(v)
        if prop.schema.get("format") == "date":
            return dt.date.fromisoformat(v)
        if prop.schema.get("format") == "date-time":
            return _instant(v, prop.name)
    except ValueError:
        hint = "true/false 或 1/0" if t == "boolean" else t
        raise _bad(prop.name, f"应为 {hint}") from None
    return v


def parse_items(
    coll: Collection,
    params: Mapping[str, Sequence[str]],
    public: bool,
    default_limit: int,
    max_limit: int,
) -> ItemsQuery:
    queryables = coll.queryables(public)
    check_known(params, ITEMS | set(queryables))
    q = ItemsQuery(
        limit=min(_int(params, "limit", default_limit, 1), max_limit),
        offset=_int(params, "offset", 0, 0),
    )
    q.crs = ogc_crs.parse(single(params, "crs"))
    q.where.append(coll.where(public))
    bbox = single(params, "bbox")
    if bbox is not None:
        if not coll.geometry:
            raise _bad("bbox", f"集合 {coll.id} 没有几何")
        bbox_sql(bbox, single(params, "bbox-crs"), coll.geom_sql, q)
    elif single(params, "bbox-crs") is not None:
        raise _bad("bbox-crs", "只能与 bbox 一起使用")
    when = single(params, "datetime")
    if when is not None:
        datetime_sql(when, coll, q)
    for i, (name, prop) in enumerate(sorted(queryables.items())):
        v = single(params, name)
        if v is not None:
            q.where.append(f"({prop.sql}) = :eq{i}")
            q.params[f"eq{i}"] = _typed(prop, v)
    text_filter = single(params, "filter")
    lang = single(params, "filter-lang")
    fcrs = single(params, "filter-crs")
    if fcrs is not None and ogc_crs.parse(fcrs, "filter-crs") is not ogc_crs.DEFAULT:
        raise _bad("filter-crs", f"仅支持 {ogc_crs.CRS84}")
    if text_filter is not None:
        sql, fparams = cql.to_sql(text_filter, lang, coll, public)
        q.where.append(f"({sql})")
        q.params.update(fparams)
    elif lang is not None and lang not in cql.LANGS:
        raise _bad("filter-lang", f"可选 {', '.join(cql.LANGS)}")
    q.properties = select_properties(coll, params, public)
    sortby = single(params, "sortby")
    if sortby:
        for term in sortby.split(","):
            term = term.strip()
            desc = term.startswith("-")
            name = term.lstrip("+-").strip()
            if name not in queryables:
                raise _bad("sortby", f"不能按 {name} 排序；可排序属性见 queryables")
            q.order.append((queryables[name], desc))
    return q


def select_properties(
    coll: Collection, params: Mapping[str, Sequence[str]], public: bool
) -> tuple[Prop, ...]:
    props = coll.props(public)
    wanted = single(params, "properties")
    if wanted is None:
        return props
    given = [n.strip() for n in wanted.split(",") if n.strip()]
    if len(given) > len(props):  # a name twice is harmless; a list longer than this is not
        raise _bad(
            "properties",
            f"最多 {len(props)} 个属性（本集合共 {len(props)} 个），收到 {len(given):,} 个",
        )
    names = list(dict.fromkeys(given))  # each once, in the order asked
    by_name = {p.name: p for p in props}
    try:
        vocab.refuse_unknown(names, by_name, "属性", ", ")
    except ValueError as exc:
        raise _bad("properties", str(exc)) from None
    return tuple(by_name[n] for n in names)
