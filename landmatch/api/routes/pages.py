"""HTML pages: the public map, the staff map (with its token login), match results and the
parcel brochure. Thin: each reads what it needs and hands it to a builder in landmatch.maps."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from landmatch.api.deps import STAFF_COOKIE, PrincipalDep, SessionDep, SettingsDep
from landmatch.auth import PUBLIC, principal_for_token
from landmatch.db import mapdata
from landmatch.db.cards import extract_shapes, parcel_card
from landmatch.errors import Unauthorized
from landmatch.maps import brochure, builders
from landmatch.maps.assets import VENDOR, app_static_dir, node_modules
from landmatch.maps.elements import render
from landmatch.match.engine import get_run
from landmatch.settings import Settings

router = APIRouter(include_in_schema=False)
STAFF_ROLES = ("admin", "bureau", "zone", "promoter")


def install(app: FastAPI, settings: Settings) -> None:
    """Pages, the map's JSON and the static files (npm packages and our own JS/CSS)."""
    from landmatch.api.routes import mapdata as mapdata_routes

    app.include_router(router)
    app.include_router(mapdata_routes.router)
    if not any(getattr(r, "path", None) == "/static/vendor" for r in app.routes):
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


@router.get("/map", response_class=HTMLResponse)
def public_map(session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    html = builders.public_map(
        settings, cities=mapdata.cities(session), facilities=mapdata.facilities(session)
    )
    return HTMLResponse(html)


def _login_redirect(next_url: str) -> RedirectResponse:
    return RedirectResponse(f"/internal/login?next={quote(next_url)}", status_code=303)


@router.get("/internal/map", response_class=HTMLResponse)
def staff_map(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    token: str | None = None,
) -> Response:
    if token:  # ?token= is exchanged for the cookie, then dropped from the address bar
        return _with_cookie(session, settings, token, "/internal/map")
    if principal.is_public:
        return _login_redirect("/internal/map")
    principal.require(*STAFF_ROLES)
    html = builders.staff_map(
        settings,
        cities=mapdata.cities(session),
        facilities=mapdata.facilities(session),
        user=principal.actor,
    )
    return HTMLResponse(html)


def _with_cookie(session: SessionDep, settings: Settings, token: str, next_url: str) -> Response:
    principal_for_token(session, token.strip())  # raises Unauthorized (401) when invalid
    resp = RedirectResponse(
        next_url if next_url.startswith("/") else "/internal/map", status_code=303
    )
    resp.set_cookie(
        STAFF_COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=settings.public_base_url.startswith("https"),
        max_age=8 * 3600,
    )
    return resp


@router.get("/internal/login", response_class=HTMLResponse)
def login_form(next: str = "/internal/map", error: str | None = None) -> HTMLResponse:
    return HTMLResponse(render("login.html", next=next, error=error))


@router.post("/internal/login")
def login(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=200)] = "/internal/map",
) -> Response:
    try:
        return _with_cookie(session, settings, token, next)
    except Unauthorized:
        return HTMLResponse(
            render("login.html", next=next, error="令牌无效或已被吊销"), status_code=401
        )


@router.get("/internal/logout")
def logout() -> Response:
    resp = RedirectResponse("/map", status_code=303)
    resp.delete_cookie(STAFF_COOKIE)
    return resp


@router.get("/match/{match_id}/map", response_class=HTMLResponse)
def match_map(
    match_id: str, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> HTMLResponse:
    run = {"response": get_run(session, match_id, principal)}
    staff = not principal.is_public
    html = builders.match_map(
        settings, match_id=match_id, run=run, facilities=mapdata.facilities(session), staff=staff
    )
    return HTMLResponse(html)


def _brochure(session: SessionDep, settings: Settings, code: str, pdf: bool) -> str:
    # A brochure is for investors: always the public view, whoever asks.
    card = parcel_card(session, code, PUBLIC, stale_after_days=settings.stale_after_days)
    shapes = extract_shapes(session, code, PUBLIC)
    return brochure.brochure_html(
        card, shapes, pdf_url=None if pdf else f"/parcels/{quote(code)}/brochure.pdf"
    )


@router.get("/parcels/{code}/brochure", response_class=HTMLResponse)
def brochure_page(code: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    return HTMLResponse(_brochure(session, settings, code, pdf=False))


@router.get("/parcels/{code}/brochure.pdf")
def brochure_pdf(code: str, session: SessionDep, settings: SettingsDep) -> Response:
    # Sync handler: runs in the thread pool while Chromium prints a temporary file.
    data = brochure.html_to_pdf(_brochure(session, settings, code, True))
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(code)}-brochure.pdf"},
    )
