"""Reads the map pages need besides tiles: search, facility points, cities, a stored match run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.parcels import PUBLIC_WHERE
from landmatch.errors import InvalidInput

_BOX = "ST_XMin(g)::float8, ST_YMin(g)::float8, ST_XMax(g)::float8, ST_YMax(g)::float8"


# The short names people use for development zones (石家庄高新区, 正定经开区, 曹妃甸综保区): a zone
# is found by its full name, by its name with these shortenings applied, or by its kind.
ZONE_SHORT_NAMES: tuple[tuple[str, str], ...] = (
    ("高新技术产业开发区", "高新区"),
    ("经济技术开发区", "经开区"),
    ("经济开发区", "经开区"),
    ("综合保税区", "综保区"),
)


def _short_name_sql(column: str) -> str:
    out = column
    for long, short in ZONE_SHORT_NAMES:
        out = f"replace({out}, '{long}', '{short}')"
    return out


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, q: str, principal: Principal, limit: int = 10) -> list[dict[str, Any]]:
    """Places first — cities, development zones (also by short name or kind: 高新区, 经开区),
    counties, facilities — then parcels by code (any part of it), name or address.

    Within each kind an exact name comes first, then a name that starts with the text, then the
    rest. Each hit says what it is (``kind_label``) and carries a bbox (CGCS2000 lon/lat) to
    zoom to. Public callers find public parcels only. At most ``limit`` places and ``limit``
    parcels.
    """
    q = q.strip()
    if not q:
        raise InvalidInput("请输入地块编号、名称或地名")
    if len(q) > 60:
        raise InvalidInput("搜索词过长（最多 60 个字符）")
    like = "%" + _escape_like(q) + "%"
    prefix = _escape_like(q) + "%"
    where = PUBLIC_WHERE if principal.is_public else "p.deleted_at IS NULL"
    short = _short_name_sql("z.name")

    def rank(name: str) -> str:
        return f"(CASE WHEN {name} = :q THEN 0 WHEN {name} ILIKE :prefix THEN 1 ELSE 2 END)"

    # (kind order, rank) orders the places; parcels follow. Each branch is bounded by :n.
    sql = f"""
      SELECT * FROM (
        (SELECT CASE a.level WHEN 'county' THEN 2 ELSE 0 END AS k, {rank("a.name")} AS r,
                'admin' AS kind, a.level AS sub, a.code, a.name AS label, {_BOX}
           FROM landmatch.admin_division a, LATERAL (SELECT a.geom AS g) x
          WHERE a.level <> 'province' AND a.name ILIKE :like
          ORDER BY 1, 2, a.code LIMIT :n)
        UNION ALL
        (SELECT 1, LEAST({rank("z.name")}, {rank(short)}, CASE WHEN z.kind = :q THEN 1 END),
                'zone', z.level || '|' || z.kind, z.code, z.name, {_BOX}
           FROM landmatch.dev_zone z, LATERAL (SELECT z.geom AS g) x
          WHERE z.name ILIKE :like OR {short} ILIKE :like OR z.kind = :q
          ORDER BY 2, (z.level = 'national') DESC, z.name LIMIT :n)
        UNION ALL
        (SELECT 3, {rank("f.name")}, 'facility', f.kind, f.code, f.name, {_BOX}
           FROM landmatch.facility f, LATERAL (SELECT f.geom AS g) x
          WHERE f.name ILIKE :like ORDER BY 2, f.name LIMIT :n)
      ) places ORDER BY k, r, label LIMIT :n
    """
    params = {"q": q, "like": like, "prefix": prefix, "n": limit}
    places = session.execute(text(sql), params).all()
    parcels = session.execute(
        text(
            f"""
            SELECT CASE WHEN p.code = :q THEN 0 WHEN p.code ILIKE :prefix THEN 1
                        WHEN p.code ILIKE :like THEN 2 ELSE 3 END AS r,
                   'parcel', NULL, p.code, p.name || '（' || p.code || '）', {_BOX}
              FROM landmatch.parcel p, LATERAL (SELECT p.geom AS g) x
             WHERE {where} AND (p.code ILIKE :like OR p.name ILIKE :like OR p.address ILIKE :like)
             ORDER BY 1, p.code LIMIT :n
            """
        ),
        params,
    ).all()
    out = []
    for row in [r[1:] for r in places] + list(parcels):
        _rank, kind, sub, code, label, x0, y0, x1, y1 = row
        out.append(
            {
                "kind": kind,
                "kind_label": _kind_label(kind, sub),
                "code": code,
                "label": label,
                "bbox": [round(x0, 6), round(y0, 6), round(x1, 6), round(y1, 6)],
            }
        )
    return out


def _kind_label(kind: str, sub: str | None) -> str:
    """What a hit is, in words: 城市, 县（市、区）, 国家级高新区, 港口 …, 地块."""
    if kind == "admin":
        return "城市" if sub == "city" else "县（市、区）"
    if kind == "zone":
        level, _, zone_kind = (sub or "").partition("|")
        return (vocab.label(vocab.ZONE_LEVELS, level) or "") + (zone_kind or "开发区")
    if kind == "facility":
        return vocab.label(vocab.FACILITY_KINDS, sub) or "设施"
    return "地块"


def facilities(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT code, name, kind, ST_X(geom)::float8 AS lon, ST_Y(geom)::float8 AS lat, "
            "approximate FROM landmatch.facility ORDER BY kind, code"
        )
    )
    return [
        dict(r._mapping) | {"kind_label": vocab.label(vocab.FACILITY_KINDS, r.kind)} for r in rows
    ]


def cities(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        text("SELECT code, name FROM landmatch.admin_division WHERE level = 'city' ORDER BY code")
    )
    return [(r[0], r[1]) for r in rows]
