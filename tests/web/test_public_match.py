"""The public match (issue #18 item 8): the match map explains each site and the why-not with
the staff results page's own renderer (the same HTML for the same run), every score is written
one way, and each site has a 我有意向 button carrying its parcel and the run."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, text

from landmatch.match import readable
from tests.conftest import sign_in
from tests.web.conftest import TILES_DRAWN_JS

REQ = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400, "top": 10}


def _public_run(client: Any) -> dict[str, Any]:
    r = client.post("/api/match", json=REQ)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _first(html: str, pattern: str) -> str:
    m = re.search(pattern, html, re.S)
    assert m, pattern
    return m.group(0)


def test_the_public_map_explains_with_the_staff_renderer(client: Any, passwords: Any) -> None:
    run = _public_run(client)
    mid = run["match_id"]
    public = client.get(f"/match/{mid}/map").text
    ranked = sorted(
        (f["properties"] for f in run["features"] if f["properties"].get("kind") != "assembly"),
        key=lambda p: p["rank"],
    )
    assert len(ranked) >= 3
    # Every ranked site's explanation in words (readable.explanation), in its own block.
    for p in ranked:
        block = _first(public, rf'<template id="lm-site-{p["rank"]}">.*?</template>')
        for row in readable.explanation(p):
            assert row["label"] in block and row["words"] in block, (p["rank"], row)
    # The why-not funnel and near misses, as readable.funnel reads the run.
    funnel = readable.funnel(run["why_not"])
    whynot = _first(
        public, r'<table class="table table-sm align-middle mb-1" id="funnel">.*?</table>'
    )
    for r in funnel["rules"]:
        assert r["label"] in whynot
    assert f"{funnel['considered']:,} 宗" in whynot
    # The same HTML as the staff results page for the same run: one renderer.
    sign_in(client, passwords["promoter"])
    staff = client.get(f"/workbench/matches/{mid}")
    assert staff.status_code == 200
    explain = r'<table class="table table-sm align-middle lm-explain lm-breakdown">.*?</table>'
    site3 = r'<template id="lm-site-3">.*?</template>'
    assert _first(_first(public, site3), explain) == _first(
        _first(staff.text, r'id="site-body-3".*?</table>'), explain
    )
    assert _first(public, r'id="funnel">.*?</table>') == _first(
        staff.text, r'id="funnel">.*?</table>'
    )


def test_the_match_map_is_titled_with_what_was_looked_for(client: Any) -> None:
    """The panel's title says what the run looked for, in words; the run's number (which an
    inquiry cites) stays beside it."""
    mid = _public_run(client)["match_id"]
    page = client.get(f"/match/{mid}/map").text
    title = _first(page, r'<h1 class="lm-title">.*?</h1>')
    assert '<span id="lm-wanted">' in title, title
    assert "通用设备制造业 · 10–400 亩" in title, title
    assert f"匹配编号 {mid[:8]}" in page


def test_scores_are_written_one_way(client: Any) -> None:
    mid = _public_run(client)["match_id"]
    page = client.get(f"/match/{mid}/map").text
    panel = _first(page, r'<aside class="lm-panel.*?</aside>')
    scores = re.findall(r"([+−-]?[\d,]+(?:\.\d+)?) 分", panel)
    assert len(scores) > 30
    assert all(re.fullmatch(r"[+−-]?\d+\.\d", s) for s in scores), sorted(set(scores))
    # The compare table's total and points, and the ranked list, the same way.
    compare = _first(panel, r'id="lm-compare">.*?</table>')
    cells = re.findall(r"<td><b>([^<]+)</b></td>", compare)
    assert cells and all(re.fullmatch(r"\d+\.\d", c) for c in cells)


def test_each_site_has_an_inquiry_button(client: Any, passwords: Any) -> None:
    run = _public_run(client)
    mid = run["match_id"]
    page = client.get(f"/match/{mid}/map").text
    buttons = re.findall(
        r'<button type="button" class="btn btn-sm btn-success lm-inquire-site" '
        r'data-lm-inquiry="([^"]+)" data-lm-name="[^"]*" data-lm-match="([^"]+)">',
        page,
    )
    shown = [f["properties"] for f in run["features"] if f.get("geometry")][:20]
    assert len(buttons) == len(shown)
    expected = {p.get("code") or p["members"][0] for p in shown}
    assert {code for code, _m in buttons} == expected
    assert {m for _c, m in buttons} == {mid}
    # Staff read the run in the workbench: no inquiry buttons for them.
    sign_in(client, passwords["promoter"])
    assert "data-lm-inquiry" not in client.get(f"/match/{mid}/map").text


def test_a_site_opens_on_a_phone_with_its_inquiry_button(
    live_url: str, watched: Any, match_id: str
) -> None:
    w = watched(viewport=(390, 844))
    w.page.goto(f"{live_url}/match/{match_id}/map")
    w.page.wait_for_function(TILES_DRAWN_JS, timeout=15000)
    w.page.click("#lm-toggle")
    w.page.locator("#lm-ranked li").nth(1).click()
    card = w.page.locator("#lm-card")
    card.locator(".lm-explain").wait_for(timeout=5000)
    assert "第 2 名" in card.inner_text() and "为什么得这个分" in card.inner_text()
    assert "与第 1 名相比" in card.inner_text()
    box = card.bounding_box()
    assert box["x"] == 0 and abs(box["y"] + box["height"] - 844) <= 1  # a bottom sheet
    button = card.locator("[data-lm-inquiry]")
    assert button.is_visible() and button.get_attribute("data-lm-match") == match_id
    w.shot("match_phone_site")
    assert w.errors == []


def test_a_sites_inquiry_carries_its_parcel_and_the_run(
    live_url: str, watched: Any, match_id: str, engine: Engine
) -> None:
    w = watched(viewport=(1440, 900))
    w.page.goto(f"{live_url}/match/{match_id}/map")
    w.page.wait_for_function(TILES_DRAWN_JS, timeout=15000)
    w.page.locator("#lm-ranked li").first.click()
    button = w.page.locator("#lm-card [data-lm-inquiry]")
    code = button.get_attribute("data-lm-inquiry")
    button.click()
    w.page.locator("#lm-inquiry").wait_for(state="visible")
    # A locator, not a string wait_for_function: polling that needs eval, which the CSP refuses.
    w.page.locator("#lm-inq-consent-text", has_text=re.compile(r"\S")).wait_for()
    company = "匹配意向测试公司"
    w.page.fill("#lm-inq-name", "李先生")
    w.page.fill("#lm-inq-company", company)
    w.page.fill("#lm-inq-phone", "0311-8888 7777")
    w.page.fill("#lm-inq-message", "对排名第一的地块有意向。")
    w.page.check("#lm-inq-consent")
    w.page.wait_for_timeout(3200)  # a person takes longer than the form token's minimum age
    w.page.click("#lm-inq-send")
    w.page.locator("#lm-inq-done").wait_for(state="visible")
    with engine.begin() as c:
        row = c.execute(
            text(
                "SELECT p.code, i.match_id FROM landmatch.inquiry i "
                "JOIN landmatch.parcel p ON p.id = i.parcel_id WHERE i.company = :c"
            ),
            {"c": company},
        ).one()
        c.execute(text("DELETE FROM landmatch.inquiry WHERE company = :c"), {"c": company})
    assert tuple(row) == (code, match_id)
    assert w.errors == []


def test_the_quick_match_says_when_only_the_total_investment_is_known(
    live_url: str, watched: Any
) -> None:
    """The map's 为我的项目找地 form takes the fixed-asset investment the 标准地 投资强度 is tested
    with (docs/domain.md §8), and with the total investment alone the list says the check used
    the total (an upper bound) and is 未确认 — the run's warning, which the list dropped."""
    w = watched(viewport=(1440, 900))
    w.page.goto(live_url + "/map")
    w.page.wait_for_function(TILES_DRAWN_JS, timeout=15000)
    w.page.click("#lm-match-box summary")
    w.page.fill("#lm-m-amin", "10")
    w.page.fill("#lm-m-amax", "400")
    w.page.fill("#lm-m-inv", "20000")
    w.page.click("#lm-match button[type=submit]")
    result = w.page.locator("#lm-match-result")
    result.locator("ol").wait_for(timeout=30000)
    notes = result.locator(".lm-match-note").all_inner_texts()
    assert "未填写固定资产投资：标准地投资强度按总投资（固定资产投资的上限）核验，" in "".join(
        notes
    ), notes
    w.page.fill("#lm-m-fixed", "15000")
    with w.page.expect_request(lambda r: r.url.endswith("/api/match")) as sent:
        w.page.click("#lm-match button[type=submit]")  # the list is emptied at once, then
    assert sent.value.post_data_json["fixed_asset_investment_wan"] == 15000
    result.locator("ol").wait_for(timeout=30000)  # rewritten with the new run
    notes = result.locator(".lm-match-note").all_inner_texts()
    assert not [n for n in notes if "未填写固定资产投资" in n], notes
    assert w.errors == []
