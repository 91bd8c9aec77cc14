"""Data-quality checks over the stored inventory (set-based SQL, one query per check).

Constraint checks have three states per parcel and constraint kind: ``inside``, ``clear`` and
``not_checked`` (``landmatch.db.constraints``). *Inside* means an interior overlap of at least
``MIN_OVERLAP_M2`` with an area of the kind (touching is not inside). A kind counts as checked
for a parcel only where its coverage is declared for the parcel's city
(``constraint_coverage``); elsewhere the answer is "not checked", never "clear" — whatever
polygons of the kind happen to lie in or spill into the city.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db.constraints import MIN_OVERLAP_M2, overlap_m2_sql, overlaps_sql
from landmatch.db.qa_flags import (
    CHECKLIST_SQL,
    FLAG_TITLES,
    LEASE_CEILING_SQL,
    LEASE_OVER_SQL,
    OUTSIDE_CITY_SQL,
    SLIVER_SQL,
    UTILITY_LABELS,
    flag_params,
    flag_sql,
    stale_sql,
    undated_sql,
)
from landmatch.errors import Forbidden, InvalidInput
from landmatch.inventory.fields import UTILITY_DATES
from landmatch.inventory.land_use import lease_ceiling, over_ceiling


def flags_of(session: Session, ids: list[int], stale_days: int) -> dict[int, list[str]]:
    """The QA flags (titles) of each parcel of ``ids``: a page of a listing, in one query."""
    if not ids:
        return {}
    # A page's few rows: the spatial predicates' cost estimates would have PostgreSQL compile
    # the query (JIT, seconds) to run it in milliseconds.
    session.execute(text("SET LOCAL jit = off"))
    cols = ", ".join(f"{flag_sql(c)} AS {c}" for c in FLAG_TITLES)
    rows = session.execute(
        text(
            f"SELECT p.id, p.land_use AS _use, p.lease_years AS _years, {cols} "
            "FROM landmatch.parcel p WHERE p.id = ANY(:ids)"
        ),
        {"ids": ids, **flag_params(stale_days)},
    ).mappings()
    return {r["id"]: [_flag_text(c, r) for c in FLAG_TITLES if r[c]] for r in rows}


def _flag_text(check: str, row: Any) -> str:
    """A flag as a listing shows it: its title, the term and its ceiling for a lease term."""
    if check == "lease_over_ceiling":
        return over_ceiling(row["_use"], row["_years"]) or FLAG_TITLES[check]
    return FLAG_TITLES[check]


def _scope(principal: Principal, city: str | None) -> str | None:
    """The city the checks run over: a city bureau's own (asking for another is refused),
    anyone else's choice (None = every city)."""
    principal.require("admin", "bureau", "zone", "promoter")
    if city is not None and city not in vocab.CITIES:
        raise InvalidInput(vocab.unknown_city(city))
    own = principal.city_code
    if principal.role == "bureau" and own not in (None, vocab.PROVINCE_CODE):
        if city is not None and city != own:
            raise Forbidden(
                f"无权查看{vocab.label(vocab.CITIES, city)}（{city}）的数据质量检查："
                f"本账号的城市范围为{vocab.label(vocab.CITIES, own)}（{own}）"
            )
        return own
    return city


