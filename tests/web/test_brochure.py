"""The 地块推介书 (issue #18 item 7): a location map with the places around and the nearest
facilities drawn, the distances to port, airport, rail freight and highway interchange, the
zone's 招商 contact, a short policy summary (values where the parcel alone gives one, the rest
as one line), data dates shown plainly, an HTML page for a missing brochure, and an A4 PDF of
at most two pages."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from landmatch.dates import beijing_today
from landmatch.geo.measure import M2_PER_MU
from landmatch.match.policy_values import estimate, parcel_estimate
from landmatch.match.requirements import Requirement
from landmatch.policies.applicability import from_row
from tests.web.html import section

KINDS = ("port", "airport", "rail_freight", "highway_interchange")


def _zone_parcel(db: Any, order: str = "p.code") -> str:
    """A public ready parcel in a zone that has a 招商 contact."""
    return str(
        db.execute(
            text(
                "SELECT p.code FROM landmatch.parcel p JOIN landmatch.dev_zone z ON z.id = p.zone_id "
                "WHERE p.status = 'ready' AND p.visibility = 'public' AND p.deleted_at IS NULL "
                "AND p.ref_price_wan_per_mu IS NOT NULL AND z.contact_name IS NOT NULL "
                f"ORDER BY {order} LIMIT 1"
            )
        ).scalar_one()
    )


def test_location_map_distances_and_the_zones_contact(client: Any, session: Session) -> None:
    code = _zone_parcel(session)
    r = client.get(f"/parcels/{code}/brochure")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = html.unescape(r.text)
    fact = (
        session.execute(
            text(
                "SELECT f.* FROM landmatch.parcel_fact f JOIN landmatch.parcel p ON p.id = f.parcel_id "
                "WHERE p.code = :c"
            ),
            {"c": code},
        )
        .mappings()
        .one()
    )
    distances = section(page, "distances")
    location = section(page, "location-map")
    assert "本地块" in location
    for kind in KINDS:
        # The nearest facility of the kind, found here independently of the brochure's code.
        name = session.execute(
            text(
                "SELECT f.name FROM landmatch.facility f, landmatch.parcel p WHERE p.code = :c "
                "AND f.kind = :k ORDER BY ST_Distance(f.geom::geography, p.geom::geography) LIMIT 1"
            ),
            {"c": code, "k": kind},
        ).scalar_one()
        km = f"{fact[f'dist_{kind}_km']:,.1f} 公里"  # the match's figure
        assert km in distances and name in distances, (kind, km, name)
        assert name in location  # drawn and labelled on the location map
    # The places around are named on the map: at least the parcel's own county.
    county = session.execute(
        text(
            "SELECT a.name FROM landmatch.admin_division a JOIN landmatch.parcel p "
            "ON p.county_code = a.code WHERE p.code = :c"
        ),
        {"c": code},
    ).scalar_one()
    assert f">{county}</text>" in location
    name, phone = session.execute(
        text(
            "SELECT z.contact_name, z.contact_phone FROM landmatch.dev_zone z "
            "JOIN landmatch.parcel p ON p.zone_id = z.id WHERE p.code = :c"
        ),
        {"c": code},
    ).one()
    contact = section(page, "contact")
    assert name in contact and phone in contact


def test_data_dates_are_shown_plainly(client: Any, session: Session, settings: Any) -> None:
    old = beijing_today() - dt.timedelta(days=settings.stale_after_days + 30)
    code, updated = session.execute(
        text(
            "SELECT code, data_updated_on FROM landmatch.parcel WHERE status = 'ready' "
            "AND visibility = 'public' AND deleted_at IS NULL AND data_updated_on IS NOT NULL "
            "ORDER BY code LIMIT 1"
        )
    ).one()
    session.execute(
        text("UPDATE landmatch.parcel SET power_kva = 8000, power_as_of = :d WHERE code = :c"),
        {"d": old, "c": code},
    )
    page = client.get(f"/parcels/{code}/brochure").text
    assert f"数据更新于 {updated.isoformat()}" in page
    assert f'8,000 kVA <span class="muted">（截至 {old.isoformat()}）</span>' in page
    assert "过期" not in page and "stale" not in page


def test_policy_summary_values_what_the_parcel_alone_allows(client: Any, session: Session) -> None:
    code = _zone_parcel(session)
    card = client.get(f"/api/parcels/{code}/card").json()
    page = html.unescape(client.get(f"/parcels/{code}/brochure").text)
    summary = section(page, "policies")
    valued = [p for p in card["policies"] if p["value_wan"] is not None]
    rest = [p for p in card["policies"] if p["value_wan"] is None]
    assert valued and rest
    # The city's land-price discount: 10 % of the reference price × the area, by hand.
    price, area_m2 = session.execute(
        text("SELECT ref_price_wan_per_mu, area_m2 FROM landmatch.parcel WHERE code = :c"),
        {"c": code},
    ).one()
    land = next(p for p in valued if p["benefit_kind"] == "land_price_discount")
    assert land["value_wan"] == pytest.approx(round(0.1 * float(price) * area_m2 / M2_PER_MU, 2))
    assert "总投资不低于 10,000 万元" in land["value_conditions"]
    for p in valued:
        assert p["title"] in summary and f"{p['value_wan']:,.2f} 万元" in summary
    # The rest is one line: how many, by kind — none of their texts.
    assert f"另有 {len(rest)} 项政策" in summary
    assert not any(p["summary"] and p["summary"] in summary for p in rest)
    assert summary.count("<tr>") == len(valued)


def test_the_parcel_value_is_the_matchs_value(session: Session) -> None:
    """One definition: what the brochure gives a policy is what the match gives it for a
    project that meets its conditions."""
    row = (
        session.execute(
            text(
                "SELECT * FROM landmatch.policy WHERE benefit_kind = 'land_price_discount' LIMIT 1"
            )
        )
        .mappings()
        .one()
    )
    pol = from_row(row)
    alone = parcel_estimate(pol, 39.1, 82.19)
    project = Requirement(industry="34", investment_wan=20_000)
    assert (
        alone.value_wan
        == estimate(pol, project, 39.1, 82.19).value_wan
        == pytest.approx(round(float(row["benefit_rate"]) * 39.1 * 82.19, 2))
    )
    # Awards to an enterprise's achievement or qualification get no value from a parcel.
    award = (
        session.execute(
            text("SELECT * FROM landmatch.policy WHERE conditions ? 'requires' LIMIT 1")
        )
        .mappings()
        .one()
    )
    assert parcel_estimate(from_row(award), 39.1, 82.19).value_wan is None


@pytest.mark.parametrize("suffix", ["", ".pdf"])
def test_a_missing_brochure_is_a_page(client: Any, session: Session, suffix: str) -> None:
    idle = session.execute(
        text("SELECT code FROM landmatch.parcel WHERE status = 'idle' LIMIT 1")
    ).scalar_one()
    for code in ("NO-SUCH-PARCEL", idle):
        r = client.get(f"/parcels/{code}/brochure{suffix}")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        assert "未找到地块推介书" in r.text and 'href="/map"' in r.text and code in r.text


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def test_the_pdf_is_a4_and_at_most_two_pages(live_url: str, engine: Engine) -> None:
    with engine.connect() as c:
        # A typical parcel, and the one of the longest text among those in zones.
        codes = [
            _zone_parcel(c),
            _zone_parcel(c, "length(p.name) + length(coalesce(p.address, '')) DESC, p.code"),
        ]
    for code in codes:
        pdf = httpx.get(f"{live_url}/parcels/{code}/brochure.pdf", timeout=120)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert 1 <= _pages(pdf.content) <= 2, code
        sizes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)", pdf.content)
        assert sizes and all(
            abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in sizes
        ), sizes  # A4 in points
