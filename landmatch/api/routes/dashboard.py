"""``/dashboard``: the monitoring dashboard page and the vendor asset mount.

The page itself holds no data. It is served to a signed-in staff member (the workbench's
session; otherwise the browser goes to the sign-in page and comes back) and reads
``/api/monitoring/summary`` with the same session cookie; every chart is drawn from that live
response.
ECharts comes from npm (``web/package.json``) and is served from ``web/node_modules`` under
``/static/vendor`` — no CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from landmatch.api.routes.workbench.common import StaffDep
from landmatch.settings import Settings

WEB = Path(__file__).resolve().parents[3] / "web"
router = APIRouter(tags=["dashboard"])


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard(staff: StaffDep) -> HTMLResponse:
    return HTMLResponse((WEB / "templates" / "dashboard.html").read_text(encoding="utf-8"))


def mount_vendor(app: FastAPI, settings: Settings) -> None:
    """Serve npm packages from ``web/node_modules`` (or LANDMATCH_WEB_ASSETS_DIR)."""
    if any(getattr(r, "path", None) == "/static/vendor" for r in app.routes):
        return  # another module mounted it already
    directory = Path(settings.web_assets_dir) if settings.web_assets_dir else WEB / "node_modules"
    app.mount("/static/vendor", StaticFiles(directory=directory, check_dir=False), name="vendor")
