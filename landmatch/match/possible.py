"""When a request has no result and no near miss: what is possible, by area (the rule a large or
odd request most often fails) — the largest ready sites in the request's cities and how far
they fall short, the nearest other cities that have ready sites of the size, and land that will
become available there (批而未供, idle land) with the usual lead time. Staff view."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.geo.measure import M2_PER_MU
from landmatch.match.scores import STATUS_DAYS


def possible(session: Session, requirement: dict[str, Any], limit: int = 3) -> dict[str, Any]:
    lo = requirement.get("area_mu_min") or 0.0
    hi = requirement.get("area_mu_max")
    cities = list((requirement.get("location") or {}).get("cities") or [])
    params: dict[str, Any] = {
        "lo": lo * M2_PER_MU,
        "hi": (hi * M2_PER_MU) if hi is not None else None,
        "cities": cities,
        "lim": limit,
    }
    in_cities = "(cardinality(CAST(:cities AS text[])) = 0 OR p.city_code = ANY(:cities))"
    size = "p.area_m2 >= :lo AND (CAST(:hi AS float8) IS NULL OR p.area_m2 <= :hi)"
    largest = [
        {
            "code": r.code,
            "name": r.name,
            "city": vocab.CITIES.get(r.city_code, r.city_code),
            "area_mu": r.area_m2 / M2_PER_MU,
            "short_mu": max(0.0, lo - r.area_m2 / M2_PER_MU),
        }
        for r in session.execute(
            text(
                "SELECT p.code, p.name, p.city_code, p.area_m2 FROM landmatch.parcel p "
                f"WHERE p.deleted_at IS NULL AND p.status = 'ready' AND {in_cities} "
                "ORDER BY p.area_m2 DESC LIMIT :lim"
            ),
            params,
        )
    ]
    other_cities = []
    if cities:
        other_cities = [
            {"city": vocab.CITIES.get(r.city_code, r.city_code), "count": r.n, "km": r.km}
            for r in session.execute(
                text(
                    "WITH want AS (SELECT ST_Centroid(ST_Collect(geom)) AS c FROM "
                    "landmatch.admin_division WHERE code = ANY(:cities)) "
                    "SELECT p.city_code, count(*) AS n, round((ST_Distance(CAST(ST_Centroid(a.geom) "
                    "AS geography), CAST((SELECT c FROM want) AS geography)) / 1000)::numeric) AS km "
                    "FROM landmatch.parcel p JOIN landmatch.admin_division a ON a.code = p.city_code "
                    f"WHERE p.deleted_at IS NULL AND p.status = 'ready' AND {size} "
                    "AND NOT (p.city_code = ANY(:cities)) GROUP BY p.city_code, a.geom "
                    "ORDER BY km, p.city_code LIMIT :lim"
                ),
                params,
            )
        ]
    coming = [
        {
            "status": vocab.label(vocab.PARCEL_STATUS, r.status),
            "count": r.n,
            "days": STATUS_DAYS.get(r.status, 365),
            "area_mu": (r.biggest or 0) / M2_PER_MU,
        }
        for r in session.execute(
            text(
                "SELECT p.status, count(*) AS n, max(p.area_m2) AS biggest FROM landmatch.parcel p "
                f"WHERE p.deleted_at IS NULL AND p.status IN ('unsupplied', 'idle') AND {in_cities} "
                f"AND {size} GROUP BY p.status ORDER BY p.status DESC"
            ),
            params,
        )
    ]
    return {"largest": largest, "other_cities": other_cities, "coming": coming, "lo": lo, "hi": hi}
