"""The constraint-coverage declarations (``/workbench/layers/coverage``) on a 390 px phone, in
real headless Chromium: the table scrolls inside its own box instead of squeezing each
column to a character's width (dates, cities and the 撤销 button broken over several lines)."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import browser_sign_in

ONE_LINE_JS = """() => {
  const lines = (el) => {
    const r = document.createRange();
    r.selectNodeContents(el);
    return new Set(Array.from(r.getClientRects()).map((b) => Math.round(b.top))).size;
  };
  const rows = Array.from(document.querySelectorAll('#coverage tbody tr'));
  return rows.filter((tr) => tr.cells.length === 7).map((tr) => [
    lines(tr.cells[0]), lines(tr.cells[3]), lines(tr.querySelector('button') || tr.cells[6]),
  ]);
}"""


def test_coverage_table_keeps_its_cells_on_one_line_on_a_phone(
    live_url: str, watched: Any, admin_user: str
) -> None:
    w = watched(viewport=(390, 844))
    page = w.page
    page.goto(live_url + "/workbench/layers/coverage")
    browser_sign_in(page, live_url, admin_user)
    page.wait_for_url(re.compile(r"/workbench/layers/coverage$"))
    cells = page.evaluate(ONE_LINE_JS)
    assert cells, "no declarations to show"
    # City, 现势日期 and the 撤销 button each on one line (the table scrolls sideways).
    assert all(c == [1, 1, 1] for c in cells), cells
    # The page itself does not scroll sideways: only the table's own box does.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert w.errors == []


KINDS_ONE_LINE_JS = """() => {
  const lines = (el) => {
    const r = document.createRange();
    r.selectNodeContents(el);
    return new Set(Array.from(r.getClientRects()).map((b) => Math.round(b.top))).size;
  };
  return Array.from(document.querySelectorAll('#records tbody tr'))
    .filter((tr) => tr.cells.length === 7)
    .map((tr) => [lines(tr.cells[2]), lines(tr.cells[3]), lines(tr.cells[6])]);
}"""


def test_facility_records_keep_kind_city_and_time_on_one_line(
    live_url: str, watched: Any, admin_user: str
) -> None:
    """/workbench/layers?layer=facility at 1280 px: 类型, 城市 and 更新时间 are not crushed to a
    character a line beside the long codes and sources."""
    w = watched(viewport=(1280, 900))
    page = w.page
    page.goto(live_url + "/workbench/layers?layer=facility")
    browser_sign_in(page, live_url, admin_user)
    page.wait_for_url(re.compile(r"/workbench/layers\?layer=facility$"))
    cells = page.evaluate(KINDS_ONE_LINE_JS)
    assert cells, "no facilities to show"
    assert all(c == [1, 1, 1] for c in cells), [c for c in cells if c != [1, 1, 1]][:5]
    assert w.errors == []
