"""``GET /api/qa``: data-quality checks over the inventory."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep
from landmatch.api.schemas.qa import QaReport
from landmatch.inventory.qa import run_checks

router = APIRouter(prefix="/api/qa", tags=["quality"])


@router.get(
    "",
    summary="Overlaps, outside city, exclusion constraints, slivers, stale data, checklist",
    response_model=QaReport,
    response_model_exclude_unset=True,  # each check has the keys of its kind
)
def qa(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    stale_days: Annotated[int | None, Query(ge=1, le=36500)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    return run_checks(
        session,
        principal,
        city=city,
        stale_days=stale_days or settings.stale_after_days,
        limit=limit,
    )
