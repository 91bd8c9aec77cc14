"""The data-quality flags of a parcel as SQL: one predicate per check of
:func:`landmatch.inventory.qa.run_checks`, built from the same pieces as the checks, so a listing
(``landmatch.db.parcels``, ``landmatch.inventory.listing``) can filter on a flag and the checks
report it. Pure definitions, no session: the db layer and the QA service read them alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

from landmatch import vocab
from landmatch.dates import beijing_today
from landmatch.db.constraints import overlaps_sql
from landmatch.errors import InvalidInput
from landmatch.inventory.land_use import lease_ceiling_sql

# The capacity (or availability) each as-of date confirms.
UTILITY_VALUES = {
    "power_as_of": "p.power_kva IS NOT NULL",
    "water_as_of": "p.water_m3d IS NOT NULL",
    "sewage_as_of": "p.sewage_m3d IS NOT NULL",
    "gas_as_of": "p.gas_m3d IS NOT NULL",
    "heat_as_of": "p.heat_mw IS NOT NULL",
    "telecom_as_of": "(p.telecom_5g IS NOT NULL OR p.fibre IS NOT NULL)",
}
UTILITY_LABELS = {
    "power_as_of": "供电",
    "water_as_of": "供水",
    "sewage_as_of": "排水",
    "gas_as_of": "供气",
    "heat_as_of": "供热",
    "telecom_as_of": "通信",
}
SLIVER_M2 = 200.0
THIN_COMPACTNESS = 0.12  # Polsby–Popper 4πA/P²: a square is 0.785, a 1:25 strip about 0.11


def stale_sql(c: str) -> str:
    """A utility's as-of date older than ``:stale`` (the check's cut-off)."""
    return f"p.{c} < :stale"


def undated_sql(c: str) -> str:
    """A utility capacity given without the date it was confirmed."""
    return f"({UTILITY_VALUES[c]} AND p.{c} IS NULL)"


SLIVER_SQL = (
    f"(p.area_m2 < {SLIVER_M2} OR 4 * pi() * p.area_m2 / "
    f"nullif(ST_Perimeter(p.geom::geography) ^ 2, 0) < {THIN_COMPACTNESS})"
)
CHECKLIST_SQL = "(p.status = 'ready' AND NOT p.checklist @> CAST(:items AS text[]))"
OUTSIDE_CITY_SQL = (
    "EXISTS (SELECT 1 FROM landmatch.admin_division d WHERE d.code = p.city_code "
    "AND NOT ST_Intersects(d.geom, ST_PointOnSurface(p.geom)))"
)

# 出让年限 over the ceiling of the parcel's use (land_use.LEASE_CEILINGS): imports and edits
# refuse it, so only parcels stored before the rule (or before a ceiling changed) carry it.
LEASE_CEILING_SQL = lease_ceiling_sql("p.land_use")
LEASE_OVER_SQL = f"COALESCE(p.lease_years > {LEASE_CEILING_SQL}, false)"

# Per-parcel flags (what a listing filters on), one per check of :func:`run_checks`, built from
# the same pieces as the checks. SQL predicates on ``p`` (a parcel); parameters ``:stale`` (the
# cut-off date of stale utilities) and ``:items`` (the ready checklist) as the checks bind them.
FLAG_TITLES: dict[str, str] = {
    "overlaps": "与其他地块重叠",
    "outside_city": "不在所属城市范围内",
    "in_exclusion": "位于禁止类管控区内",
    "slivers": "碎片或狭长地块",
    "stale_utilities": "市政配套数据过期",
    "undated_utilities": "配套容量未注明日期",
    "ready_checklist": "熟地缺少核查项",
    "lease_over_ceiling": "出让年限超过用途最高年限",
}


def flag_sql(check: str) -> str:
    """The SQL predicate (on ``p``) of one QA check's flag; see :data:`FLAG_TITLES`."""
    if check == "overlaps":
        return (
            "EXISTS (SELECT 1 FROM landmatch.parcel b WHERE b.id <> p.id "
            f"AND b.deleted_at IS NULL AND {overlaps_sql('p.geom', 'b.geom')})"
        )
    if check == "outside_city":
        return OUTSIDE_CITY_SQL
    if check == "in_exclusion":
        return (
            "EXISTS (SELECT 1 FROM landmatch.constraint_area k WHERE k.severity = 'excludes' "
            f"AND {overlaps_sql('p.geom', 'k.geom')})"
        )
    if check == "slivers":
        return SLIVER_SQL
    if check == "stale_utilities":
        return "(" + " OR ".join(stale_sql(c) for c in UTILITY_VALUES) + ")"
    if check == "undated_utilities":
        return "(" + " OR ".join(undated_sql(c) for c in UTILITY_VALUES) + ")"
    if check == "ready_checklist":
        return CHECKLIST_SQL
    if check == "lease_over_ceiling":
        return LEASE_OVER_SQL
    raise InvalidInput(f"未知的数据质量检查项 {check}；可选：{'、'.join(FLAG_TITLES)}")


def flag_params(stale_days: int, today: dt.date | None = None) -> dict[str, Any]:
    """The parameters :func:`flag_sql` predicates bind."""
    today = today or beijing_today()
    return {"stale": today - dt.timedelta(days=stale_days), "items": list(vocab.READY_CHECKLIST)}
