"""The import journey in real headless Chromium against the live app and PostGIS, failing on
any console error: the 石家庄 bureau signs in, downloads the Excel template, drops a realistic
Excel 清单 on the wizard, maps the two headers the import does not know (saving the mapping),
runs the dry run in the background, filters the report to the rejected row and sees the file's
parcels on the map, replaces the file with the corrected one, commits (a background job with a
progress bar), then edits an imported parcel, sees its history, restores a version, exports it,
and is refused the rollback of an import whose parcel changed since. Screenshots go to
artifacts/ (the README's come from there)."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from tests.data import import_wizard_files as W
from tests.web.conftest import browser_sign_in, drop_account, make_account

DROP_JS = """([name, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, {type: "application/octet-stream"}));
  const zone = document.getElementById("drop-zone");
  zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
  zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
}"""


@pytest.fixture
def importer(engine: Engine) -> Iterator[tuple[str, str]]:
    """A 石家庄 bureau account and a tag for the journey's parcel codes; the parcels, jobs
    and mappings the journey makes are removed afterwards."""
    name = make_account(engine, "bureau", city="130100")
    tag = "J" + uuid.uuid4().hex[:6]
    yield name, tag
    with engine.begin() as c:
        c.execute(text("DELETE FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": W.codes(tag)})
        c.execute(text("DELETE FROM landmatch.import_job WHERE actor = :a"), {"a": name})
        c.execute(text("DELETE FROM landmatch.column_mapping WHERE created_by = :a"), {"a": name})
    drop_account(engine, name)


def _download_noise(w: Any, part: str) -> None:
    """Chromium reports a navigation that became a download as an aborted request: drop
    those lines (and only those)."""
    w.errors = [e for e in w.errors if not (e.startswith("requestfailed:") and part in e)]


def test_bureau_import_journey(
    live_url: str, watched: Any, importer: tuple[str, str], engine: Engine, tmp_path: Any
) -> None:
    user, tag = importer
    codes = W.codes(tag)
    w = watched(viewport=(1280, 1000))
    page = w.page
    page.on("dialog", lambda d: d.accept())
    page.goto(live_url + "/workbench/imports")
    browser_sign_in(page, live_url, user)
    page.wait_for_url(re.compile(r"/workbench/imports$"))

    # The Excel template.
    with page.expect_download() as dl:
        page.click("#template-link")
    path = tmp_path / "template.xlsx"
    dl.value.save_as(path)
    assert load_workbook(path).sheetnames[:2] == ["说明", "熟地清单"]
    _download_noise(w, "/template.xlsx")

    # Drop the bureau's Excel 清单 on the wizard (keyboard users: the same file input).
    page.click("#new-import")
    page.wait_for_url(re.compile(r"/workbench/imports/new$"))
    data = W.bureau_xlsx(tag, fixed=False)
    page.evaluate(DROP_JS, ["石家庄市2026年第一批熟地清单.xlsx", base64.b64encode(data).decode()])
    assert "石家庄市2026年第一批熟地清单.xlsx" in page.inner_text("#drop-list")
    w.shot("workbench_import_upload")
    page.click("#upload-submit")
    page.wait_for_url(re.compile(r"/workbench/imports/\d+$"))
    job_url = page.url

    # Options pre-filled from the file; map the two unknown headers and save the mapping.
    assert page.input_value("#f-city") == "130100"
    assert page.input_value("#f-crs") == "EPSG:4490"
    page.get_by_label("宗地坐落位置").select_option("坐落")
    page.get_by_label("地块四至").select_option("__ignore__")
    page.fill("#f-mapping_name", "经开区清单格式")
    page.select_option("#f-visibility", "internal")
    page.locator("#check-submit").scroll_into_view_if_needed()
    w.shot("workbench_import_mapping")
    page.click("#check-submit")

    # The dry run runs in the background; the page follows its progress and reloads.
    page.wait_for_selector("#report-table", timeout=120_000)
    assert "拒绝 1" in page.inner_text("#totals") and "新建 3" in page.inner_text("#totals")
    page.select_option("#r-action", "rejected")
    page.click("#report-filters button[type=submit]")
    page.wait_for_url(re.compile(r"action=rejected"))
    rows = page.locator("#report-table tbody tr")
    assert rows.count() == 1 and "U15" in rows.first.inner_text()
    page.wait_for_function("() => window.LMW && LMW.importMap && LMW.importMap.count === 4")
    page.wait_for_load_state("networkidle")
    w.shot("workbench_import_report")
    assert page.locator("#commit-form").count() == 0

    # Fix the rejected row: the corrected file replaces the first, the mapping stays.
    page.set_input_files(
        "#f-replace",
        files=[
            {
                "name": "石家庄市2026年第一批熟地清单（修正）.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": W.bureau_xlsx(tag, fixed=True),
            }
        ],
    )
    page.click("#replace-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.get_by_label("宗地坐落位置").input_value() == "坐落"
    page.click("#check-submit")
    page.wait_for_selector("#commit-form", timeout=120_000)
    assert "拒绝 0" in page.inner_text("#totals")

    # Commit: a background job with a progress bar; the page reloads when it is done.
    page.click("#commit-submit")
    page.wait_for_function(
        "() => document.getElementById('job-state') && "
        "document.getElementById('job-state').textContent === '已导入'",
        timeout=120_000,
    )
    w.shot("workbench_import_done")
    with engine.connect() as c:
        stored = c.execute(
            text("SELECT code, address, visibility FROM landmatch.parcel WHERE code = ANY(:c)"),
            {"c": codes},
        ).all()
    assert len(stored) == 4 and all(r.address and r.visibility == "internal" for r in stored)

    # The imports list: state, totals, report, rollback.
    page.click("nav a:has-text('数据导入')")
    page.wait_for_url(re.compile(r"/workbench/imports$"))
    job_id = job_url.rsplit("/", 1)[1]
    row = page.locator(f"#imports tr[data-job='{job_id}']")
    assert row.get_attribute("data-state") == "committed"
    w.shot("workbench_imports_list")

    # Through the parcel pages: edit an imported parcel, its history, restore, export.
    code = codes[0]
    page.goto(f"{live_url}/workbench/parcels/{code}/edit")
    page.fill("#f-height_max_m", "24")
    page.fill("#f-reason", "补充限高")
    page.click("#edit-form button[type=submit]")
    page.wait_for_url(re.compile(r"/workbench/parcels/[^/]+$"))
    assert "已保存" in page.inner_text(".alert-success")
    page.click("#parcel-tabs a:has-text('历史')")
    page.wait_for_url(re.compile(r"/history$"))
    timeline = page.inner_text("#timeline")
    assert "补充限高" in timeline
    # The version written by the import names its batch and links to the job (whose number
    # is not the batch's): the job page is where it is rolled back.
    link = page.locator("#timeline a.lm-import-job")
    assert link.count() == 1 and link.inner_text() == f"导入任务 #{job_id}"
    assert link.get_attribute("href") == f"/workbench/imports/{job_id}"
    assert "导入批次 " in timeline
    versions = page.locator("#timeline > li")
    oldest = versions.nth(versions.count() - 1)
    oldest.locator("input[name=reason]").fill("恢复导入时的数据")
    oldest.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/workbench/parcels/[^/]+$"))
    assert "已恢复到版本" in page.inner_text(".alert-success")
    page.goto(f"{live_url}/workbench/parcels?q={code}")
    page.select_option("#f-format", "xlsx")
    with page.expect_download() as dl:
        page.click("#export-button")
    path = tmp_path / "export.xlsx"
    dl.value.save_as(path)
    ws = load_workbook(path)["熟地清单"]
    col = [c.value for c in ws[1]].index("地块编号")
    assert [r[col] for r in ws.iter_rows(min_row=2, values_only=True)] == [code]
    _download_noise(w, "/export?")

    # The rollback is refused: a parcel of the import changed since (the message says which).
    page.goto(live_url + "/workbench/imports")
    form = page.locator(f"#imports tr[data-job='{job_id}'] form.lm-rollback")
    form.locator("input[name=reason]").fill("清单有误")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".alert-danger")
    assert code in page.inner_text(".alert-danger") and "不能整体撤销" in page.inner_text(
        ".alert-danger"
    )
    assert w.errors == [], w.errors


def test_files_over_the_upload_cap_are_refused_before_they_are_sent(
    live_url: str, watched: Any, importer: tuple[str, str], settings: Any
) -> None:
    """A file over the upload cap went out whole and came back as the 413 error page, the
    wizard and its choices gone: the page knows the cap (the server's own figure) and the
    file field says at once that the files are too large, nothing sent. The cap is lowered to
    1 KB in the page for the test; the server's 413 stays the guard."""
    user, _ = importer
    w = watched()
    page = w.page
    page.goto(live_url + "/workbench/imports/new")
    browser_sign_in(page, live_url, user)
    page.wait_for_url(re.compile(r"/workbench/imports/new$"))
    cap = page.get_attribute('meta[name="upload-max-mb"]', "content")
    assert cap == str(settings.max_upload_mb)
    page.evaluate("document.querySelector('meta[name=\"upload-max-mb\"]').content = '0.001'")
    posts: list[str] = []

    def sent(r: Any) -> None:
        if r.method == "POST":
            posts.append(r.url)

    page.on("request", sent)
    big = {"name": "清单.csv", "mimeType": "text/csv", "buffer": "地块编号\n".encode() * 500}
    page.set_input_files("#f-files", files=[big])
    page.click("#upload-submit")
    said = page.inner_text("#f-files-size-msg")
    assert "超过单次上传上限 0.001 MB" in said and "文件未发送" in said, said
    assert "is-invalid" in (page.get_attribute("#f-files", "class") or "")
    assert posts == [] and page.url.endswith("/workbench/imports/new")
    # Within the cap, the form goes as before.
    page.evaluate(f"document.querySelector('meta[name=\"upload-max-mb\"]').content = '{cap}'")
    page.click("#upload-submit")
    page.wait_for_url(re.compile(r"/workbench/imports/\d+$"))
    assert posts and w.errors == []
