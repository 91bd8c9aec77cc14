"""CQL2 (text and JSON) filters → a SQL predicate with bound parameters.

pygeofilter parses; its SQLAlchemy backend builds the expression. Attributes resolve only
through the collection's whitelisted queryables (anything else is a 400), literals are bound
parameters, and geometry literals are built with ``ST_GeomFromText(:wkt, 4490)`` (CQL2's
default CRS is CRS84, identical to CGCS2000 lon/lat at map scale).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from geoalchemy2 import Geometry
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import handle
from pygeofilter.backends.sqlalchemy.evaluate import SQLAlchemyFilterEvaluator
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from shapely.geometry import box, shape
from sqlalchemy import ColumnElement, bindparam, func, literal_column
from sqlalchemy.dialects.postgresql.base import PGDialect

from landmatch.errors import InvalidInput
from landmatch.ogc.collections import Collection

# "cql-text" is the pre-CQL2 name GDAL looks for in the OpenAPI document before it pushes a
# ``-where`` down; what it sends is valid CQL2 text, parsed as such (anything else is a 400).
LANGS = ("cql2-text", "cql2-json", "cql-text")
TEXT_LANGS = ("cql2-text", "cql-text")
_DIALECT = PGDialect(paramstyle="named")
_SPATIAL = {
    ast.SpatialComparisonOp.INTERSECTS: "ST_Intersects",
    ast.SpatialComparisonOp.DISJOINT: "ST_Disjoint",
    ast.SpatialComparisonOp.CONTAINS: "ST_Contains",
    ast.SpatialComparisonOp.WITHIN: "ST_Within",
    ast.SpatialComparisonOp.TOUCHES: "ST_Touches",
    ast.SpatialComparisonOp.CROSSES: "ST_Crosses",
    ast.SpatialComparisonOp.OVERLAPS: "ST_Overlaps",
    ast.SpatialComparisonOp.EQUALS: "ST_Equals",
}
_ALLOWED_NODES = (
    ast.And,
    ast.Or,
    ast.Not,
    ast.Comparison,
    ast.Between,
    ast.Like,
    ast.In,
    ast.IsNull,
    ast.SpatialComparisonPredicate,
    ast.Attribute,
)


def _bad(msg: str) -> InvalidInput:
    return InvalidInput(f"filter 无效：{msg}", detail=[{"field": "filter", "reason": msg}])


class _Evaluator(SQLAlchemyFilterEvaluator):  # type: ignore[misc]
    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(fields, undefined_as_null=False)

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial_operation(self, node: Any, lhs: Any, rhs: Any) -> Any:
        return getattr(func, _SPATIAL[node.op])(lhs, rhs)

    @handle(ast.BBox)
    def bbox(self, node: Any, lhs: Any) -> Any:
        return func.ST_Intersects(lhs, _geom(box(node.minx, node.miny, node.maxx, node.maxy).wkt))

    @handle(ast.Function)
    def function(self, node: Any, *args: Any) -> Any:
        # The CQL2 text grammar yields BBOX(x0, y0, x1, y1) as a function call.
        if (
            node.name.lower() == "bbox"
            and len(args) in (4, 6)
            and all(isinstance(a, int | float) for a in args)
        ):
            x0, y0, x1, y1 = (
                (args[0], args[1], args[2], args[3])
                if len(args) == 4
                else (args[0], args[1], args[3], args[4])
            )
            return _geom(box(x0, y0, x1, y1).wkt)
        raise _bad(f"不支持的函数 {node.name}")

    @handle(values.Geometry)
    def geometry(self, node: Any) -> Any:
        return _geom(shape(node.__geo_interface__).wkt)

    @handle(values.Envelope)
    def envelope(self, node: Any) -> Any:
        # The CQL2-JSON parser builds Envelope(*bbox) positionally into fields declared
        # (x1, x2, y1, y2), so the fields hold minx, miny, maxx, maxy in that order.
        return _geom(box(node.x1, node.x2, node.y1, node.y2).wkt)


def _geom(wkt: str) -> Any:
    return func.ST_GeomFromText(bindparam(None, wkt, unique=True), 4490)


def _check(node: Any) -> None:
    """Reject node kinds we do not declare (functions, arithmetic, temporal, arrays)."""
    if isinstance(node, ast.Node):
        if isinstance(node, ast.Function) and node.name.lower() == "bbox":
            return
        if not isinstance(node, _ALLOWED_NODES):
            raise _bad(f"不支持的运算 {type(node).__name__}")
        for child in node.get_sub_nodes():
            _check(child)
    elif isinstance(node, list | tuple):
        for child in node:
            _check(child)


def to_sql(
    text: str, lang: str | None, coll: Collection, public: bool, prefix: str = "f"
) -> tuple[str, dict[str, Any]]:
    """Translate a CQL2 filter to ``(sql, params)`` for this collection and caller."""
    lang = lang or "cql2-text"
    if lang not in LANGS:
        raise InvalidInput(f"filter-lang 不支持 {lang}；可选：{', '.join(LANGS)}")
    try:
        tree = parse_text(text) if lang in TEXT_LANGS else parse_json(json.loads(text))
    except Exception as exc:  # parser errors come in many classes
        raise _bad(f"无法解析（{type(exc).__name__}）") from None
    _check(tree)
    queryables = coll.queryables(public)
    fields: dict[str, Any] = {
        n: literal_column(f"({p.sql})", type_=p.type_) for n, p in queryables.items()
    }
    if coll.geometry:
        fields["geometry"] = literal_column(coll.geom_sql, type_=Geometry(srid=4490))
    for name in _attributes(tree):
        if name not in fields:
            raise _bad(f"未知属性 {name}；可查询属性见 queryables")
    _literals(tree, queryables)
    try:
        expr: ColumnElement[Any] = _Evaluator(fields).evaluate(tree)
        compiled = expr.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    except InvalidInput:
        raise
    except Exception as exc:
        raise _bad(f"无法转换（{type(exc).__name__}）") from None
    names = compiled.params
    sql = re.sub(
        r"(?<!:):(\w+)", lambda m: f":{prefix}_{m[1]}" if m[1] in names else m[0], str(compiled)
    )
    return sql, {f"{prefix}_{k}": v for k, v in names.items()}


def _literal(value: Any, prop: Any) -> Any:
    """``value`` as the property's type: 1/0 stand for true/false (GDAL and QGIS keep
    booleans as integers); any other mismatch is the caller's mistake (400), never SQL's."""
    if isinstance(value, ast.Node | values.Geometry | values.Envelope):
        return value
    kind = prop.schema.get("type")
    if kind == "boolean":
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            return bool(value)
        ok = isinstance(value, bool)
    elif kind in ("number", "integer"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif prop.schema.get("format") in ("date", "date-time"):
        ok = isinstance(value, str | dt.date)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise _bad(f"属性 {prop.name} 的值 {value!r} 类型不符（应为 {kind}）")
    return value


def _literals(node: Any, props: dict[str, Any]) -> None:
    """Check (and for booleans, convert) every literal compared with a property."""
    if isinstance(node, ast.Node) and isinstance(getattr(node, "lhs", None), ast.Attribute):
        prop = props.get(node.lhs.name)
        if prop is not None:
            if isinstance(node, ast.Comparison):
                node.rhs = _literal(node.rhs, prop)
            elif isinstance(node, ast.In):
                node.sub_nodes = [_literal(v, prop) for v in node.sub_nodes]
            elif isinstance(node, ast.Between):
                node.low, node.high = _literal(node.low, prop), _literal(node.high, prop)
    if isinstance(node, ast.Node):
        for child in node.get_sub_nodes():
            _literals(child, props)
    elif isinstance(node, list | tuple):
        for child in node:
            _literals(child, props)


def _attributes(node: Any) -> list[str]:
    if isinstance(node, ast.Attribute):
        return [node.name]
    out: list[str] = []
    if isinstance(node, ast.Node):
        for child in node.get_sub_nodes():
            out += _attributes(child)
    elif isinstance(node, list | tuple):
        for child in node:
            out += _attributes(child)
    return out
