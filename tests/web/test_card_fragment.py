"""The parcel card is rendered once (issue #19 item 3): web/templates/_parcel_card.html holds
its sections; the map's card (GET /parcels/{code}/card.html, put in the panel by landmatch.js)
and the 地块推介书 both render them from the same card dict, with the JSON card's visibility."""

from __future__ import annotations

import html
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import auth
from tests.web.html import section

HOSTILE = "<img src=x onerror=alert(1)>\"'&"


def _zone_parcel(session: Session) -> str:
    """A public ready standard-land parcel in a zone with assessments: every section filled."""
    return str(
        session.execute(
            text(
                "SELECT p.code FROM landmatch.parcel p WHERE p.status = 'ready' "
                "AND p.visibility = 'public' AND p.deleted_at IS NULL AND p.zone_id IS NOT NULL "
                "ORDER BY p.is_standard_land DESC, p.code LIMIT 1"
            )
        ).scalar_one()
    )


def test_the_map_card_and_the_brochure_render_the_same_sections(
    client: TestClient, session: Session
) -> None:
    code = _zone_parcel(session)
    card = client.get(f"/api/parcels/{code}/card").json()
    fragment = client.get(f"/parcels/{code}/card.html")
    assert fragment.status_code == 200
    assert fragment.headers["content-type"].startswith("text/html")
    brochure = client.get(f"/parcels/{code}/brochure").text
    for ident in ("key", "conditions", "zone", "contact"):
        assert section(fragment.text, ident) == section(brochure, ident), ident
    conditions = section(fragment.text, "conditions")
    assert conditions.count("<tr>") >= 4 and "容积率" in conditions
    assert "所在开发区" in fragment.text and card["zone"]["label"] in html.unescape(fragment.text)
    # The highlight's geometry comes with the fragment: one request.
    attr = re.search(r'data-geometry="([^"]*)"', fragment.text)
    assert attr and json.loads(html.unescape(attr.group(1))) == card["geometry"]
    # The links and, for an investor, 我有意向.
    assert f'href="/parcels/{code}/brochure"' in fragment.text
    assert f'href="/parcels/{code}/brochure.pdf"' in fragment.text
    assert f'data-lm-inquiry="{code}"' in fragment.text
    assert "<script" not in fragment.text and not re.search(r"<[^>]*\son\w+=", fragment.text)


