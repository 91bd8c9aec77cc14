"""Zone and admin journeys in real headless Chromium against the live app and PostGIS, each
failing on any console error (a CSP violation is one): a zone committee signs in, renews an
expired regional assessment (by keyboard), edits the 招商 desk contact and previews its
boundary; an admin uploads a policy Excel (a rejected row first, then the import) and a
reference layer, and reads the reports; an admin creates a policy in the form (a refused value
first, beside its field), edits it, meets a save made from a second browser on the conflict
screen, re-applies, and reads the history. Screenshots go to artifacts/ (the README's come from
there)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import browser_sign_in, drop_account, make_account
from tests.zones.test_policies import _xlsx


@pytest.fixture
def zone_setup(engine: Engine) -> Iterator[dict[str, Any]]:
    """A zone with an expired 洪水影响评价 and a committee account for it; the contact and the
    assessments are put back afterwards (the history keeps the journey's versions)."""
    with engine.begin() as c:
        zid, code, contact_name, contact_phone = c.execute(
            text(
                "SELECT id, code, contact_name, contact_phone FROM landmatch.dev_zone "
                "ORDER BY code DESC LIMIT 1"
            )
        ).one()
        before = set(
            c.execute(
                text("SELECT id FROM landmatch.zone_assessment WHERE zone_id = :z"), {"z": zid}
            ).scalars()
        )
        c.execute(
            text(
                "INSERT INTO landmatch.zone_assessment (zone_id, kind, name, approved_on, "
                "valid_until, doc_no) VALUES (:z, 'FLOOD', '洪水影响评价', '2018-05-01', "
                "'2023-04-30', '冀水审〔2018〕12号')"
            ),
            {"z": zid},
        )
    name = make_account(engine, "zone", zone=code)
    yield {"code": code, "user": name}
    drop_account(engine, name)
    with engine.begin() as c:
        c.execute(
            text("DELETE FROM landmatch.zone_assessment WHERE zone_id = :z AND NOT (id = ANY(:k))"),
            {"z": zid, "k": list(before)},
        )
        c.execute(
            text(
                "UPDATE landmatch.dev_zone SET contact_name = :n, contact_phone = :p WHERE id = :z"
            ),
            {"n": contact_name, "p": contact_phone, "z": zid},
        )


def test_zone_committee_renews_an_assessment_and_edits_the_contact(
    live_url: str, watched: Any, zone_setup: dict[str, Any]
) -> None:
    code = zone_setup["code"]
    w = watched(viewport=(1280, 1100))
    page = w.page
    page.goto(live_url + "/workbench/zones")
    browser_sign_in(page, live_url, zone_setup["user"])
    page.wait_for_url(re.compile(rf"/workbench/zones/{re.escape(code)}$"))
    expired = page.locator('#assessments tr[data-kind="FLOOD"][data-state="expired"]')
    assert "已过期" in expired.filter(has_text="冀水审〔2018〕12号").inner_text()
    # Renew by keyboard: the 续期 link, then the form's fields.
    page.focus('#assessments tr[data-kind="FLOOD"][data-state="expired"] a >> nth=0')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?renew=\d+"))
    assert "续期：洪水影响评价" in page.inner_text("#assessment-form")
    assert page.input_value("#f-a-kind") == "FLOOD"
    page.fill("#f-a-approved_on", "2026-03-02")
    page.fill("#f-a-valid_until", "2031-03-01")
    page.fill("#f-a-doc_no", "冀水审〔2026〕5号")
    page.focus("#f-a-doc_no")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url(re.compile(rf"/workbench/zones/{re.escape(code)}#assessment$"))
    assert "区域评估已续期" in page.inner_text(".alert-success")
    renewed = page.locator('#assessments tr[data-kind="FLOOD"][data-state="valid"]').filter(
        has_text="冀水审〔2026〕5号"
    )
    assert "2031-03-01" in renewed.inner_text() and "冀水审〔2026〕5号" in renewed.inner_text()
    assert page.locator('#assessments tr[data-kind="FLOOD"][data-state="expired"]').count() >= 1
    # The desk contact.
    page.fill("#f-contact_name", "开发区招商服务中心")
    page.fill("#f-contact_phone", "0311-6789 1234")
    page.fill("#f-contact-reason", "招商窗口换号")
    page.click("#save-contact")
    page.wait_for_url(re.compile(r"#contact$"))
    assert "招商服务联系方式已保存" in page.inner_text(".alert-success")
    assert page.input_value("#f-contact_phone") == "0311-6789 1234"
    assert "招商窗口换号" in page.inner_text("#zone-history")
    page.wait_for_load_state("networkidle")
    w.shot("workbench_zone")
    # The boundary in the parcels' editor: the server's preview of the current boundary.
    page.click("#edit-boundary")
    page.wait_for_url(re.compile(r"/boundary$"))
    page.locator(".leaflet-marker-pane .marker-icon").first.wait_for(timeout=15000)
    page.click("#preview-button")
    page.wait_for_selector("#preview-list")
    assert "亩" in page.inner_text("#area-server")
    page.wait_for_load_state("networkidle")
    w.shot("workbench_zone_boundary")
    assert w.errors == []


@pytest.fixture
def admin_uploads(engine: Engine, admin_user: str) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:6]
    names = {"policy": f"wbj-{tag}", "facility": f"wbj-f-{tag}", "admin": admin_user}
    yield names
    from sqlalchemy.orm import Session

    from landmatch.auth import Principal
    from landmatch.db.locking import ANY
    from landmatch.reflayers.changes import delete_record

    with engine.begin() as c:
        c.execute(text("DELETE FROM landmatch.policy WHERE code = :c"), {"c": names["policy"]})
        c.execute(text("DELETE FROM landmatch.layer_upload WHERE actor = :a"), {"a": admin_user})
    with Session(engine) as s, s.begin():
        found = s.execute(
            text("SELECT 1 FROM landmatch.facility WHERE code = :c"), {"c": names["facility"]}
        ).first()
        if found:
            delete_record(
                s,
                Principal(name="test", role="admin"),
                "facility",
                names["facility"],
                "清理",
                if_match=ANY,
            )


