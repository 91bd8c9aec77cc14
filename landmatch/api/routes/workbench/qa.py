"""``/workbench/qa``: the data-quality report: parcels per QA check in the user's scope and, for
one check, the flagged parcels paged on the server, each with all its flags and links to its
edit form (and boundary editor).

The checks and their flags are ``landmatch.inventory.qa``'s (the list's QA filter and the home
card count the same); the rows are the inventory list's (``listing.parcel_page``). The spatial
checks read every parcel in scope (seconds on a city of 100,000 parcels), so the page runs on the
job session's statement limit, as the home page's QA card does; the counts are reused for ten
minutes (``listing.flag_counts``) and the list's total once per data version.

Who: those who fix the inventory: admins and the province's bureau (any city, or the whole
province), a city's bureau (its city), zone committees (their zone). Promoters are refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from landmatch import vocab
from landmatch.api.deps import JobSessionDep
from landmatch.api.routes.workbench.common import EditorCtx, render
from landmatch.db.parcels import ParcelFilter
from landmatch.errors import InvalidInput
from landmatch.inventory import listing, qa

router = APIRouter(include_in_schema=False)
URL = "/workbench/qa"
PAGE_SIZE = 50
# Checks fixed on the boundary editor rather than the attribute form.
BOUNDARY_CHECKS = frozenset({"overlaps", "outside_city", "in_exclusion", "slivers"})


@router.get(URL, response_class=HTMLResponse)
def report(
    ctx: EditorCtx,
    session: JobSessionDep,
    check: Annotated[str | None, Query(max_length=24)] = None,
    city: Annotated[str | None, Query(max_length=6)] = None,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> HTMLResponse:
    city = city or None
    if check and check not in qa.FLAG_TITLES:
        raise InvalidInput(f"未知的数据质量检查项 {check}；可选：{'、'.join(qa.FLAG_TITLES)}")
    counted = listing.flag_counts(
        session, ctx.staff.principal, stale_days=ctx.settings.stale_after_days, city=city
    )
    if not check:  # an attribute check first: a spatial one's list reads every boundary
        flagged = [f["check"] for f in counted["flags"] if f["count"]]
        check = next((c for c in flagged if c not in BOUNDARY_CHECKS), None) or next(
            iter(flagged), None
        )
    page = None
    flags: dict[int, list[str]] = {}
    if check:
        f = ParcelFilter(
            qa=check,
            city=city,
            stale_days=ctx.settings.stale_after_days,
            limit=PAGE_SIZE,
            offset=offset,
        )
        page = listing.parcel_page(session, f, ctx.staff.principal)
        flags = qa.flags_of(session, [r["id"] for r in page.items], ctx.settings.stale_after_days)
    return render(
        ctx.request,
        "workbench/qa/report.html",
        counted=counted,
        check=check,
        check_title=qa.FLAG_TITLES.get(check or ""),
        city=city,
        city_name=vocab.label(vocab.CITIES, city) if city else None,
        cities=listing.offered_cities(ctx.staff.principal),
        page=page,
        flags=flags,
        boundary_check=check in BOUNDARY_CHECKS,
    )
