"""The city scope of reference-layer writes: which facilities and constraint areas a caller may
import, replace, change or delete.

Every feature stores the city that keeps it (``city_code``; NULL = province-wide). At each write
the city is taken from where the feature lies — the cities whose territory it reaches: their
boundary, less the province-managed cities inside it (辛集 in 石家庄, 定州 in 保定), shrunk by
the boundary tolerance (the stored boundaries are simplified, see
``landmatch.inventory.validate.Regions``):

- a ``city_code`` given in the file must be a city the feature reaches (or any city, for a
  feature that lies in none, e.g. a port offshore); ``130000`` marks it province-wide;
- without one, a feature reaching exactly one city belongs to it, one reaching several is
  province-wide, and one reaching none belongs to the caller's city (an admin's: province-wide).

A city bureau may write a feature only when it belongs to its city before and after the write
and reaches no other city; province-wide features (and any feature reaching another city) are
the admin's. ``replace`` deletes only the absent features the caller may write. The rule itself
is :meth:`landmatch.auth.Principal.can_edit_feature`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shapely
from sqlalchemy import Connection, text

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.errors import Forbidden, UnprocessableInput

# ≈ 50 m, as for parcels (landmatch.inventory.validate.Regions.tolerance_deg).
BOUNDARY_TOLERANCE_DEG = 0.0005


def territory_sql(division: str = "a") -> str:
    """A city's territory as SQL, for the ``admin_division`` row ``division`` of a code in
    :data:`landmatch.vocab.CITIES`: its boundary less the province-managed cities inside it
    (辛集 in 石家庄, 定州 in 保定, each a city of its own for scope); a province-managed city's
    is its own boundary. The one definition of "the city's territory" (reference-layer scope,
    a zone's boundary: ``landmatch.zones.records``)."""
    return (
        f"COALESCE(ST_Difference({division}.geom, (SELECT ST_Union(e.geom) "
        "FROM landmatch.admin_division e "
        f"WHERE e.province_managed AND e.parent_code = {division}.code)), {division}.geom)"
    )


# For features (1-based ordinality i, WKB w): the cities whose territory each one reaches.
# Each city's territory is built once per call, for the cities near the features only.
CITIES_REACHED_SQL = f"""
WITH f AS (
  SELECT u.i, ST_GeomFromWKB(u.w, 4490) AS g
  FROM unnest(CAST(:wkbs AS bytea[])) WITH ORDINALITY AS u(w, i)
), near AS (
  SELECT ST_SetSRID(ST_Extent(f.g)::geometry, 4490) AS b FROM f
), t AS MATERIALIZED (
  SELECT a.code, ST_Buffer({territory_sql("a")}, -:tol) AS geom
  FROM landmatch.admin_division a, near
  WHERE a.code = ANY(:cities) AND a.geom && ST_Expand(near.b, :tol)
)
SELECT f.i, array_agg(t.code ORDER BY t.code) AS codes
FROM f JOIN t ON ST_Intersects(t.geom, f.g) GROUP BY f.i
"""


def cities_reached(conn: Connection, geoms: Sequence[Any]) -> list[list[str]]:
    """For each shapely geometry (EPSG:4490), the city codes whose territory it reaches."""
    if not geoms:
        return []
    rows = conn.execute(
        text(CITIES_REACHED_SQL),
        {
            "wkbs": [shapely.to_wkb(g) for g in geoms],
            "tol": BOUNDARY_TOLERANCE_DEG,
            "cities": list(vocab.CITIES),
        },
    ).all()
    out: list[list[str]] = [[] for _ in geoms]
    for i, codes in rows:
        out[int(i) - 1] = list(codes)
    return out


def home_city(reached: list[str]) -> str | None:
    """The city of a feature from the cities it reaches: the only one, else province-wide."""
    return reached[0] if len(reached) == 1 else None


def place_label(city: str | None) -> str:
    return "全省" if city is None else str(vocab.label(vocab.CITIES, city))


def _where(cities: list[str]) -> str:
    return "、".join(place_label(c) for c in cities)


def assign(
    conn: Connection,
    principal: Principal,
    layer: str,
    rows: list[dict[str, Any]],
    existing: dict[str, dict[str, Any]],
) -> None:
    """Set ``city_code`` of each cleaned row (see the module) and refuse the write, all rows
    at once, when a row is outside the caller's scope: the stored feature of the same code
    belongs elsewhere, or the new one does or reaches into another city."""
    reached = cities_reached(conn, [r["geom"] for r in rows])
    invalid: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    own = principal.city_code if principal.role == "bureau" else None
    for i, (r, where) in enumerate(zip(rows, reached, strict=True)):
        stated = r.get("city_code")
        if stated == vocab.PROVINCE_CODE:
            city = None
        elif stated is not None:
            if where and stated not in where:
                invalid.append(
                    {
                        "row": i + 1,
                        "field": "city_code",
                        "reason": f"城市代码 {stated} 与位置不符：要素位于{_where(where)}",
                    }
                )
                continue
            city = stated
        elif where:
            city = home_city(where)
        else:
            city = own
        r["city_code"] = city
        old = existing.get(r["code"])
        if old is not None and not principal.can_edit_feature(old["city_code"]):
            reason = f"编码 {r['code']} 的要素属于{place_label(old['city_code'])}"
        elif not principal.can_edit_feature(city):
            reason = f"要素属于{place_label(city)}"
        elif principal.role != "admin" and any(c != city for c in where):
            reason = f"要素伸入{_where([c for c in where if c != city])}"
        else:
            continue
        refused.append({"row": i + 1, "field": "city_code", "reason": reason})
    if invalid:
        first = invalid[0]
        raise UnprocessableInput(f"第 {first['row']} 个要素：{first['reason']}", detail=invalid)
    if refused:
        first = refused[0]
        raise Forbidden(
            f"第 {first['row']} 个要素：{first['reason']}，超出本账号的城市范围"
            "（跨市和全省要素由管理员维护）",
            detail=refused,
        )


def require(principal: Principal, layer_label: str, code: str, city: str | None) -> None:
    """Refuse to change or delete a stored feature outside the caller's scope."""
    if not principal.can_edit_feature(city):
        raise Forbidden(
            f"无权修改{layer_label} {code}：该要素属于{place_label(city)}，超出本账号的城市范围"
        )