def _row(code: str, valid_until: str) -> list[object]:
    return [
        code,
        "智能制造设备补助",
        "石家庄市工业和信息化局",
        "石工信〔2026〕8号",
        "2026-01-01",
        valid_until,
        "市",
        "130100",
        "34、39",
        "资金补助",
        "10%",
        200,
        None,
        None,
        "智能化改造设备投入的10%补助，上限200万元",
        "是",
    ]


def test_admin_uploads_a_policy_excel_and_a_reference_layer(
    live_url: str, watched: Any, admin_uploads: dict[str, str], tmp_path: Any
) -> None:
    w = watched(viewport=(1280, 1000))
    page = w.page
    page.goto(live_url + "/workbench/policies")
    browser_sign_in(page, live_url, admin_uploads["admin"])
    page.wait_for_url(re.compile(r"/workbench/policies$"))
    page.click("#import-link")
    page.wait_for_url(re.compile(r"/workbench/policies/import$"))
    code = admin_uploads["policy"]
    bad = tmp_path / "政策.xlsx"
    bad.write_bytes(_xlsx([_row(code, "2027-12-31"), _row(code + "-2", "2025-01-01")]))
    page.set_input_files("#f-file", str(bad))
    page.uncheck("#f-dry_run")
    page.click("#import-submit")
    page.wait_for_selector("#import-problems")
    cells = page.locator("#import-problems tbody td").all_inner_texts()
    assert cells[:2] == ["3", "失效日期"], cells
    w.shot("workbench_policy_import_rejected")
    good = tmp_path / "政策-改.xlsx"
    good.write_bytes(_xlsx([_row(code, "2027-12-31")]))
    page.set_input_files("#f-file", str(good))
    page.uncheck("#f-dry_run")
    page.click("#import-submit")
    page.wait_for_selector("#import-summary")
    assert page.inner_text("#import-summary") == "1 行：新增 1，更新 0"
    page.click(f"#import-report a:text('{code}')")
    page.wait_for_url(re.compile(rf"/workbench/policies/{code}$"))
    assert "智能化改造设备投入" in page.inner_text("#policy-fields")
    # A reference layer: a substation in 石家庄, and its change report.
    page.goto(live_url + "/workbench/layers?layer=facility")
    feature = {
        "type": "Feature",
        "properties": {
            "code": admin_uploads["facility"],
            "name": "正定110千伏变电站",
            "kind": "变电站",
            "city_code": "130100",
        },
        "geometry": {"type": "Point", "coordinates": [114.57, 38.15]},
    }
    layer = tmp_path / "变电站.geojson"
    layer.write_bytes(
        json.dumps(
            {"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False
        ).encode()
    )
    page.set_input_files("#f-file", str(layer))
    page.fill("#f-reason", "新投运变电站")
    page.click("#layer-import-submit")
    # The preview first: nothing written until confirmed.
    page.wait_for_selector("#preview-confirm")
    assert admin_uploads["facility"] in page.inner_text("#preview-insert")
    page.click("#preview-apply")
    page.wait_for_selector("#change-report")
    assert admin_uploads["facility"] in page.inner_text("#r-inserted")
    assert "宗" in page.inner_text("#r-affected")
    page.wait_for_load_state("networkidle")
    w.shot("workbench_layer_report")
    page.click("#report-back")
    page.wait_for_url(re.compile(r"/workbench/layers\?layer=facility$"))
    page.click("#city-counts a:text('石家庄市')")
    assert admin_uploads["facility"] in page.inner_text("#records")
    w.shot("workbench_layers")
    assert w.errors == []


def test_admin_creates_and_edits_a_policy_in_the_form(
    live_url: str, watched: Any, admin_uploads: dict[str, str], engine: Engine
) -> None:
    w = watched(viewport=(1280, 1000))
    page = w.page
    page.goto(live_url + "/workbench/policies")
    browser_sign_in(page, live_url, admin_uploads["admin"])
    page.wait_for_url(re.compile(r"/workbench/policies$"))
    w.shot("workbench_policies")
    page.click("#new-link")
    page.wait_for_url(re.compile(r"/workbench/policies/new$"))
    code = admin_uploads["policy"]
    page.fill("#f-code", code)
    page.fill("#f-title", "高端装备用地奖励")
    page.fill("#f-issuer", "河北省工业和信息化厅")
    page.fill("#f-valid_from", "2026-01-01")
    page.fill("#f-valid_until", "2025-12-31")  # before it starts: refused beside the field
    page.select_option("#f-scope_level", "province")
    page.fill("#f-scope_code", "130000")
    page.fill("#f-industries", "34、35")
    page.check("#f-statuses-ready")
    page.select_option("#f-benefit_kind", "reward")
    page.fill("#f-benefit_amount_wan", "500")
    page.check("#f-enterprise_types-high_tech")
    page.fill("#f-summary", "新落地高端装备项目按用地规模奖励，最高 500 万元")
    page.fill("#f-reason", "2026 年新政")
    page.focus("#policy-save")
    page.keyboard.press("Enter")
    page.wait_for_selector("#form-error")
    assert "早于开始日期" in page.inner_text("#f-valid_until-msg")
    assert page.input_value("#f-title") == "高端装备用地奖励"  # the rest is kept
    w.shot("workbench_policy_form_error")
    page.fill("#f-valid_until", "2030-12-31")
    page.click("#policy-save")
    page.wait_for_url(re.compile(rf"/workbench/policies/{code}$"))
    assert "高端装备用地奖励" in page.inner_text("h1")
    assert "2026 年新政" in page.inner_text("#policy-history")
    # Edit: open the form; meanwhile a second browser saves the same policy.
    page.click("#edit-link")
    page.wait_for_url(re.compile(r"/edit$"))
    assert page.input_value("#f-industries") == "34、35"
    other = watched()
    other.page.goto(f"{live_url}/workbench/policies/{code}/edit")
    browser_sign_in(other.page, live_url, admin_uploads["admin"])
    other.page.wait_for_url(re.compile(r"/edit$"))
    other.page.fill("#f-issuer", "河北省工业和信息化厅（省中小企业局）")
    other.page.fill("#f-reason", "发文机关全称")
    other.page.click("#policy-save")
    other.page.wait_for_url(re.compile(rf"/workbench/policies/{code}$"))
    page.fill("#f-benefit_amount_wan", "800")
    page.fill("#f-reason", "提高奖励上限")
    page.click("#policy-save")
    page.wait_for_selector("#conflict")
    table = page.inner_text("#conflict-table")
    assert "500" in table and "800" in table and "省中小企业局" in table
    w.shot("workbench_policy_conflict")
    page.click("#reapply")
    page.wait_for_url(re.compile(rf"/workbench/policies/{code}$"))
    fields = page.inner_text("#policy-fields")
    assert "800.00 万元" in fields and "省中小企业局" in fields
    history = page.inner_text("#policy-history")
    assert "500 → 800" in history and "提高奖励上限" in history and "发文机关全称" in history
    page.wait_for_load_state("networkidle")
    w.shot("workbench_policy_history")
    with engine.connect() as c:
        version = c.execute(
            text("SELECT version FROM landmatch.policy WHERE code = :c"), {"c": code}
        ).scalar_one()
    assert version == 3
    assert w.errors == [] and other.errors == []


@pytest.fixture
def busy_committee(engine: Engine) -> Iterator[dict[str, str]]:
    """A committee account of the zone with the most parcels (its QA list is not empty)."""
    with engine.connect() as c:
        code = c.execute(
            text(
                "SELECT z.code FROM landmatch.dev_zone z JOIN landmatch.parcel p "
                "ON p.zone_id = z.id AND p.deleted_at IS NULL "
                "WHERE EXISTS (SELECT 1 FROM landmatch.zone_assessment a WHERE a.zone_id = z.id) "
                "GROUP BY z.code ORDER BY count(*) DESC, z.code LIMIT 1"
            )
        ).scalar_one()
    name = make_account(engine, "zone", zone=code)
    yield {"code": code, "user": name}
    drop_account(engine, name)


PAGE_OVERFLOW_JS = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


def test_a_committees_pages_fit_a_phone(
    live_url: str, watched: Any, busy_committee: dict[str, str]
) -> None:
    """At 390 px no page of the committee's journey is wider than the screen (its zone page's
    assessments table put 续期/删除 off it, as did the QA report's 修正 column, the policy
    list and the dashboard's 520 px charts): a wide table scrolls inside its own box."""
    w = watched(viewport=(390, 844))
    page = w.page
    page.goto(live_url + "/workbench")
    browser_sign_in(page, live_url, busy_committee["user"])
    page.wait_for_url(re.compile(r"/workbench$"))
    page.wait_for_load_state("networkidle")  # the home's QA counts come after the page
    code = busy_committee["code"]
    wide = []
    for path, table in (
        (f"/workbench/zones/{code}", "#assessments"),
        ("/workbench/qa?check=stale_utilities", "#qa-parcels"),
        ("/workbench/policies", "#policies"),
        ("/dashboard", ".lm-dash-panel"),
    ):
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
        assert page.locator(table).count(), path  # the wide content is on the page
        if page.evaluate(PAGE_OVERFLOW_JS) > 0:
            wide.append(path)
    assert wide == []
    assert w.errors == []


MAP_VIEW_JS = """() => {
  for (const k in window) {
    const m = window[k];
    if (m instanceof L.Map) { const c = m.getCenter(); return {lat: c.lat, lon: c.lng, zoom: m.getZoom()}; }
  }
  return null;
}"""


def test_a_committees_new_parcel_map_opens_on_its_zone(
    live_url: str, watched: Any, busy_committee: dict[str, str], engine: Engine
) -> None:
    """The new parcel's map opens over the committee's zone (it opened at Hebei's centre at the
    editor's zoom, a grey square with nothing to draw on)."""
    with engine.connect() as c:
        s, w_, n, e = c.execute(
            text(
                "SELECT ST_YMin(b), ST_XMin(b), ST_YMax(b), ST_XMax(b) FROM "
                "(SELECT geom::box2d AS b FROM landmatch.dev_zone WHERE code = :c) x"
            ),
            {"c": busy_committee["code"]},
        ).one()
    w = watched(viewport=(1280, 900))
    page = w.page
    page.goto(live_url + "/workbench/parcels/new")
    browser_sign_in(page, live_url, busy_committee["user"])
    page.wait_for_url(re.compile(r"/workbench/parcels/new$"))
    page.wait_for_load_state("networkidle")
    view = page.evaluate(MAP_VIEW_JS)
    assert view and s <= view["lat"] <= n and w_ <= view["lon"] <= e, (view, (s, w_, n, e))
    assert view["zoom"] < 14  # the whole zone in view, not the editor's closest zoom
    assert w.errors == []
