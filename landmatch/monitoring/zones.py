"""Live KPIs per development zone, ranked.

What each figure is (the inventory has no measured floor area and no tax receipts, so two of
the five are honest proxies):

* supply rate 供地率 = area supplied by the reporting date ÷ area approved by it, of the zone's
  parcels, withdrawn land out of both. "Supplied by the date" is ``landmatch.supplied_by`` (its
  供地日期 on or before the date, or supplied or idle land with none on record), the supply
  rates' and the 批而未供 stock's one definition (docs/domain.md §6): a past date's figures are
  the dates', not today's status. The supplied area below is the same;
* built-up rate 建成率 = Σ(area × developed_ratio) of started supplied parcels ÷ supplied area
  (developed_ratio is the share of the area under development, Order 53);
* industrial FAR 工业容积率 = area-weighted *planned minimum* FAR (far_min) of supplied
  industrial parcels (用地 1001xx) — a planning proxy, not built floor area;
* investment intensity 投资强度 = invested 万元 ÷ supplied area in 亩 (actual, where recorded;
  the amount invested, not the 标准地 fixed-asset figure, and labelled so);
* tax per hectare 地均税收 = committed 亩均税收 (tax_per_mu_min) of 标准地 parcels, area-weighted,
  × 15 → 万元/公顷 — a commitment proxy, not taxes paid.

Rank: each KPI is turned into a percentile among zones that have it; the composite is the mean
of the percentiles a zone has (higher is better), zones without any KPI come last.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.geo.measure import M2_PER_MU
from landmatch.monitoring import sql
from landmatch.monitoring.scope import city_scope

KPIS = (
    "supply_rate",
    "built_up_rate",
    "industrial_far",
    "invest_intensity_wan_per_mu",
    "tax_wan_per_ha",
)
KPI_LABELS = {
    "supply_rate": "供地率",
    "built_up_rate": "建成率（按开发面积比例，代理）",
    "industrial_far": "工业容积率（规划下限，代理）",
    # Not the 标准地 投资强度 (fixed assets incl. the land price, docs/domain.md §8): the
    # amount invested (Order 53: without the land price) over the supplied area.
    "invest_intensity_wan_per_mu": "投资强度（已投资额÷供地面积，万元/亩）",
    "tax_wan_per_ha": "地均税收（万元/公顷，承诺值代理）",
}


def _div(a: Any, b: Any) -> float | None:
    if a is None or not b:
        return None
    return float(a) / float(b)


def zone_kpis(
    session: Session, principal: Principal, as_of: dt.date, city: str | None = None
) -> dict[str, Any]:
    city = city_scope(principal, city)
    rows = sql.rows(session, "monitoring_zone_kpis", as_of=as_of, city=city)
    zones = []
    for r in rows:
        k = {
            "supply_rate": _div(r["supplied_m2"], r["approved_m2"]),
            "built_up_rate": _div(r["built_m2"], r["supplied_m2"]),
            "industrial_far": _div(r["far_x_area"], r["far_area"]),
            "invest_intensity_wan_per_mu": _div(
                r["invested_wan"], (r["invest_area_m2"] or 0) / M2_PER_MU
            ),
            "tax_wan_per_ha": _div(r["tax_wan"], (r["tax_area_m2"] or 0) / 10000),
        }
        zones.append(
            {
                "code": r["code"],
                "name": r["name"],
                "city_code": r["city_code"],
                "city_name": vocab.CITIES.get(r["city_code"]),
                "level": r["level"],
                "kind": r["kind"],
                "parcels": r["parcels"],
                "zone_area_m2": r["zone_area_m2"],
                "approved_m2": r["approved_m2"],
                "supplied_m2": r["supplied_m2"],
                "ready_m2": r["ready_m2"],
                "idle_m2": r["idle_m2"],
                **{n: (None if v is None else round(v, 4)) for n, v in k.items()},
            }
        )
    for name in KPIS:
        have = sorted({z[name] for z in zones if z[name] is not None})
        n = len(have)
        pos = {v: i for i, v in enumerate(have)}
        for z in zones:
            v = z[name]
            z[f"{name}_pct"] = None if v is None else (1.0 if n == 1 else pos[v] / (n - 1))
    for z in zones:
        pcts = [z[f"{n}_pct"] for n in KPIS if z[f"{n}_pct"] is not None]
        z["score"] = round(sum(pcts) / len(pcts), 4) if pcts else None
    zones.sort(key=lambda z: (z["score"] is None, -(z["score"] or 0), z["code"]))
    for i, z in enumerate(zones, 1):
        z["rank"] = i if z["score"] is not None else None
    return {"as_of": as_of.isoformat(), "kpis": KPI_LABELS, "zones": zones}
