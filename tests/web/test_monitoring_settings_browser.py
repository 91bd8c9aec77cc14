"""The monitoring settings in real headless Chromium against the live app and PostGIS, failing
on any console error: a city's bureau and an admin open the same settings in two browsers —
保定's idle-land thresholds, then its disposal target of a year — the admin saves first, and
the bureau's save is refused with the conflict message and the values as they are now (its own
not saved); saved again on those, it goes through. Screenshots go to artifacts/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import browser_sign_in, drop_account, make_account

CITY = "130600"  # 保定


@pytest.fixture
def settings_setup(engine: Engine) -> Iterator[dict[str, Any]]:
    """A bureau of 保定 and an admin; 保定's rule set as it was, and the journey's target year
    (none seeded), are put back afterwards."""
    with engine.connect() as c:
        kept = (
            c.execute(
                text("SELECT * FROM landmatch.monitoring_rule WHERE city_code = :c"), {"c": CITY}
            )
            .mappings()
            .first()
        )
    year = 2080 + uuid.uuid4().int % 10
    users = {
        "bureau": make_account(engine, "bureau", city=CITY),
        "admin": make_account(engine, "admin"),
    }
    yield {"year": year, **users}
    for name in users.values():
        drop_account(engine, name)
    with engine.begin() as c:
        c.execute(text("DELETE FROM landmatch.monitoring_rule WHERE city_code = :c"), {"c": CITY})
        if kept is not None:
            cols = list(kept.keys())
            c.execute(
                text(
                    f"INSERT INTO landmatch.monitoring_rule ({', '.join(cols)}) "
                    f"VALUES ({', '.join(':' + k for k in cols)})"
                ),
                dict(kept),
            )
        c.execute(
            text("DELETE FROM landmatch.disposal_target WHERE city_code = :c AND year = :y"),
            {"c": CITY, "y": year},
        )


def test_two_browsers_edit_the_same_settings(
    live_url: str, watched: Any, settings_setup: dict[str, Any]
) -> None:
    year = settings_setup["year"]
    bureau, admin = watched(), watched()
    for w, who, url in (
        (bureau, "bureau", "/workbench/cases/rules"),
        (admin, "admin", f"/workbench/cases/rules?city={CITY}"),
    ):
        w.page.goto(live_url + url)
        browser_sign_in(w.page, live_url, settings_setup[who])
        w.page.wait_for_url(re.compile(r"/workbench/cases/rules"))
        assert "保定市" in w.page.inner_text("h1")
    # Both forms are open; the admin saves first.
    admin.page.fill("#f-idle_after_months", "18")
    admin.page.fill("#f-recover_after_months", "30")
    admin.page.click("#rule-form button[type=submit]")
    admin.page.wait_for_selector(".alert-success")
    assert "保定市的闲置认定阈值已保存" in admin.page.inner_text(".alert-success")
    # The bureau's form was opened before: nothing of it is saved, the current values shown.
    bureau.page.fill("#f-idle_after_months", "6")
    bureau.page.fill("#f-fee_rate", "0.1")
    bureau.page.click("#rule-form button[type=submit]")
    bureau.page.wait_for_selector("#form-error")
    assert "已被他人修改，未保存" in bureau.page.inner_text("#form-error")
    assert bureau.page.input_value("#f-idle_after_months") == "18"
    assert bureau.page.input_value("#f-recover_after_months") == "30"
    assert bureau.page.input_value("#f-fee_rate") == ""
    bureau.shot("workbench_rules_conflict")
    # Saved again on the values as they are now: it goes through.
    bureau.page.fill("#f-fee_rate", "0.1")
    bureau.page.click("#rule-form button[type=submit]")
    bureau.page.wait_for_selector(".alert-success")
    assert bureau.page.input_value("#f-idle_after_months") == "18"
    assert bureau.page.input_value("#f-fee_rate") == "0.1"

    # The same with a target not set yet: both forms are opened before either saves.
    url = f"/workbench/cases/targets?city={CITY}&year={year}"
    for w in (bureau, admin):
        w.page.goto(live_url + url)
        assert "尚未设定" in w.page.inner_text("#target-idle")
    admin.page.fill("#f-idle-target", "1500")
    admin.page.click("#target-idle button[type=submit]")
    admin.page.wait_for_selector(".alert-success")
    assert "现行目标：1,500 亩（100 公顷）" in admin.page.inner_text("#target-idle")
    bureau.page.fill("#f-idle-target", "800")
    bureau.page.click("#target-idle button[type=submit]")
    bureau.page.wait_for_selector("#form-error")
    assert "已被他人修改，未保存" in bureau.page.inner_text("#form-error")
    assert bureau.page.input_value("#f-idle-target") == "1500"
    assert "现行目标：1,500 亩" in bureau.page.inner_text("#target-idle")
    bureau.shot("workbench_target_conflict")
    assert bureau.errors == [] and admin.errors == []
