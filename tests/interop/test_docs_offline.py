"""The API documentation works with no network but the server's (issue 17 item 7): /docs is
Swagger UI from npm's swagger-ui-dist, served by the app; ReDoc is not offered."""

from __future__ import annotations

from typing import Any

from tests.interop.conftest import Counted


def test_swagger_ui_renders_offline_and_redoc_is_off(chromium: Any, counted: Counted) -> None:
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []

    def only_the_server(route: Any) -> None:  # an intranet: nothing else answers
        url = route.request.url
        if url.startswith(counted.url) or url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    ctx.route("**/*", only_the_server)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(counted.url + "/docs")
        page.locator(".swagger-ui .info .title").wait_for(timeout=30000)
        title = page.locator(".swagger-ui .info .title").inner_text()
        operations = page.locator(".opblock").count()
        page.locator(".opblock-tag", has_text="parcels").first.wait_for(timeout=10000)
        page.goto(counted.url + "/ogc/api?f=html")
        ogc_title = page.title()
        seen_errors = list(errors)  # before the expected 404 below
        redoc = page.goto(counted.url + "/redoc")
        assert redoc is not None
        redoc_status = redoc.status
    finally:
        ctx.close()
    assert not elsewhere, f"the docs reached beyond the server: {elsewhere}"
    assert not seen_errors, seen_errors
    assert "landmatch" in title and operations > 50, (title, operations)
    assert ogc_title
    assert redoc_status == 404
