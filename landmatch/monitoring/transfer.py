"""Transfer route of supplied land (docs/domain.md §7): investment ≥ 25 % of the total →
transferable now (城市房地产管理法 Art. 39); below → 预告登记 route (国办发〔2019〕34号).

Only the investment test is applied: premium payment and the title certificate are not
recorded in the inventory, so "transferable now" means "meets the investment test". The
invested ratio is the idle scan's (``landmatch.invested_ratio``, the twin of
:func:`landmatch.monitoring.idle.invested_ratio`): the stored ratio, else invested ÷ total."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import closing
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.monitoring import sql
from landmatch.monitoring.scope import city_scope
from landmatch.monitoring.terms import TRANSFER_ROUTES

THRESHOLD = 0.25

_SQL = """
SELECT p.code, p.name, p.city_code, p.county_code, p.status, p.holder, p.area_m2,
       p.total_investment_wan, p.invested_wan,
       landmatch.invested_ratio(p.invest_ratio, p.invested_wan, p.total_investment_wan) AS ratio
  FROM landmatch.parcel p
 WHERE p.deleted_at IS NULL AND p.status IN ('supplied', 'idle')
   AND (CAST(:city AS text) IS NULL OR p.city_code = CAST(:city AS text))
 ORDER BY p.city_code, p.code
"""


def route(ratio: float | None, threshold: float = THRESHOLD) -> str:
    if ratio is None:
        return "unknown"
    return "transferable_now" if ratio >= threshold else "notice_registration"


def column_batches(
    session: Session, principal: Principal, city: str | None = None, *, chunk: int = 2000
) -> Generator[dict[str, Sequence[Any]], None, None]:
    """Each supplied or idle parcel with its route, by city and code, in batches of ``chunk``
    rows read from a server-side cursor, each batch as its columns by name (a province's rows
    never sit in memory at once: the Excel export), in the caller's scope."""
    city = city_scope(principal, city)
    with closing(sql.column_batches(session, _SQL, {"city": city}, chunk)) as batches:
        for b in batches:
            out: dict[str, Sequence[Any]] = {
                k: [float(v) if type(v) is Decimal else v for v in vs]
                if Decimal in set(map(type, vs))
                else vs
                for k, vs in b.items()
            }
            out["route"] = [route(r) for r in out["ratio"]]
            out["route_label"] = [TRANSFER_ROUTES[r] for r in out["route"]]
            out["city_name"] = [vocab.CITIES.get(c) for c in out["city_code"]]
            yield out


def iter_rows(
    session: Session, principal: Principal, city: str | None = None
) -> Generator[dict[str, Any], None, None]:
    """:func:`column_batches` row by row, each row a dict."""
    with closing(column_batches(session, principal, city)) as batches:
        for b in batches:
            yield from (
                dict(zip(b, values, strict=True)) for values in zip(*b.values(), strict=True)
            )


def transfer_routes(
    session: Session, principal: Principal, city: str | None = None
) -> dict[str, Any]:
    rows = list(iter_rows(session, principal, city))
    counts = dict.fromkeys(TRANSFER_ROUTES, 0)
    for d in rows:
        counts[d["route"]] += 1
    return {"threshold": THRESHOLD, "counts": counts, "rows": rows}
