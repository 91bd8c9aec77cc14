"""The zone pages of the workbench (issue #14 §5) through the app, without a browser: each page
and form walked as each role, in and out of scope; every write through the zone services with
the version the form was opened at (a stale one shows the conflict), CSRF refused, stored text
shown as text, assessments added, renewed and expired ones shown, the boundary previewed, saved
and read from an uploaded file.

Decided: a zone committee keeps its own zone only (the list sends it to its zone); a bureau the
zones of its city; an admin every zone; promoters and the public have no zone page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import industry_codes
from landmatch.dates import beijing_today
from tests.conftest import sign_in

ROLES = ("public", "admin", "bureau", "zone", "promoter")


def _one(session: Session, sql: str, **params: Any) -> Any:
    return session.execute(text(sql), params).scalar_one()


@pytest.fixture
def zones(session: Session, tokens: dict[str, str]) -> dict[str, str]:
    """The zone user's zone, another zone of 石家庄 (the bureau's city) or of the zone's city,
    and a zone of another city."""
    own = _one(
        session,
        "SELECT z.code FROM landmatch.app_user u JOIN landmatch.dev_zone z ON z.id = u.zone_id "
        "WHERE u.name = 't-zone'",
    )
    own_city = _one(session, "SELECT city_code FROM landmatch.dev_zone WHERE code = :c", c=own)
    sjz = _one(
        session,
        "SELECT code FROM landmatch.dev_zone WHERE city_code = '130100' AND code <> :c "
        "ORDER BY code LIMIT 1",
        c=own,
    )
    other = _one(
        session,
        "SELECT code FROM landmatch.dev_zone WHERE city_code NOT IN ('130100', :k) "
        "ORDER BY code LIMIT 1",
        k=own_city,
    )
    return {"own": own, "own_city": own_city, "sjz": sjz, "other": other}


def _may(role: str, which: str, zones: dict[str, str]) -> bool:
    if role == "admin":
        return True
    if role == "bureau":
        return which == "sjz" or (which == "own" and zones["own_city"] == "130100")
    if role == "zone":
        return which == "own"
    return False


def _version(session: Session, code: str) -> int:
    return int(_one(session, "SELECT version FROM landmatch.dev_zone WHERE code = :c", c=code))


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], role: str
) -> None:
    if role != "public":
        sign_in(client, passwords[role])
    r = client.get("/workbench/zones", follow_redirects=False)
    if role == "public":
        assert r.status_code == 303 and "/workbench/login" in r.headers["location"]
    elif role == "zone":
        assert r.status_code == 303 and r.headers["location"] == f"/workbench/zones/{zones['own']}"
    elif role == "promoter":
        assert r.status_code == 403
    else:
        assert r.status_code == 200
        assert (zones["other"] in r.text) == (role == "admin")
        assert zones["sjz"] in r.text
    for which in ("own", "sjz", "other"):
        for suffix in ("", "/boundary"):
            r = client.get(f"/workbench/zones/{zones[which]}{suffix}", follow_redirects=False)
            if role == "public":
                assert r.status_code == 303
                continue
            expected = 200 if _may(role, which, zones) else 403
            assert r.status_code == expected, (role, which, suffix, r.text[:300])
            if expected == 403:
                assert "<html" in r.text and "无权" in r.text
    nav = client.get("/workbench").text if role != "public" else ""
    assert ('href="/workbench/zones"' in nav) == (role in ("admin", "bureau", "zone"))


@pytest.mark.parametrize("role", ROLES)
def test_writes_as_each_role_and_scope(
    client: TestClient,
    passwords: dict[str, str],
    zones: dict[str, str],
    session: Session,
    role: str,
) -> None:
    """Every form that writes, in and out of scope: done, refused (403, nothing written) or
    sent to sign in."""
    csrf = sign_in(client, passwords[role]) if role != "public" else ""
    for which in ("own", "other"):
        code = zones[which]
        for url, data in [
            (f"/workbench/zones/{code}/contact", {"contact_name": f"招商-{role}"}),
            (f"/workbench/zones/{code}", {"name": f"改名-{role}"}),
            (
                f"/workbench/zones/{code}/assessments",
                {"kind": "ENV", "approved_on": "2025-01-02", "valid_until": "2030-01-01"},
            ),
        ]:
            before = _version(session, code)
            r = client.post(
                url, data={**data, "version": before, "csrf_token": csrf}, follow_redirects=False
            )
            after = _version(session, code)
            if role == "public":
                assert r.status_code == 303 and "/workbench/login" in r.headers["location"]
            elif not _may(role, which, zones):
                assert r.status_code == 403, (role, which, url, r.status_code)
                assert after == before
            else:
                assert r.status_code == 303, (role, which, url, r.text[:500])
                assert after == before + 1


def test_contact_edit_is_versioned_kept_and_conflicts(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    code = zones["own"]
    csrf = sign_in(client, passwords["zone"])
    page = client.get(f"/workbench/zones/{code}")
    assert page.status_code == 200
    version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    r = client.post(
        f"/workbench/zones/{code}/contact",
        data={
            "csrf_token": csrf,
            "version": version,
            "contact_name": "招商服务中心",
            "contact_phone": "0311-8888 6666",
            "reason": "换了电话",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = session.execute(
        text("SELECT contact_name, contact_phone, version FROM landmatch.dev_zone WHERE code = :c"),
        {"c": code},
    ).one()
    assert tuple(row) == ("招商服务中心", "0311-8888 6666", version + 1)
    kept = session.execute(
        text(
            "SELECT actor, reason, row ->> 'contact_phone' FROM landmatch.layer_version "
            "WHERE layer = 'dev_zone' AND record_id = (SELECT id FROM landmatch.dev_zone "
            "WHERE code = :c) ORDER BY id DESC LIMIT 1"
        ),
        {"c": code},
    ).one()
    assert kept[1] == "换了电话" and kept[2] == "0311-8888 6666"
    shown = client.get(r.headers["location"]).text
    assert "招商服务联系方式已保存" in shown and "换了电话" in shown
    # The same form again, opened at the old version: refused with who saved, nothing written.
    stale = client.post(
        f"/workbench/zones/{code}/contact",
        data={"csrf_token": csrf, "version": version, "contact_phone": "110"},
    )
    assert stale.status_code == 200 and "已被他人修改" in stale.text
    assert 'value="110"' in stale.text  # the user's value kept in the form
    saved_at = session.execute(
        text(
            "SELECT at FROM landmatch.layer_version WHERE layer = 'dev_zone' AND record_id = "
            "(SELECT id FROM landmatch.dev_zone WHERE code = :c) ORDER BY id DESC LIMIT 1"
        ),
        {"c": code},
    ).scalar_one()
    beijing = saved_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f"（最近一次保存：t-zone，{beijing:%Y-%m-%d %H:%M}）" in stale.text  # Beijing time
    assert _version(session, code) == version + 1
    # Without the CSRF token: refused.
    r = client.post(
        f"/workbench/zones/{code}/contact",
        data={"version": version + 1, "contact_phone": "120"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert _version(session, code) == version + 1


def test_zone_committee_keeps_its_fields_only(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    code = zones["own"]
    csrf = sign_in(client, passwords["zone"])
    page = client.get(f"/workbench/zones/{code}").text
    assert 'id="f-level"' not in page and 'id="f-kind"' not in page
    v = _version(session, code)
    r = client.post(
        f"/workbench/zones/{code}",
        data={"csrf_token": csrf, "version": v, "name": "x", "level": "national"},
    )
    assert r.status_code == 403 and "level" in r.text
    assert _version(session, code) == v
    # Leading industries: known GB/T 4754 codes only, the message beside the picker.
    r = client.post(
        f"/workbench/zones/{code}",
        data={"csrf_token": csrf, "version": v, "name": "改名区", "leading_industries": ["99"]},
    )
    assert r.status_code == 200 and "未知国民经济行业代码" in r.text
    assert 'id="f-leading_industries-msg"' in r.text
    r = client.post(
        f"/workbench/zones/{code}",
        data={
            "csrf_token": csrf,
            "version": v,
            "name": "改名区",
            "leading_industries": ["34", "3911"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/workbench/zones/{code}").text
    assert "34 通用设备制造业" in page and f"3911 {industry_codes.name('3911')}" in page
    # A code at any level from the picker, letter and all: added in its canonical form.
    r = client.post(
        f"/workbench/zones/{code}",
        data={
            "csrf_token": csrf,
            "version": _version(session, code),
            "name": "改名区",
            "leading_industries": ["34"],
            "add_industry": "C3670",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    held = _one(
        session, "SELECT leading_industries FROM landmatch.dev_zone WHERE code = :c", c=code
    )
    assert held == ["34", "3670"]
    v = _version(session, code)
    r = client.post(
        f"/workbench/zones/{code}",
        data={"csrf_token": csrf, "version": v, "name": "改名区", "add_industry": "C9999"},
    )
    assert r.status_code == 200 and 'id="f-add_industry-msg"' in r.text
    assert _version(session, code) == v


def test_admin_sets_level_and_kind(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    code = zones["other"]
    csrf = sign_in(client, passwords["admin"])
    r = client.post(
        f"/workbench/zones/{code}",
        data={
            "csrf_token": csrf,
            "version": _version(session, code),
            "name": "新名称",
            "level": "provincial",
            "kind": "高新区",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = session.execute(
        text("SELECT name, level, kind FROM landmatch.dev_zone WHERE code = :c"), {"c": code}
    ).one()
    assert tuple(row) == ("新名称", "provincial", "高新区")
    bad = client.post(
        f"/workbench/zones/{code}",
        data={"csrf_token": csrf, "version": _version(session, code), "kind": "不存在"},
    )
    assert bad.status_code == 200 and "取值应为" in bad.text


def test_assessments_added_renewed_and_expired_shown(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    code = zones["own"]
    zid = _one(session, "SELECT id FROM landmatch.dev_zone WHERE code = :c", c=code)
    old = _one(
        session,
        "INSERT INTO landmatch.zone_assessment (zone_id, kind, name, approved_on, valid_until, "
        "doc_no) VALUES (:z, 'FLOOD', '洪水影响评价', '2019-03-01', '2022-03-01', '冀水〔2019〕1号') "
        "RETURNING id",
        z=zid,
    )
    session.flush()
    csrf = sign_in(client, passwords["zone"])
    page = client.get(f"/workbench/zones/{code}").text
    row = re.search(r'<tr[^>]*data-kind="FLOOD" data-state="expired">.*?</tr>', page, re.S)
    assert row and "已过期" in row.group(0) and "冀水〔2019〕1号" in row.group(0)
    renew = client.get(f"/workbench/zones/{code}?renew={old}").text
    assert "续期：洪水影响评价" in renew and f'name="renews" value="{old}"' in renew
    # Expiry before approval: the reason beside the field, nothing written.
    v = _version(session, code)
    data = {
        "csrf_token": csrf,
        "version": v,
        "renews": old,
        "kind": "FLOOD",
        "approved_on": "2026-01-10",
        "valid_until": "2025-01-01",
        "doc_no": "冀水〔2026〕7号",
    }
    bad = client.post(f"/workbench/zones/{code}/assessments", data=data)
    assert bad.status_code == 200 and 'id="f-a-valid_until-msg"' in bad.text
    # In words, beside the field and in the message (it said “早于 approved_on”).
    assert re.search(r'id="f-a-valid_until-msg">早于批复日期<', bad.text)
    assert "approved_on" not in re.sub(r"<[^>]+>", "", bad.text)
    assert _version(session, code) == v
    r = client.post(
        f"/workbench/zones/{code}/assessments",
        data=data | {"valid_until": "2031-01-09"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "区域评估已续期" in client.get(r.headers["location"]).text
    kinds = session.execute(
        text(
            "SELECT valid_until::text, doc_no FROM landmatch.zone_assessment "
            "WHERE zone_id = :z AND kind = 'FLOOD' ORDER BY approved_on"
        ),
        {"z": zid},
    ).all()
    assert [tuple(k) for k in kinds][-2:] == [
        ("2022-03-01", "冀水〔2019〕1号"),
        ("2031-01-09", "冀水〔2026〕7号"),
    ]
    page = client.get(f"/workbench/zones/{code}").text
    assert re.search(r'data-kind="FLOOD" data-state="valid"', page)
    # Delete the expired record with the zone's version.
    r = client.post(
        f"/workbench/zones/{code}/assessments/{old}/delete",
        data={"csrf_token": csrf, "version": _version(session, code)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert not session.execute(
        text("SELECT 1 FROM landmatch.zone_assessment WHERE id = :i"), {"i": old}
    ).first()


def test_zone_parcels_link_to_parcel_pages(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    code = zones["own"]
    sign_in(client, passwords["zone"])
    inside = session.execute(
        text(
            "SELECT p.code FROM landmatch.parcel p JOIN landmatch.dev_zone z ON z.id = p.zone_id "
            "WHERE z.code = :c AND p.deleted_at IS NULL ORDER BY p.code LIMIT 1"
        ),
        {"c": code},
    ).scalar()
    page = client.get(f"/workbench/zones/{code}").text
    if inside is not None:
        assert f'href="/workbench/parcels/{inside}"' in page
    assert f'href="/workbench/parcels?zone={code}"' in page


def test_the_zone_page_shows_its_indicators_as_the_dashboard_ranks_them(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    """The journeys review: a zone committee could see its zone's indicators only as one bar
    of the dashboard's top-20 chart (not at all below 20th), or through the API. Its page
    shows each indicator, its percentile among the city's zones and its rank, the same
    figures as GET /api/monitoring/zones."""

    # The committee's own zone, and (as the admin) the zone with most parcels, which ranks.
    sign_in(client, passwords["zone"])
    _shows_its_indicators(client, session, zones["own"], zones["own_city"])
    busiest, city = session.execute(
        text(
            "SELECT z.code, z.city_code FROM landmatch.dev_zone z JOIN landmatch.parcel p "
            "ON p.zone_id = z.id GROUP BY z.code, z.city_code ORDER BY count(*) DESC LIMIT 1"
        )
    ).one()
    sign_in(client, passwords["admin"])
    assert _shows_its_indicators(client, session, busiest, city) is not None


def _shows_its_indicators(client: TestClient, session: Session, code: str, city: str) -> int | None:
    """Checks the zone page's indicators against the ranking; answers the zone's rank."""
    from landmatch.auth import Principal
    from landmatch.monitoring.zones import KPI_LABELS, zone_kpis

    page = client.get(f"/workbench/zones/{code}").text
    ranking = zone_kpis(session, Principal(name="t", role="admin"), beijing_today(), city)
    mine = next(z for z in ranking["zones"] if z["code"] == code)
    section = re.search(r'<section[^>]*id="kpis".*?</section>', page, re.S)
    assert section, page[:500]
    body = section.group(0)
    for label in KPI_LABELS.values():
        assert label in body
    if mine["rank"] is not None:
        ranked = sum(1 for z in ranking["zones"] if z["rank"] is not None)
        assert f"个有指标的开发区中排第 {mine['rank']} 名" in body and f" {ranked} " in body
    if mine["supply_rate"] is not None:
        assert f"{mine['supply_rate'] * 100:.1f} %" in body
    else:
        assert "—（无数据）" in body
    return mine["rank"]  # type: ignore[no-any-return]


def test_stored_text_is_text(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    payload = "<img src=x onerror=alert(1)>"
    code = zones["own"]
    session.execute(
        text("UPDATE landmatch.dev_zone SET name = :p, contact_name = :p WHERE code = :c"),
        {"p": payload, "c": code},
    )
    session.flush()
    sign_in(client, passwords["admin"])
    for path in (
        "/workbench/zones",
        f"/workbench/zones/{code}",
        f"/workbench/zones/{code}/boundary",
    ):
        html = client.get(path).text
        assert payload not in html, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, path


def _coords(geometry: dict[str, Any], shift: float = 0.0) -> str:
    poly = (
        geometry["coordinates"][0]
        if geometry["type"] == "MultiPolygon"
        else geometry["coordinates"]
    )
    return "\n\n".join("\n".join(f"{x + shift:.8f},{y:.8f}" for x, y in ring[:-1]) for ring in poly)


def _geometry(session: Session, code: str) -> dict[str, Any]:
    return json.loads(
        _one(session, "SELECT ST_AsGeoJSON(geom) FROM landmatch.dev_zone WHERE code = :c", c=code)
    )


def test_boundary_preview_save_and_upload(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    code = zones["own"]
    csrf = sign_in(client, passwords["zone"])
    geometry = _geometry(session, code)
    coords = _coords(geometry)
    page = client.get(f"/workbench/zones/{code}/boundary").text
    assert 'id="f-coords"' in page and "wb-boundary.js" in page
    p = client.post(
        f"/workbench/zones/{code}/boundary/preview", data={"csrf_token": csrf, "coords": coords}
    ).json()
    assert p["problems"] == [] and p["area_mu"] > 0
    bad = client.post(
        f"/workbench/zones/{code}/boundary/preview",
        data={"csrf_token": csrf, "coords": "116.0,39.0\n116.1,39.0"},
    ).json()
    assert bad["problems"]
    # Save the first polygon with a stale version: the conflict; then with the current one.
    v = _version(session, code)
    stale = client.post(
        f"/workbench/zones/{code}/boundary",
        data={"csrf_token": csrf, "version": v - 1 if v > 1 else v + 5, "coords": coords},
    )
    assert stale.status_code == 200 and "已被他人修改" in stale.text
    r = client.post(
        f"/workbench/zones/{code}/boundary",
        data={"csrf_token": csrf, "version": v, "coords": coords, "reason": "勘界"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    assert _version(session, code) == v + 1
    assert (
        _one(
            session,
            "SELECT reason FROM landmatch.layer_version WHERE layer = 'dev_zone' ORDER BY id DESC LIMIT 1",
        )
        == "勘界"
    )
    # Upload: read through the guarded path into the editor, not saved.
    feature = {"type": "Feature", "properties": {}, "geometry": geometry}
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    up = client.post(
        f"/workbench/zones/{code}/boundary/upload",
        data={"csrf_token": csrf},
        files={"file": ("zone.geojson", body, "application/geo+json")},
    )
    assert up.status_code == 200 and "尚未保存" in up.text
    assert _version(session, code) == v + 1
    junk = client.post(
        f"/workbench/zones/{code}/boundary/upload",
        data={"csrf_token": csrf},
        files={"file": ("zone.geojson", b"\x00\x01not json", "application/geo+json")},
    )
    assert junk.status_code == 200 and 'id="f-file-msg"' in junk.text
    # Out of scope: refused.
    other = zones["other"]
    r = client.post(
        f"/workbench/zones/{other}/boundary/preview", data={"csrf_token": csrf, "coords": coords}
    )
    assert r.status_code == 403
    r = client.post(
        f"/workbench/zones/{other}/boundary/upload",
        data={"csrf_token": csrf},
        files={"file": ("zone.geojson", body, "application/geo+json")},
    )
    assert r.status_code == 403


def test_expiring_soon_is_flagged(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    code = zones["own"]
    zid = _one(session, "SELECT id FROM landmatch.dev_zone WHERE code = :c", c=code)
    soon = beijing_today() + dt.timedelta(days=30)
    session.execute(
        text(
            "INSERT INTO landmatch.zone_assessment (zone_id, kind, name, approved_on, valid_until) "
            "VALUES (:z, 'SEISMIC', '地震安全性评价', '2024-01-01', :v)"
        ),
        {"z": zid, "v": soon},
    )
    session.flush()
    sign_in(client, passwords["zone"])
    assert "30 天后到期" in client.get(f"/workbench/zones/{code}").text


def test_a_refused_zone_boundary_keeps_what_was_typed(
    client: TestClient, passwords: dict[str, str], zones: dict[str, str], session: Session
) -> None:
    """As the parcels' boundary page does: text that cannot be read comes back as typed, with
    the reason, not replaced by the stored boundary."""
    import html

    code = zones["own"]
    csrf = sign_in(client, passwords["zone"])
    typed = "114.30 38.20\n114.31 abc\n<b>"
    r = client.post(
        f"/workbench/zones/{code}/boundary",
        data={
            "csrf_token": csrf,
            "version": _version(session, code),
            "coords": typed,
            "reason": "勘界<新>",
        },
    )
    assert r.status_code == 200
    found = re.search(r'<textarea[^>]*id="f-coords"[^>]*>(.*?)</textarea>', r.text, re.S)
    assert found is not None and html.unescape(found.group(1)) == typed
    assert "勘界&lt;新&gt;" in r.text