def _items(session: Session, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r in session.execute(text(sql), params).mappings():
        out.append({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()})
    return out


def run_checks(
    session: Session,
    principal: Principal,
    *,
    city: str | None = None,
    stale_days: int = 365,
    limit: int = 1000,
    today: dt.date | None = None,
    only: set[str] | None = None,
) -> dict[str, Any]:
    """Run every check (or ``only`` those named) and return counts and items (capped)."""
    city = _scope(principal, city)
    today = today or beijing_today()
    p: dict[str, Any] = {
        "city": city,
        "limit": limit,
        "stale": today - dt.timedelta(days=stale_days),
        "items": [],
    }
    base = "p.deleted_at IS NULL AND (CAST(:city AS text) IS NULL OR p.city_code = :city)"
    checks: list[dict[str, Any]] = []

    def add(cid: str, title: str, sql: str, **extra: Any) -> None:
        if only and cid not in only:
            return
        rows = _items(session, sql + " LIMIT :limit", p)
        count = (
            session.execute(text(f"SELECT count(*) FROM ({sql}) q"), p).scalar_one()
            if len(rows) >= limit
            else len(rows)
        )
        checks.append({"id": cid, "title": title, "count": count, "items": rows, **extra})

    add(
        "overlaps",
        "地块相互重叠",
        "SELECT a.code AS code, b.code AS other_code, "
        f" round({overlap_m2_sql('a.geom', 'b.geom')}::numeric, 2) AS overlap_m2 "
        f"FROM landmatch.parcel a JOIN landmatch.parcel b ON a.id < b.id "
        f" AND {overlaps_sql('a.geom', 'b.geom')} "
        f"WHERE b.deleted_at IS NULL AND {base.replace('p.', 'a.')} "
        "ORDER BY overlap_m2 DESC, a.code",
    )
    add(
        "outside_city",
        "地块不在所属城市范围内",
        "SELECT p.code, p.city_code, c.code AS located_in FROM landmatch.parcel p "
        "LEFT JOIN LATERAL (SELECT a.code FROM landmatch.admin_division a WHERE a.level = 'city' "
        " AND ST_Intersects(a.geom, ST_PointOnSurface(p.geom)) LIMIT 1) c ON true "
        f"WHERE {base} AND {OUTSIDE_CITY_SQL} ORDER BY p.code",
    )
    add(
        "in_exclusion",
        "地块位于禁止类管控区内",
        "SELECT p.code, k.code AS constraint_code, k.name AS constraint_name, k.kind, "
        f" round({overlap_m2_sql('p.geom', 'k.geom')}::numeric, 2) AS overlap_m2 "
        "FROM landmatch.parcel p JOIN landmatch.constraint_area k ON k.severity = 'excludes' "
        f" AND {overlaps_sql('p.geom', 'k.geom')} "
        f"WHERE {base} ORDER BY p.code, k.code",
    )
    add(
        "slivers",
        "碎片或狭长地块",
        "SELECT p.code, round(p.area_m2::numeric, 1) AS area_m2, "
        " round((4 * pi() * p.area_m2 / nullif(ST_Perimeter(p.geom::geography) ^ 2, 0))::numeric, 3)"
        "  AS compactness FROM landmatch.parcel p "
        f"WHERE {base} AND {SLIVER_SQL} ORDER BY p.code",
    )
    stale = " UNION ALL ".join(
        f"SELECT p.code, '{c}' AS field, '{UTILITY_LABELS[c]}' AS label, p.{c} AS as_of "
        f"FROM landmatch.parcel p WHERE {base} AND {stale_sql(c)}"
        for c in UTILITY_DATES
    )
    add(
        "stale_utilities",
        f"市政配套数据超过 {stale_days} 天未更新",
        f"SELECT * FROM ({stale}) s ORDER BY as_of, code",
        stale_days=stale_days,
    )
    # A capacity nobody dated is of unknown age: never counted as current.
    undated = " UNION ALL ".join(
        f"SELECT p.code, '{c}' AS field, '{UTILITY_LABELS[c]}' AS label "
        f"FROM landmatch.parcel p WHERE {base} AND {undated_sql(c)}"
        for c in UTILITY_DATES
    )
    add(
        "undated_utilities",
        "市政配套容量未注明确认日期",
        f"SELECT * FROM ({undated}) s ORDER BY code, field",
    )
    p["pending_use"] = vocab.LAND_USE_PENDING
    add(
        "land_use_pending",
        "用途待定（不能公开，请补充用途）",
        "SELECT p.code, p.name, p.import_id FROM landmatch.parcel p "
        f"WHERE {base} AND p.land_use = :pending_use ORDER BY p.code",
    )
    p["items"] = list(vocab.READY_CHECKLIST)
    add(
        "ready_checklist",
        "熟地缺少核查项",
        "SELECT p.code, ARRAY(SELECT i FROM unnest(CAST(:items AS text[])) i "
        " WHERE NOT i = ANY(p.checklist)) AS missing FROM landmatch.parcel p "
        f"WHERE {base} AND {CHECKLIST_SQL} ORDER BY p.code",
    )
    add(
        "lease_over_ceiling",
        "出让年限超过用途最高年限（导入和编辑已不接受，请修正出让年限或用途）",
        f"SELECT p.code, p.name, p.land_use, p.lease_years, {LEASE_CEILING_SQL} AS ceiling_years "
        f"FROM landmatch.parcel p WHERE {base} AND {LEASE_OVER_SQL} ORDER BY p.code",
    )
    for check in checks:
        if check["id"] == "lease_over_ceiling":
            for item in check["items"]:
                ceiling = lease_ceiling(item["land_use"])
                item["category"] = ceiling.category if ceiling else None
                item["reason"] = over_ceiling(item["land_use"], item["lease_years"])
        if check["id"] == "ready_checklist":
            for item in check["items"]:
                item["missing_labels"] = [vocab.READY_CHECKLIST[m] for m in item["missing"]]
    if only is None or "constraints" in only:
        checks.append(constraint_states(session, p))
    return {"as_of": today.isoformat(), "city": city, "checks": checks}


STATE_LABELS = {
    "inside": "在管控区内",
    "clear": "已核查，无冲突",
    "not_checked": "未核查（该市未声明此类管控数据完整）",
}


LIVE = "p.deleted_at IS NULL AND (CAST(:city AS text) IS NULL OR p.city_code = :city)"


def constraint_states(session: Session, p: dict[str, Any]) -> dict[str, Any]:
    """Per constraint kind, and per city and kind: parcels inside, clear, and not checked
    (no coverage declared for their city), with the declarations the states rest on."""
    rows = session.execute(
        text(
            "WITH kinds AS (SELECT unnest(CAST(:kinds AS text[])) AS kind), "
            "hits AS (SELECT DISTINCT p.id, k.kind FROM landmatch.parcel p "
            f" JOIN landmatch.constraint_area k ON {overlaps_sql('p.geom', 'k.geom')} "
            f" WHERE {LIVE}) "
            "SELECT p.city_code, kinds.kind, "
            " CASE WHEN h.id IS NOT NULL THEN 'inside' WHEN c.kind IS NOT NULL THEN 'clear' "
            "  ELSE 'not_checked' END AS state, count(*) AS n "
            "FROM landmatch.parcel p CROSS JOIN kinds "
            "LEFT JOIN hits h ON h.id = p.id AND h.kind = kinds.kind "
            "LEFT JOIN landmatch.constraint_coverage c ON c.city_code = p.city_code "
            " AND c.kind = kinds.kind "
            f"WHERE {LIVE} GROUP BY 1, 2, 3"
        ),
        {"kinds": list(vocab.CONSTRAINT_KINDS), "city": p["city"]},
    ).all()
    declared = {
        (r["city_code"], r["kind"]): r
        for r in session.execute(
            text(
                "SELECT kind, city_code, source, as_of, declared_by FROM "
                "landmatch.constraint_coverage WHERE CAST(:city AS text) IS NULL "
                "OR city_code = :city"
            ),
            {"city": p["city"]},
        ).mappings()
    }
    zero = {"inside": 0, "clear": 0, "not_checked": 0}
    summary: dict[str, dict[str, int]] = {k: dict(zero) for k in vocab.CONSTRAINT_KINDS}
    cities = [p["city"]] if p["city"] else sorted({r[0] for r in rows})
    by_city: dict[tuple[str, str], dict[str, int]] = {
        (c, k): dict(zero) for c in cities for k in vocab.CONSTRAINT_KINDS
    }
    for city, kind, state, n in rows:
        summary[kind][state] += int(n)
        by_city[(city, kind)][state] += int(n)
    items = [{"kind": k, "label": vocab.CONSTRAINT_KINDS[k], **v} for k, v in summary.items()]
    city_items = []
    for (city, kind), counts in by_city.items():
        d = declared.get((city, kind))
        city_items.append(
            {
                "city_code": city,
                "city_name": vocab.label(vocab.CITIES, city),
                "kind": kind,
                "label": vocab.CONSTRAINT_KINDS[kind],
                "covered": d is not None,
                "coverage": None
                if d is None
                else {
                    "source": d["source"],
                    "as_of": d["as_of"].isoformat(),
                    "declared_by": d["declared_by"],
                },
                **counts,
            }
        )
    return {
        "id": "constraints",
        "title": "管控区核查（在内 / 无冲突 / 未核查）",
        "count": sum(v["inside"] for v in summary.values()),
        "items": items,
        "by_city": city_items,
        "states": STATE_LABELS,
        "min_overlap_m2": MIN_OVERLAP_M2,
    }
