"""A mistaken delete undone in Chromium against the live app: the team's promoter deletes a
project holding a parcel from its page (asked first), finds it under 已删除的项目 as it was
deleted, gives a reason and restores it; the project's page is back, says that the hold
released at the delete stays released, and its timeline names the delete and the restore.
Zero console errors, failed requests or page errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import TEST_PASSWORD
from tests.web.conftest import browser_sign_in, drop_account, make_account

TEAM = "t-restore-a"


@pytest.fixture
def promoter(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "promoter", team=TEAM)
    yield name
    with engine.begin() as c:
        for table in ("match_run", "project"):
            c.execute(text(f"DELETE FROM landmatch.{table} WHERE owner_team = :t"), {"t": TEAM})
    drop_account(engine, name)


def _api(url: str, user: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(url + path, json=body, auth=(user, TEST_PASSWORD), timeout=60)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def test_delete_find_and_restore_a_project(live_url: str, watched: Any, promoter: str) -> None:
    req = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400, "top": 5}
    project = _api(
        live_url, promoter, "/api/projects", {"name": "误删项目·设备制造", "requirement": req}
    )
    pid = project["id"]
    run = _api(live_url, promoter, f"/api/projects/{pid}/match", {})
    code = next(
        f["properties"]["code"] for f in run["features"] if f["properties"]["kind"] == "parcel"
    )
    _api(live_url, promoter, "/api/reservations", {"parcel_code": code, "project_id": pid})

    w = watched((1280, 900))
    page = w.page
    page.goto(f"{live_url}/workbench/projects/{pid}")
    browser_sign_in(page, live_url, promoter)
    page.wait_for_url(re.compile(rf"/workbench/projects/{pid}$"))
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.click("#delete-project")
    page.wait_for_url(re.compile(r"/workbench/projects/deleted$"))
    assert asked and asked[0].startswith("删除项目“误删项目·设备制造”？")
    assert "已删除项目" in page.inner_text(".alert-success")
    card = page.locator(f'section[data-project="{pid}"]')
    assert "误删项目·设备制造" in card.inner_text()
    assert f"删除时释放的地块预留（{code}）仍为已释放" in card.inner_text()
    # It is gone from the board until restored.
    page.goto(f"{live_url}/workbench/projects")
    assert "误删项目·设备制造" not in page.inner_text("#projects")
    page.click("#deleted-link")
    page.wait_for_url(re.compile(r"/workbench/projects/deleted$"))
    w.shot("workbench_projects_deleted")
    page.fill(f"#f-restore-{pid}", "误删，恢复")
    page.locator(f'section[data-project="{pid}"] button[type=submit]').click()
    page.wait_for_url(re.compile(rf"/workbench/projects/{pid}$"))
    flash = page.inner_text(".alert-warning")
    assert flash.startswith("已恢复项目“误删项目·设备制造”") and code in flash
    assert page.inner_text("#project-name") == "误删项目·设备制造"
    timeline = page.inner_text("#events")
    assert "恢复项目（误删，恢复）" in timeline and "删除项目" in timeline
    assert w.errors == [], w.errors
