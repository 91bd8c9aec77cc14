"""``/workbench``: the staff home page (each area fills its own card)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from landmatch.api.routes.workbench.common import StaffDep, render

router = APIRouter(include_in_schema=False)


@router.get("/workbench", response_class=HTMLResponse)
def home(request: Request, staff: StaffDep) -> HTMLResponse:
    return render(request, "workbench/home.html")