def test_the_map_card_follows_the_json_cards_visibility(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    code = _zone_parcel(session)
    public = client.get(f"/parcels/{code}/card.html").text
    assert "内部信息" not in public and "lm-internal" not in public
    staff = client.get(f"/parcels/{code}/card.html", headers=auth(tokens["promoter"])).text
    # The history is the workbench's page, and the visibility a word (it was the API's JSON
    # and the code “public”/“internal”).
    assert "内部信息" in staff and f'href="/workbench/parcels/{code}/history"' in staff
    assert "<th>可见性</th><td>公开</td>" in staff
    assert "data-lm-inquiry" not in staff  # staff do not inquire
    idle = session.execute(
        text("SELECT code FROM landmatch.parcel WHERE status = 'idle' LIMIT 1")
    ).scalar_one()
    hidden = client.get(f"/parcels/{idle}/card.html")
    assert hidden.status_code == 404 and hidden.json()["detail"]  # the script shows the message
    shown = client.get(f"/parcels/{idle}/card.html", headers=auth(tokens["promoter"]))
    assert shown.status_code == 200 and "内部信息" in shown.text
    assert "<th>可见性</th><td>内部</td>" in shown.text and ">internal<" not in shown.text


def test_a_hostile_parcel_name_is_text_in_the_card_and_the_brochure(
    client: TestClient, session: Session
) -> None:
    code = _zone_parcel(session)
    session.execute(
        text("UPDATE landmatch.parcel SET name = :n, address = :n WHERE code = :c"),
        {"n": HOSTILE, "c": code},
    )
    for path in (f"/parcels/{code}/card.html", f"/parcels/{code}/brochure"):
        page = client.get(path).text
        assert "<img" not in page and "onerror=alert(1)>" not in page, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, path
        assert HOSTILE in html.unescape(page), path
    fragment = client.get(f"/parcels/{code}/card.html").text
    name = re.search(r'data-lm-name="([^"]*)"', fragment)
    assert name and html.unescape(name.group(1)) == HOSTILE


def _planning(page: str) -> str:
    """The text of the conditions' 规划条件 row."""
    row = re.search(r"<th>规划条件</th><td>(.*?)</td>", section(page, "conditions"), re.S)
    assert row, "no 规划条件 row"
    return html.unescape(row.group(1)).strip()


def test_the_planning_conditions_list_only_what_the_parcel_sets(
    client: TestClient, session: Session
) -> None:
    """An unset condition is left out of the card and the brochure (it read “建筑系数 ≥未知%”
    and “限高 未知 米”); a FAR with one bound shows that bound; none at all reads 未提供."""
    code = _zone_parcel(session)
    session.execute(
        text(
            "UPDATE landmatch.parcel SET far_min = 1.2, far_max = NULL, density_max = 55, "
            "building_coeff_min = NULL, green_ratio_max = NULL, height_max_m = NULL "
            "WHERE code = :c"
        ),
        {"c": code},
    )
    for path in (f"/parcels/{code}/card.html", f"/parcels/{code}/brochure"):
        page = client.get(path).text
        assert _planning(page) == "容积率 ≥1.2；建筑密度 ≤55%", path
        assert "未知" not in section(page, "conditions") + section(page, "key"), path
    session.execute(
        text("UPDATE landmatch.parcel SET far_min = NULL, density_max = NULL WHERE code = :c"),
        {"c": code},
    )
    for path in (f"/parcels/{code}/card.html", f"/parcels/{code}/brochure"):
        page = client.get(path).text
        assert _planning(page) == "未提供", path
        assert "未知" not in section(page, "key"), path


def test_the_staff_card_says_which_fields_its_reader_may_not_read(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    """A promoter does not read the 底价 or the contact's phone (landmatch.confidential): the
    card says who does, where it said “底价 未知 万元/亩” as if none were set; the admin reads
    both."""
    code = _zone_parcel(session)
    session.execute(
        text(
            "UPDATE landmatch.parcel SET reserve_price_wan_per_mu = 33.5, contact_name = '王工', "
            "contact_phone = '13900002222' WHERE code = :c"
        ),
        {"c": code},
    )
    promoter = client.get(f"/parcels/{code}/card.html", headers=auth(tokens["promoter"])).text
    internal = section(promoter, "internal")
    assert '<th>底价</th><td><span class="muted">仅所在城市的自然资源部门可见</span>' in internal
    assert "王工" in internal and "（电话仅所在城市的自然资源部门可见）" in internal
    assert "底价</th><td>未知" not in internal and "13900002222" not in promoter
    assert "33.5" not in internal
    admin = section(
        client.get(f"/parcels/{code}/card.html", headers=auth(tokens["admin"])).text, "internal"
    )
    assert "<th>底价</th><td>33.50 万元/亩</td>" in admin and "13900002222" in admin
    assert "仅所在城市" not in admin


def test_the_cards_policies_say_where_they_apply_by_name(
    client: TestClient, session: Session
) -> None:
    """A zone parcel's card lists its city's and its zone's policies by the place's name
    (石家庄市, the zone's name), not the bare level 市 / 开发区."""
    code = _zone_parcel(session)
    city, zone = session.execute(
        text(
            "SELECT p.city_code, z.name FROM landmatch.parcel p JOIN landmatch.dev_zone z "
            "ON z.id = p.zone_id WHERE p.code = :c"
        ),
        {"c": code},
    ).one()
    from landmatch import vocab

    policies = client.get(f"/api/parcels/{code}/card").json()["policies"]
    places = {p["scope_level"]: p["scope_place"] for p in policies}
    assert places.get("city") == vocab.CITIES[city] and places.get("zone") == zone, places
    fragment = client.get(f"/parcels/{code}/card.html").text
    for place in (vocab.CITIES[city], html.escape(zone)):
        assert f"{place}·" in fragment or f'<div class="sub">{place}' in fragment, place
