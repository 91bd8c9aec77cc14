"""HTML pages: the public map, the staff map (behind the workbench sign-in), match results, the
map's parcel card (an HTML fragment) and the parcel brochure. Thin: each reads what it needs and
hands it to a builder in landmatch.maps."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep
from landmatch.api.routes.workbench.common import PDF, StaffDep, download, login_url, safe_next
from landmatch.basemap.store import water_loaded
from landmatch.db import mapdata
from landmatch.db.lookups import brochure_version
from landmatch.errors import NotFound
from landmatch.inventory.cards import parcel_card
from landmatch.maps import brochure, builders
from landmatch.maps.assets import VENDOR, app_static_dir, node_modules
from landmatch.maps.card import card_html
from landmatch.match.engine import get_run
from landmatch.settings import Settings

router = APIRouter(include_in_schema=False)


def install(app: FastAPI, settings: Settings) -> None:
    """Pages, the map's JSON and the static files (npm packages and our own JS/CSS)."""
    from landmatch.api.routes import mapdata as mapdata_routes

    app.include_router(router)
    app.include_router(mapdata_routes.router)
    vendor = node_modules(settings)
    app.mount("/static/vendor", StaticFiles(directory=vendor, check_dir=False), name="vendor")
    app.mount("/static/app", StaticFiles(directory=app_static_dir()), name="app-static")


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    """Swagger UI, from the npm package the app serves (no CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="landmatch API 文档",
        swagger_js_url=f"{VENDOR}/swagger-ui-dist/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui-dist/swagger-ui.css",
        swagger_favicon_url="data:,",
    )


def _map_data(session: Session, *, cities: bool = True) -> dict[str, Any]:
    """What the map pages read: the facilities, whether the offline basemap's water is loaded
    and, for the inventory maps' filters, the cities (the project's city vocabulary, as the
    staff's forms: the eleven and the province-managed 辛集, 定州)."""
    data = {"facilities": mapdata.facilities(session), "water": water_loaded(session)}
    return data | {"cities": list(vocab.CITIES.items())} if cities else data


@router.get("/")
def home() -> Response:
    """The bare host: the public map."""
    return RedirectResponse("/map", status_code=303)


@router.get("/map", response_class=HTMLResponse)
def public_map(session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    return HTMLResponse(builders.public_map(settings, **_map_data(session)))


@router.get("/internal/map", response_class=HTMLResponse)
def staff_map(
    request: Request, session: SessionDep, settings: SettingsDep, staff: StaffDep
) -> Response:
    html = builders.staff_map(
        settings, user=staff.principal.actor, csrf_token=staff.csrf_token, **_map_data(session)
    )
    return HTMLResponse(html)


# The staff map's old sign-in addresses lead to the workbench's.
@router.get("/internal/login")
def login_form(next: str = "/internal/map") -> Response:
    return RedirectResponse(login_url(safe_next(next, "/internal/map")), status_code=303)


@router.get("/internal/logout")
def logout() -> Response:
    return RedirectResponse("/workbench/logout", status_code=303)


@router.get("/match/{match_id}/map", response_class=HTMLResponse)
def match_map(
    match_id: str, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> HTMLResponse:
    run = {"response": get_run(session, match_id, principal)}
    html = builders.match_map(
        settings,
        match_id=match_id,
        run=run,
        staff=not principal.is_public,
        **_map_data(session, cities=False),
    )
    return HTMLResponse(html)


@router.get("/parcels/{code}/card.html", response_class=HTMLResponse)
def card_fragment(
    code: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> HTMLResponse:
    """The map's parcel card as HTML for the panel (landmatch.js), from the same card as
    ``/api/parcels/{code}/card`` and so with its visibility: the public's card of public ready
    land, the internal part and confidential fields only for staff who may read them. A parcel
    the caller may not see is problem+json 404 (the script shows its message)."""
    card = parcel_card(session, code, principal, stale_after_days=settings.stale_after_days)
    return HTMLResponse(card_html(card))


def _brochure(session: SessionDep, settings: Settings, code: str, pdf: bool) -> str:
    # A brochure is for investors: always the public view, whoever asks.
    return brochure.build(
        session,
        code,
        stale_after_days=settings.stale_after_days,
        pdf_url=None if pdf else f"/parcels/{quote(code)}/brochure.pdf",
    )


def _missing(code: str) -> HTMLResponse:
    # A link to a brochure is followed by a person: the answer is a page, not problem+json.
    return HTMLResponse(brochure.missing_html(code), status_code=404)


@router.get("/parcels/{code}/brochure", response_class=HTMLResponse)
def brochure_page(code: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    try:
        return HTMLResponse(_brochure(session, settings, code, pdf=False))
    except NotFound:
        return _missing(code)


def _print(request: Request, session: SessionDep, settings: Settings, code: str) -> bytes:
    html = _brochure(session, settings, code, True)  # 404 before taking a slot
    with request.app.state.slots.take("pdf"):  # 429 when every PDF slot is busy
        return brochure.html_to_pdf(html)


@router.get("/parcels/{code}/brochure.pdf")
def brochure_pdf(
    code: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    # Sync handler: runs in the thread pool while Chromium prints a temporary file. A repeat
    # request for the same parcel and data version is served from the cache (no Chromium).
    try:
        data = request.app.state.brochures.fetch(
            brochure_version(session, code), lambda: _print(request, session, settings, code)
        )
    except NotFound:
        return _missing(code)
    return download(data, f"{code}-brochure.pdf", PDF)
