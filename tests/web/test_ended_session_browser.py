"""A staff member's session idles out while the browser keeps its cookie: the public map still
works in full (places, tiles, search, a card) and the cookie goes; the workbench asks them to
sign in again, saying why when the browser still holds the old cookie."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from landmatch.api.security import SESSION_COOKIE
from tests.web.conftest import browser_sign_in, drop_account, go_to, make_account

ENDED = "登录已过期或已退出，请重新登录"


@pytest.fixture
def bureau_user(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "bureau", city="130100")
    yield name
    drop_account(engine, name)


def _idle_out(engine: Engine, name: str) -> None:
    """The user's sessions last seen 61 minutes ago (the idle limit is 60)."""
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE landmatch.user_session SET last_seen_at = now() - interval '61 minutes' "
                "WHERE user_id = (SELECT id FROM landmatch.app_user WHERE name = :n)"
            ),
            {"n": name},
        )


def _session_cookies(page: Any) -> list[dict[str, Any]]:
    return [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]


def test_an_idled_out_session_keeps_the_public_map_and_signs_in_again(
    live_url: str,
    watched: Any,
    engine: Engine,
    bureau_user: str,
    public_parcel: dict[str, Any],
) -> None:
    w = watched()
    browser_sign_in(w.page, live_url, bureau_user)
    w.page.wait_for_url(re.compile(r"/workbench$"))
    w.page.wait_for_load_state("networkidle")  # the home page's cards are loaded after it
    assert _session_cookies(w.page)
    _idle_out(engine, bureau_user)

    # The public map: the places, the tiles, the search and a card, with no error anywhere.
    with w.page.expect_response(lambda r: "/api/map/places" in r.url) as places:
        w.page.goto(live_url + "/map")
    assert places.value.status == 200
    go_to(w.page, public_parcel["lat"], public_parcel["lon"])
    w.page.fill("#lm-q", public_parcel["code"])
    w.page.click("#lm-search button[type=submit]")
    w.page.locator("#lm-hits li").first.click()
    w.page.locator("#lm-card h2").wait_for(timeout=10000)
    text_ = w.page.inner_text("#lm-card")
    assert public_parcel["code"] in text_ and "内部信息" not in text_
    assert _session_cookies(w.page) == []  # the dead cookie is gone
    assert w.errors == []

    # The workbench asks for the sign-in again.
    w.page.goto(live_url + "/workbench")
    w.page.wait_for_url(re.compile(r"/workbench/login\?next="))
    assert w.page.locator("#login-form").is_visible()

    # A browser that still holds the dead cookie is told why.
    browser_sign_in(w.page, live_url, bureau_user)
    w.page.wait_for_url(re.compile(r"/workbench$"))
    w.page.wait_for_load_state("networkidle")  # the home page's cards are loaded after it
    _idle_out(engine, bureau_user)
    w.page.goto(live_url + "/workbench/account")
    w.page.wait_for_url(re.compile(r"/workbench/login\?next="))
    assert ENDED in w.page.inner_text("body")
    browser_sign_in(w.page, live_url, bureau_user)
    w.page.wait_for_url(re.compile(r"/workbench/account$"))
    assert w.errors == []
