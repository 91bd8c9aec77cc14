"""User text that scripts render reads in the order it was typed: the bidirectional controls
(U+202E and the rest, ``landmatch.display.BIDI_CONTROLS``) are taken out by one helper,
``LMF.text`` (web/static/app/format.js), as the templates' ``finalize`` takes them out of the
pages. A facility named ``设施报价单<U+202E>fdp.exe`` showed in the map's tooltip as
``设施报价单exe.pdf``; a parcel so named in the search list likewise. Checked in Chromium on
the public map, with the names committed (the live server reads them) and restored after."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from landmatch.display import BIDI_CONTROLS

FORMAT_JS = Path(__file__).parents[2] / "web" / "static" / "app" / "format.js"
TYPED = "报价单\u202efdp.exe"
SHOWN = "报价单fdp.exe"


def test_the_scripts_take_out_the_same_characters_as_the_pages() -> None:
    """format.js's class is display.BIDI_CONTROLS written as JavaScript escapes."""
    found = re.search(r"var BIDI = /\[([^\]]*)\]/g;", FORMAT_JS.read_text(encoding="utf-8"))
    assert found, "format.js has no BIDI class"
    js = "".join(c if c == "-" else f"\\u{ord(c):04x}" for c in BIDI_CONTROLS)
    assert found.group(1) == js


@pytest.fixture
def named(engine: Engine, public_parcel: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The public parcel and its nearest facility renamed with U+202E (committed)."""
    code = public_parcel["code"]
    with Session(engine) as s, s.begin():
        old_parcel = s.execute(
            text("SELECT name FROM landmatch.parcel WHERE code = :c"), {"c": code}
        ).scalar_one()
        fid, old_facility, lat, lon = s.execute(
            text(
                "SELECT f.id, f.name, ST_Y(f.geom), ST_X(f.geom) FROM landmatch.facility f, "
                "landmatch.parcel p WHERE p.code = :c ORDER BY f.geom <-> p.geom LIMIT 1"
            ),
            {"c": code},
        ).one()
        s.execute(
            text("UPDATE landmatch.parcel SET name = :n WHERE code = :c"),
            {"n": "地块" + TYPED, "c": code},
        )
        s.execute(
            text("UPDATE landmatch.facility SET name = :n WHERE id = :i"),
            {"n": "设施" + TYPED, "i": fid},
        )
    yield {"code": code, "facility": {"lat": lat, "lon": lon}}
    with Session(engine) as s, s.begin():
        s.execute(
            text("UPDATE landmatch.parcel SET name = :n WHERE code = :c"),
            {"n": old_parcel, "c": code},
        )
        s.execute(
            text("UPDATE landmatch.facility SET name = :n WHERE id = :i"),
            {"n": old_facility, "i": fid},
        )


def test_a_name_with_u202e_reads_in_order_in_the_map_popup(
    live_url: str, watched: Any, named: dict[str, Any]
) -> None:
    w = watched()
    w.page.goto(live_url + "/map")
    w.page.wait_for_load_state("networkidle")
    f = named["facility"]
    w.page.evaluate(f"LM.map.setView([{f['lat']}, {f['lon']}], 16, {{animate: false}})")
    w.page.wait_for_load_state("networkidle")
    shown = w.page.evaluate(
        """() => {
          let found = null;
          LM.layers.facilities.eachLayer(m => {
            const t = m.getTooltip && m.getTooltip();
            const c = t && t.getContent();
            const s = c && (c.textContent !== undefined ? c.textContent : String(c));
            if (s && s.indexOf('fdp.exe') >= 0) found = m;
          });
          if (!found) return null;
          found.openTooltip();
          return {
            tooltip: document.querySelector('.leaflet-tooltip').textContent,
            title: found.getElement() ? found.getElement().getAttribute('title') : null,
          };
        }"""
    )
    assert shown is not None, "no facility tooltip names the renamed facility"
    for said in (shown["tooltip"], shown["title"]):  # 变电站：设施报价单fdp.exe（位置为近似）
        assert "设施" + SHOWN in said and "\u202e" not in said, shown
    # The parcel in the search list (built by the script) and on its card (the server's).
    w.page.fill("#lm-q", named["code"])
    w.page.click("#lm-search button[type=submit]")
    hit = w.page.locator("#lm-hits li").first
    hit.wait_for(timeout=10000)
    assert "地块" + SHOWN in hit.inner_text() and "\u202e" not in hit.inner_text()
    hit.click()
    w.page.locator("#lm-card h2").wait_for(timeout=10000)
    card = w.page.inner_text("#lm-card")
    assert "地块" + SHOWN in card and "\u202e" not in card
    assert w.errors == []
