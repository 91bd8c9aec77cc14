"""Which promotion team covers which city or development zone.

A team is the accounts' ``team`` (text on a promoter's account). A parcel's inquiry goes to
the team covering its zone, else the team covering its city, else to nobody (admins see it and
may assign it). Each city and each zone has at most one team; admins add and remove coverage.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.errors import Conflict, NotFound, UnprocessableInput

TEAM_MAX = 64

# The team an inquiry about a parcel goes to: its zone's, else its city's.
ROUTE_SQL = (
    "coalesce((SELECT c.team FROM landmatch.team_coverage c WHERE c.zone_id = {zone}), "
    "(SELECT c.team FROM landmatch.team_coverage c WHERE c.city_code = {city}))"
)


def route_sql(zone: str, city: str) -> str:
    """A SQL expression: the team covering zone ``zone`` / city ``city`` (column names)."""
    return ROUTE_SQL.format(zone=zone, city=city)


def teams(session: Session) -> list[str]:
    """The teams known: those of promoter accounts and those with coverage."""
    rows = session.execute(
        text(
            "SELECT team FROM landmatch.app_user WHERE team IS NOT NULL AND role = 'promoter' "
            "UNION SELECT team FROM landmatch.team_coverage ORDER BY 1"
        )
    )
    return [r[0] for r in rows]


def zone_choices(session: Session) -> list[tuple[str, str]]:
    """(code, "name（city）") of every zone, for the coverage form."""
    rows = session.execute(
        text("SELECT code, name, city_code FROM landmatch.dev_zone ORDER BY city_code, code")
    )
    return [(r.code, f"{r.name}（{vocab.label(vocab.CITIES, r.city_code)}）") for r in rows]


def list_coverage(session: Session, principal: Principal) -> list[dict[str, Any]]:
    principal.require("admin", "promoter")
    rows = session.execute(
        text(
            "SELECT c.id, c.team, c.city_code, z.code AS zone_code, z.name AS zone_name, "
            "coalesce(c.city_code, z.city_code) AS place_city, c.created_by, c.created_at "
            "FROM landmatch.team_coverage c LEFT JOIN landmatch.dev_zone z ON z.id = c.zone_id "
            "ORDER BY c.team, c.city_code NULLS LAST, z.code"
        )
    )
    out = []
    for r in rows:
        d = dict(r._mapping)
        city = vocab.label(vocab.CITIES, d["place_city"]) if d["place_city"] else ""
        d["place"] = f"{d['zone_name']}（{city}）" if d["zone_code"] else city
        d["kind"] = "开发区" if d["zone_code"] else "城市"
        out.append(d)
    return out


def add(
    session: Session,
    principal: Principal,
    team: str,
    city_code: str | None = None,
    zone_code: str | None = None,
) -> int:
    """Let ``team`` cover a city or a zone (one of the two). Admins only."""
    principal.require("admin")
    team = (team or "").strip()
    city_code = (city_code or "").strip() or None
    zone_code = (zone_code or "").strip() or None
    errors = []
    if not team:
        errors.append({"field": "team", "reason": "请填写团队名称"})
    elif len(team) > TEAM_MAX:
        errors.append({"field": "team", "reason": f"团队名称最多 {TEAM_MAX} 个字符"})
    if (city_code is None) == (zone_code is None):
        errors.append({"field": "place", "reason": "请选择一个城市或一个开发区（二选一）"})
    zone_id = None
    if city_code is not None and city_code not in vocab.CITIES:
        errors.append({"field": "city", "reason": vocab.unknown_city(city_code)})
    if zone_code is not None:
        zone_id = session.execute(
            text("SELECT id FROM landmatch.dev_zone WHERE code = :c"), {"c": zone_code}
        ).scalar()
        if zone_id is None:
            errors.append({"field": "zone", "reason": f"未找到开发区 {zone_code}"})
    if errors:
        raise UnprocessableInput("团队覆盖范围无效", detail=errors)
    try:
        with session.begin_nested():
            return int(
                session.execute(
                    text(
                        "INSERT INTO landmatch.team_coverage (team, city_code, zone_id, "
                        "created_by) VALUES (:t, :c, :z, :by) RETURNING id"
                    ),
                    {"t": team, "c": city_code, "z": zone_id, "by": principal.actor},
                ).scalar_one()
            )
    except IntegrityError:
        where = "该开发区" if zone_id is not None else "该城市"
        raise Conflict(f"{where}已由其他团队负责：请先删除原有的覆盖范围") from None


def remove(session: Session, principal: Principal, coverage_id: int) -> None:
    principal.require("admin")
    gone = session.execute(
        text("DELETE FROM landmatch.team_coverage WHERE id = :i RETURNING id"),
        {"i": coverage_id},
    ).scalar()
    if gone is None:
        raise NotFound(f"未找到覆盖范围 {coverage_id}")
