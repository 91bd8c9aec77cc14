"""Transfer route of supplied land (docs/domain.md §7): investment ≥ 25 % of the total →
transferable now (城市房地产管理法 Art. 39); below → 预告登记 route (国办发〔2019〕34号).

Only the investment test is applied: premium payment and the title certificate are not
recorded in the inventory, so "transferable now" means "meets the investment test"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.monitoring.scope import city_scope
from landmatch.monitoring.terms import TRANSFER_ROUTES

THRESHOLD = 0.25

_SQL = """
SELECT p.code, p.name, p.city_code, p.county_code, p.status, p.holder, p.area_m2,
       p.total_investment_wan, p.invested_wan,
       COALESCE(p.invest_ratio, p.invested_wan / NULLIF(p.total_investment_wan, 0)) AS ratio
  FROM landmatch.parcel p
 WHERE p.deleted_at IS NULL AND p.status IN ('supplied', 'idle')
   AND (CAST(:city AS text) IS NULL OR p.city_code = CAST(:city AS text))
 ORDER BY p.city_code, p.code
"""


def route(ratio: float | None, threshold: float = THRESHOLD) -> str:
    if ratio is None:
        return "unknown"
    return "transferable_now" if ratio >= threshold else "notice_registration"


def iter_rows(
    session: Session, principal: Principal, city: str | None = None, *, chunk: int = 2000
) -> Iterator[dict[str, Any]]:
    """Each supplied or idle parcel with its route, by city and code, read from a server-side
    cursor ``chunk`` rows at a time (a province's rows never sit in memory at once: the Excel
    export), in the caller's scope."""
    city = city_scope(principal, city)
    result = session.execute(
        text(_SQL), {"city": city}, execution_options={"stream_results": True, "yield_per": chunk}
    )
    for r in result.mappings():
        d: dict[str, Any] = {
            k: (float(v) if type(v).__name__ == "Decimal" else v) for k, v in r.items()
        }
        d["route"] = route(d["ratio"])
        d["route_label"] = TRANSFER_ROUTES[d["route"]]
        d["city_name"] = vocab.CITIES.get(d["city_code"])
        yield d


def transfer_routes(
    session: Session, principal: Principal, city: str | None = None
) -> dict[str, Any]:
    rows = list(iter_rows(session, principal, city))
    counts = dict.fromkeys(TRANSFER_ROUTES, 0)
    for d in rows:
        counts[d["route"]] += 1
    return {"threshold": THRESHOLD, "counts": counts, "rows": rows}
