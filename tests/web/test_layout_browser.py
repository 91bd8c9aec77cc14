"""Layout checks in real headless Chromium at a common office screen (1366 px wide): forms and
navigation fit the window, each failing on any console error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import browser_sign_in, drop_account, make_account

OFFICE = (1366, 900)


@pytest.fixture
def bureau_user(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "bureau", city="130100")
    yield name
    drop_account(engine, name)


def _no_sideways_scroll(page: Any) -> None:
    wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], wide


def test_parcel_edit_form_checkbox_groups_use_their_column(
    live_url: str, watched: Any, bureau_user: str, engine: Engine
) -> None:
    with engine.connect() as c:
        code = c.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE city_code = '130100' "
                "AND deleted_at IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    w = watched(viewport=OFFICE)
    w.page.goto(f"{live_url}/workbench/parcels/{code}/edit")
    browser_sign_in(w.page, live_url, bureau_user)
    w.page.wait_for_url(re.compile(r"/edit$"))
    groups = w.page.evaluate(
        """() => [...document.querySelectorAll('#edit-form [data-field] fieldset')].map(f => {
             const boxes = f.querySelector('.d-flex');
             return [f.closest('[data-field]').dataset.field,
                     boxes.getBoundingClientRect().width, f.getBoundingClientRect().width];
           })"""
    )
    names = {g[0] for g in groups}
    assert {"compatible_uses", "readiness", "checklist", "supply_modes"} <= names, names
    for name, boxes, column in groups:
        # The boxes fill their column (minus nothing): not a sliver beside the legend.
        assert boxes >= column - 1 and column > 300, (name, boxes, column)
    _no_sideways_scroll(w.page)
    height = w.page.evaluate("document.documentElement.scrollHeight")
    assert height < 5000, height
    assert w.errors == [], w.errors
