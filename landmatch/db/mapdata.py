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


def search(session: Session, q: str, principal: Principal, limit: int = 10) -> list[dict[str, Any]]:
    """Parcels by code, name or address; zones, cities/counties and facilities by name.

    Each hit carries a bbox (CGCS2000 lon/lat) to zoom to. Public callers find public parcels only.
    """
    q = q.strip()
    if not q:
        raise InvalidInput("请输入地块编号、名称或地名")
    if len(q) > 60:
        raise InvalidInput("搜索词过长（最多 60 个字符）")
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where = PUBLIC_WHERE if principal.is_public else "p.deleted_at IS NULL"
    sql = f"""
      (SELECT 'parcel' AS kind, p.code, p.name || '（' || p.code || '）' AS label, {_BOX}
         FROM landmatch.parcel p, LATERAL (SELECT p.geom AS g) x
        WHERE {where} AND (p.code ILIKE :prefix OR p.name ILIKE :like OR p.address ILIKE :like)
        ORDER BY (p.code ILIKE :prefix) DESC, p.code LIMIT :n)
      UNION ALL
      (SELECT 'zone', z.code, z.name, {_BOX} FROM landmatch.dev_zone z,
              LATERAL (SELECT z.geom AS g) x WHERE z.name ILIKE :like ORDER BY z.name LIMIT :n)
      UNION ALL
      (SELECT 'admin', a.code, a.name, {_BOX} FROM landmatch.admin_division a,
              LATERAL (SELECT a.geom AS g) x WHERE a.name ILIKE :like ORDER BY a.code LIMIT :n)
      UNION ALL
      (SELECT 'facility', f.code, f.name, {_BOX} FROM landmatch.facility f,
              LATERAL (SELECT f.geom AS g) x WHERE f.name ILIKE :like ORDER BY f.name LIMIT :n)
    """
    rows = session.execute(
        text(sql), {"like": like, "prefix": q.replace("%", "") + "%", "n": limit}
    )
    labels = {"parcel": "地块", "zone": "开发区", "admin": "行政区", "facility": "设施"}
    out = []
    for r in rows:
        kind, code, label, x0, y0, x1, y1 = r
        out.append(
            {
                "kind": kind,
                "kind_label": labels[kind],
                "code": code,
                "label": label,
                "bbox": [round(x0, 6), round(y0, 6), round(x1, 6), round(y1, 6)],
            }
        )
    return out[: limit * 2]


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
