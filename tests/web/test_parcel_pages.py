"""The inventory pages of the workbench (issue #14 §2) through the app, without a browser:
every page and form walked as each role, scope refused beside it (a bureau's other city, a
zone committee's other zone), CSRF refused, stored text shown as text, and the behaviour of
the list (filters, sort, count, paging, export), bulk actions, the edit form (errors beside
the field, the conflict screen and re-applying), history, restore and deleted parcels.

Decided per page (README "Workbench"): list, parcel page and history are readable by every
staff role within its scope (promoters: every city, read only); edit, boundary, delete,
restore, bulk and new parcels by admins, bureaus (their city) and zone committees (their
zone); the public is sent to sign in.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import auth, configured, sign_in

ROLES = ("public", "admin", "bureau", "zone", "promoter")
EDITORS = ("admin", "bureau", "zone")


def _one(session: Session, sql: str, **params: Any) -> Any:
    return session.execute(text(sql), params).scalar_one()


@pytest.fixture
def codes(session: Session, tokens: dict[str, str]) -> dict[str, str]:
    """Parcels in and out of each scope: 石家庄 (the bureau's city) inside the zone user's
    zone and outside it, and one of 唐山 (another city)."""
    zone_id = _one(session, "SELECT zone_id FROM landmatch.app_user WHERE name = 't-zone'")
    zone_city = _one(session, "SELECT city_code FROM landmatch.dev_zone WHERE id = :z", z=zone_id)
    return {
        "own": _one(
            session,
            "SELECT code FROM landmatch.parcel WHERE city_code = '130100' AND deleted_at IS NULL "
            "AND (zone_id IS NULL OR zone_id <> :z) ORDER BY code LIMIT 1",
            z=zone_id,
        ),
        "other_city": _one(
            session,
            "SELECT code FROM landmatch.parcel WHERE city_code = '130200' AND deleted_at IS NULL "
            "AND (zone_id IS NULL OR zone_id <> :z) ORDER BY code LIMIT 1",
            z=zone_id,
        ),
        "zone": _one(
            session,
            "SELECT code FROM landmatch.parcel WHERE zone_id = :z AND deleted_at IS NULL "
            "ORDER BY code LIMIT 1",
            z=zone_id,
        ),
        "zone_city": zone_city,
    }


def _may_read(role: str, which: str, codes: dict[str, str]) -> bool:
    if role in ("admin", "promoter"):
        return True
    if role == "bureau":
        return which == "own" or (which == "zone" and codes["zone_city"] == "130100")
    return which == "zone"  # zone committee


def _may_edit(role: str, which: str, codes: dict[str, str]) -> bool:
    return role != "promoter" and _may_read(role, which, codes)


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], role: str
) -> None:
    if role != "public":
        sign_in(client, passwords[role])
    for path, allowed in [
        ("/workbench/parcels", ("admin", "bureau", "zone", "promoter")),
        ("/workbench/parcels?deleted=1", ("admin", "bureau", "zone", "promoter")),
        ("/workbench/parcels-qa", ("admin", "bureau", "zone", "promoter")),
        ("/workbench/parcels/new", EDITORS),
    ]:
        r = client.get(path, follow_redirects=False)
        if role == "public":
            assert r.status_code == 303 and r.headers["location"].startswith("/workbench/login")
        else:
            assert r.status_code == (200 if role in allowed else 403), (role, path)
    for which in ("own", "other_city", "zone"):
        code = codes[which]
        for suffix, rule in (
            ("", _may_read),
            ("/history", _may_read),
            ("/edit", _may_edit),
            ("/boundary", _may_edit),
        ):
            r = client.get(f"/workbench/parcels/{code}{suffix}", follow_redirects=False)
            if role == "public":
                assert r.status_code == 303, (code, suffix)
                continue
            expected = 200 if rule(role, which, codes) else 403
            assert r.status_code == expected, (role, which, suffix, r.text[:300])
            if expected == 403:
                assert "<html" in r.text and "无权" in r.text


def test_the_zone_is_named_on_the_parcel_page_and_the_edit_form(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    """The committee reads its zone's name beside the code (it read htz-…, a bare code)."""
    zone_code, zone_name = session.execute(
        text(
            "SELECT z.code, z.name FROM landmatch.parcel p JOIN landmatch.dev_zone z "
            "ON z.id = p.zone_id WHERE p.code = :c"
        ),
        {"c": codes["zone"]},
    ).one()
    sign_in(client, passwords["zone"])
    shown = f"{zone_name}（{zone_code}）"
    page = client.get(f"/workbench/parcels/{codes['zone']}").text
    assert f'data-field="zone_code">{shown}</dd>' in page
    form = client.get(f"/workbench/parcels/{codes['zone']}/edit").text
    assert f'id="f-zone_code" value="{shown}" readonly' in form


def test_a_field_the_reader_may_not_read_says_so(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    """The committee does not read the parcel's contact phone (landmatch.confidential): the
    page says who does, where it showed “—” as if none were recorded; the admin reads it."""
    session.execute(
        text("UPDATE landmatch.parcel SET contact_phone = '13900001111' WHERE code = :c"),
        {"c": codes["zone"]},
    )
    sign_in(client, passwords["zone"])
    page = client.get(f"/workbench/parcels/{codes['zone']}").text
    assert 'data-field="contact_phone">仅所在城市的自然资源部门可见</dd>' in page
    assert "13900001111" not in page
    sign_in(client, passwords["admin"])
    page = client.get(f"/workbench/parcels/{codes['zone']}").text
    assert 'data-field="contact_phone">13900001111</dd>' in page


def _csrf_and_version(client: TestClient, code: str) -> tuple[str, int]:
    page = client.get(f"/workbench/parcels/{code}/edit")
    assert page.status_code == 200, page.text[:300]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    return csrf, version


@pytest.mark.parametrize("role", ROLES)
def test_writes_as_each_role_and_scope(
    client: TestClient,
    passwords: dict[str, str],
    codes: dict[str, str],
    session: Session,
    role: str,
) -> None:
    """Every form that writes, as each role, on a parcel in and out of its scope: refused
    (403) or done; the public is sent to sign in; nothing is written when refused."""
    csrf = sign_in(client, passwords[role]) if role != "public" else ""
    for which in ("own", "other_city", "zone"):
        code = codes[which]
        before = _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code)
        forms = [
            (f"/workbench/parcels/{code}/edit", {"version": before, "name": f"改名-{role}"}),
            (f"/workbench/parcels/{code}/delete", {"version": before, "reason": "walk"}),
            (
                f"/workbench/parcels/{code}/restore",
                {"current": before, "version": 1, "reason": "w"},
            ),
            (
                "/workbench/parcels/bulk",
                {"action": "unpublish", "reason": "walk", "sel": f'{code}|"{code}.v{before}"'},
            ),
        ]
        for url, data in forms:
            r = client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
            after = _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code)
            if role == "public":
                assert r.status_code == 303 and "/workbench/login" in r.headers["location"]
            elif not _may_edit(role, which, codes):
                refused = r.status_code == 403 or (
                    url.endswith("/bulk") and "未执行" in _flash(client, r)
                )
                assert refused, (role, which, url, r.status_code)
                assert after == before, (role, which, url)
            else:
                assert r.status_code in (200, 303), (role, which, url, r.text[:300])
            before = after


def _flash(client: TestClient, r: httpx.Response) -> str:
    """The flash message the redirect ``r`` carries (shown on the page it leads to)."""
    if r.status_code != 303:
        return r.text
    return client.get(r.headers["location"]).text


def test_unsafe_requests_need_the_csrf_token(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    sign_in(client, passwords["bureau"])
    code = codes["own"]
    _, version = _csrf_and_version(client, code)
    for url, data in [
        (f"/workbench/parcels/{code}/edit", {"version": version, "name": "无令牌"}),
        (f"/workbench/parcels/{code}/delete", {"version": version, "reason": "x"}),
        (f"/workbench/parcels/{code}/restore", {"current": version, "version": 1, "reason": "x"}),
        ("/workbench/parcels/bulk", {"action": "publish", "reason": "x", "sel": code}),
        (f"/workbench/parcels/{code}/boundary/preview", {"version": version}),
        (f"/workbench/parcels/{code}/boundary", {"version": version}),
        ("/workbench/parcels/new", {"code": "X-CSRF-1"}),
    ]:
        r = client.post(url, data=data, follow_redirects=False)
        assert r.status_code == 403, (url, r.status_code)
    assert _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code) == version


def test_stored_text_is_text(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    payload = "<img src=x onerror=alert(1)>"
    code = codes["own"]
    session.execute(
        text("UPDATE landmatch.parcel SET name = :p, notes = :p, holder = :p WHERE code = :c"),
        {"p": payload, "c": code},
    )
    session.flush()
    sign_in(client, passwords["bureau"])
    for path in (
        f"/workbench/parcels?q={code}",
        f"/workbench/parcels/{code}",
        f"/workbench/parcels/{code}/edit",
        f"/workbench/parcels/{code}/history",
        f"/workbench/parcels/{code}/boundary",
        "/workbench",
    ):
        html = client.get(path).text
        assert payload not in html, path
        if path != "/workbench":
            assert "&lt;img src=x onerror=alert(1)&gt;" in html, path


def test_list_filters_sort_count_and_paging(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    sign_in(client, passwords["bureau"])
    n_city = _one(
        session,
        "SELECT count(*) FROM landmatch.parcel WHERE city_code = '130100' AND deleted_at IS NULL",
    )
    first = client.get("/workbench/parcels")
    assert f"共 {n_city:,} 条" in first.text
    # Only the bureau's city, even when another is asked for: refused.
    assert client.get("/workbench/parcels?city=130200").status_code == 403
    expected = _one(
        session,
        "SELECT count(*) FROM landmatch.parcel WHERE city_code = '130100' AND deleted_at IS NULL "
        "AND status = 'ready' AND land_use = '100102' AND area_m2 BETWEEN 30 * 10000 / 15.0 "
        "AND 200 * 10000 / 15.0",
    )
    r = client.get(
        "/workbench/parcels?status=ready&land_use=100102&area_min=30&area_max=200&sort=area&desc=1"
    )
    assert f"共 {expected:,} 条" in r.text
    areas = [
        float(a.replace(",", "")) for a in re.findall(r'class="text-end">([\d,.]+)</td>', r.text)
    ]
    assert areas == sorted(areas, reverse=True) and all(30 <= a <= 200 for a in areas)
    # A deep page shows rows in the same order as the whole sorted set.
    ordered = list(
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE city_code = '130100' "
                "AND deleted_at IS NULL ORDER BY code"
            )
        ).scalars()
    )
    offset = (len(ordered) // 50 - 1) * 50
    deep = client.get(f"/workbench/parcels?offset={offset}")
    shown = re.findall(r'<a href="/workbench/parcels/([^"/?]+)">', deep.text)
    assert shown[:50] == ordered[offset : offset + 50]
    # Sorted by a column with empty values, descending: a page past the middle (read from the
    # other end) is the same rows as the whole sorted set's, empty dates last.
    session.execute(
        text(
            "UPDATE landmatch.parcel SET data_updated_on = NULL WHERE id IN (SELECT id FROM "
            "landmatch.parcel WHERE city_code = '130100' ORDER BY code DESC LIMIT 80)"
        )
    )
    session.flush()
    by_date = list(
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE city_code = '130100' "
                "AND deleted_at IS NULL ORDER BY data_updated_on DESC NULLS LAST, code DESC"
            )
        ).scalars()
    )
    for off in (0, offset - 50, offset):
        got = client.get(f"/workbench/parcels?sort=data&desc=1&offset={off}").text
        assert (
            re.findall(r'<a href="/workbench/parcels/([^"/?]+)">', got)[:50]
            == by_date[off : off + 50]
        )
    # QA and data-age filters count what the QA checks flag.
    stale = client.get("/workbench/parcels?age=stale")
    assert stale.status_code == 200 and "共 " in stale.text
    assert client.get("/workbench/parcels?status=nonsense").status_code == 400


def test_qa_filter_matches_the_qa_check(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    from landmatch.auth import Principal
    from landmatch.inventory.qa import run_checks

    sign_in(client, passwords["bureau"])
    bureau = Principal(name="t", role="bureau", city_code="130100")
    checks = run_checks(session, bureau, only={"ready_checklist", "slivers"}, limit=100000)
    for check in checks["checks"]:
        r = client.get(f"/workbench/parcels?qa={check['id']}")
        assert f"共 {check['count']:,} 条" in r.text, check["id"]


def test_export_is_exactly_the_filtered_set(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    sign_in(client, passwords["bureau"])
    want = set(
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE city_code = '130100' "
                "AND deleted_at IS NULL AND status = 'idle'"
            )
        ).scalars()
    )
    r = client.get("/workbench/parcels/export?status=idle&format=xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content))["熟地清单"]
    header = [c.value for c in ws[1]]
    col = header.index("地块编号")
    got = {row[col] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert got == want and want
    geo = client.get("/workbench/parcels/export?status=idle&format=geojson").json()
    assert {f["id"] for f in geo["features"]} == want
    txt = client.get("/workbench/parcels/export?status=idle&format=txt&encoding=GBK&gk_zone=38")
    assert txt.status_code == 200
    shp = client.get("/workbench/parcels/export?status=idle&format=shp")
    assert {n.rsplit(".", 1)[1] for n in zipfile.ZipFile(io.BytesIO(shp.content)).namelist()} >= {
        "shp",
        "dbf",
        "cpg",
    }


def test_a_committees_export_names_its_zone_county_and_check(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    """The 说明 sheet's 导出范围 of a zone committee's export says the zone's name, the county's
    and the QA check's title (it said “开发区 17”, “县区 130108”, “质检问题 stale_utilities”)."""
    zone, county, county_name = session.execute(
        text(
            "SELECT z.name, p.county_code, d.name FROM landmatch.parcel p "
            "JOIN landmatch.dev_zone z ON z.id = p.zone_id "
            "JOIN landmatch.admin_division d ON d.code = p.county_code WHERE p.code = :c"
        ),
        {"c": codes["zone"]},
    ).one()
    sign_in(client, passwords["zone"])
    r = client.get(f"/workbench/parcels/export?format=xlsx&county={county}&qa=stale_utilities")
    assert r.status_code == 200, r.text[:300]
    notes = dict(load_workbook(io.BytesIO(r.content))["说明"].iter_rows(values_only=True))
    scope = str(notes["导出范围"])
    assert f"县区 {county_name}（{county}）" in scope, scope
    assert f"开发区 {zone}" in scope and "质检问题 市政配套数据过期" in scope, scope


def test_bulk_publish_in_one_transaction(
    client: TestClient, passwords: dict[str, str], session: Session, codes: dict[str, str]
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    rows = session.execute(
        text(
            "SELECT code, version FROM landmatch.parcel WHERE city_code = '130100' "
            "AND deleted_at IS NULL AND visibility = 'internal' AND status = 'ready' "
            "ORDER BY code LIMIT 3"
        )
    ).all()
    sel = [f'{c}|"{c}.v{v}"' for c, v in rows]
    # One stale ETag: nothing is written at all.
    stale = [*sel[:2], f'{rows[2][0]}|"{rows[2][0]}.v{rows[2][1] - 1}"']
    r = client.post(
        "/workbench/parcels/bulk",
        data={"csrf_token": csrf, "action": "publish", "reason": "批量公开", "sel": stale},
    )
    assert "批量操作未执行" in r.text
    codes_ = [c for c, _ in rows]
    assert set(
        session.execute(
            text("SELECT visibility FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": codes_}
        ).scalars()
    ) == {"internal"}
    # Without a reason: refused too.
    r = client.post(
        "/workbench/parcels/bulk",
        data={"csrf_token": csrf, "action": "publish", "reason": "", "sel": sel},
    )
    assert "须填写原因" in r.text
    r = client.post(
        "/workbench/parcels/bulk",
        data={"csrf_token": csrf, "action": "publish", "reason": "批量公开", "sel": sel},
    )
    assert "已将 3 宗地块设为公开" in r.text
    after = session.execute(
        text(
            "SELECT p.visibility, p.version, v.reason FROM landmatch.parcel p "
            "JOIN landmatch.parcel_version v ON v.parcel_id = p.id AND v.version = p.version "
            "WHERE p.code = ANY(:c)"
        ),
        {"c": codes_},
    ).all()
    assert {(a[0], a[2]) for a in after} == {("public", "批量公开")}
    assert sorted(a[1] for a in after) == sorted(v + 1 for _, v in rows)
    # Out of scope in the same selection: nothing written.
    other = _one(
        session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=codes["other_city"]
    )
    r = client.post(
        "/workbench/parcels/bulk",
        data={
            "csrf_token": csrf,
            "action": "status",
            "status": "idle",
            "reason": "越权",
            "sel": [
                sel[0].replace(f'v{rows[0][1]}"', f'v{rows[0][1] + 1}"'),
                f'{codes["other_city"]}|"{codes["other_city"]}.v{other}"',
            ],
        },
    )
    assert "未执行" in r.text and "无权" in r.text
    assert (
        _one(session, "SELECT status FROM landmatch.parcel WHERE code = :c", c=codes_[0]) == "ready"
    )


def test_bulk_api_endpoint(
    client: TestClient, tokens: dict[str, str], session: Session, codes: dict[str, str]
) -> None:
    code = codes["own"]
    v = _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code)
    vis = _one(session, "SELECT visibility FROM landmatch.parcel WHERE code = :c", c=code)
    flipped = "public" if vis == "internal" else "internal"
    body = {
        "items": [{"code": code, "etag": f'"{code}.v{v}"'}],
        "visibility": flipped,
        "reason": "API 批量",
    }
    assert client.post("/api/parcels/bulk", json=body).status_code == 401
    assert (
        client.post("/api/parcels/bulk", json=body, headers=auth(tokens["promoter"])).status_code
        == 403
    )
    r = client.post("/api/parcels/bulk", json=body, headers=auth(tokens["bureau"]))
    assert r.status_code == 200, r.text
    assert r.json()["etags"] == {code: f'"{code}.v{v + 1}"'}
    stale = client.post("/api/parcels/bulk", json=body, headers=auth(tokens["bureau"]))
    assert stale.status_code == 412


def test_edit_form_errors_beside_the_field_then_saved(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]
    _, version = _csrf_and_version(client, code)
    bad = client.post(
        f"/workbench/parcels/{code}/edit",
        data={
            "csrf_token": csrf,
            "version": version,
            "far_min": "3",
            "far_max": "1.5",
            "height_max_m": "abc",
        },
    )
    assert bad.status_code == 200
    # The message sits beside its field (the same text the API gives).
    api = client.patch(
        f"/api/parcels/{code}",
        json={"height_max_m": "abc"},
        headers={"If-Match": f'"{code}.v{version}"', "X-CSRF-Token": csrf},
    )
    assert api.status_code == 422
    reason = next(e["reason"] for e in api.json()["errors"] if e["field"] == "height_max_m")
    block = re.search(r'id="f-height_max_m-msg">([^<]+)<', bad.text)
    assert block and block.group(1) == reason
    assert 'value="abc"' in bad.text  # what was typed is kept
    ok = client.post(
        f"/workbench/parcels/{code}/edit",
        data={
            "csrf_token": csrf,
            "version": version,
            "height_max_m": "45",
            "declared_area_mu": "12.5",
            "supply_modes__present": "1",
            "supply_modes": ["auction", "long_lease"],
            "reason": "核实规划条件",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    row = session.execute(
        text(
            "SELECT height_max_m, declared_area_m2, supply_modes, version FROM landmatch.parcel "
            "WHERE code = :c"
        ),
        {"c": code},
    ).one()
    assert float(row[0]) == 45 and abs(row[1] - 12.5 * 10000 / 15) < 1e-6
    assert sorted(row[2]) == ["auction", "long_lease"] and row[3] == version + 1
    assert "已保存" in client.get(ok.headers["location"]).text


def test_a_save_names_what_the_validation_warned_of(
    client: TestClient,
    passwords: dict[str, str],
    codes: dict[str, str],
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The edit form applies the API's minimum price rule (docs/domain.md §10) and says what it
    found: a 成交价 below the national floor is saved, and the page the save leads to says so
    beside 已保存 (it said only 已保存, the warning lost)."""

    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]
    _, version = _csrf_and_version(client, code)
    with configured(monkeypatch, LANDMATCH_INDUSTRIAL_PRICE_GRADES='{"130100": 5}'):
        ok = client.post(
            f"/workbench/parcels/{code}/edit",
            data={
                "csrf_token": csrf,
                "version": version,
                "land_use": "100102",
                "lease_years": "50",
                "land_price_wan": "1",
            },
            follow_redirects=False,
        )
    assert ok.status_code == 303, ok.text[:500]
    assert _one(session, "SELECT land_price_wan FROM landmatch.parcel WHERE code = :c", c=code) == 1
    page = client.get(ok.headers["location"]).text
    assert "已保存，请核实：成交价(万元)：成交价 1 万元（合 " in page, page[:3000]
    assert "低于全国工业用地出让最低价标准（第 5 等 384 元/平方米" in page


def test_a_boundary_save_names_what_the_validation_warned_of(
    client: TestClient,
    passwords: dict[str, str],
    codes: dict[str, str],
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new boundary changes the 亩 a 成交价 is spread over: saved, with the minimum price
    warning beside 边界已保存 (it said only that)."""

    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]
    session.execute(
        text(
            "UPDATE landmatch.parcel SET land_use = '100102', lease_years = 50, "
            "land_price_wan = 1 WHERE code = :c"
        ),
        {"c": code},
    )
    session.flush()
    version = _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code)
    x, y = _one(
        session,
        "SELECT ARRAY[ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))] "
        "FROM landmatch.parcel WHERE code = :c",
        c=code,
    )
    with configured(monkeypatch, LANDMATCH_INDUSTRIAL_PRICE_GRADES='{"130100": 5}'):
        ok = client.post(
            f"/workbench/parcels/{code}/boundary",
            data={
                "csrf_token": csrf,
                "version": version,
                "coords": _square(x - 0.001, y - 0.001),
                "reason": "测绘成果",
            },
            follow_redirects=False,
        )
    assert ok.status_code == 303, ok.text[:500]
    page = client.get(ok.headers["location"]).text
    assert "边界已保存，请核实：成交价(万元)：成交价 1 万元（合 " in page, page[:3000]


def test_the_declared_area_is_said_in_mu_on_the_edit_form(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str]
) -> None:
    """The declared area is typed in 亩 (stored in m²): the range beside its field and its
    refusals are in 亩, every range is written with thousands separators (never 1e+09), and
    the other fields' problems are still reported with it."""
    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]
    _, version = _csrf_and_version(client, code)
    form = client.get(f"/workbench/parcels/{code}/edit").text
    ranges = dict(re.findall(r'class="form-text" id="f-([a-z0-9_]+)-msg">([^<]+)<', form))
    assert ranges["declared_area_mu"] == "0–1,500,000"
    assert ranges and not [r for r in ranges.values() if "e+" in r], ranges

    def refused(area: str) -> str:
        r = client.post(
            f"/workbench/parcels/{code}/edit",
            data={
                "csrf_token": csrf,
                "version": version,
                "declared_area_mu": area,
                "height_max_m": "abc",
            },
        )
        assert r.status_code == 200 and f'value="{area}"' in r.text
        assert re.search(r'id="f-height_max_m-msg">[^<]+<', r.text)
        msg = re.search(r'id="f-declared_area_mu-msg"[^>]*>([^<]+)<', r.text)
        assert msg, r.text[:300]
        return msg.group(1)

    assert refused("二十") == "申报面积（亩）：“二十”不是数字"
    assert refused("-5") == "申报面积应在 0–1,500,000 亩之间（填写的是“-5”）"


def test_conflict_screen_and_reapply(
    client: TestClient,
    passwords: dict[str, str],
    codes: dict[str, str],
    session: Session,
    tokens: dict[str, str],
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]
    _, version = _csrf_and_version(client, code)
    # Someone else saves in between (through the API, as another user).
    other = client.patch(
        f"/api/parcels/{code}",
        json={"address": "他人修改的坐落", "reason": "他人的修改"},
        headers={**auth(tokens["admin"]), "If-Match": f'"{code}.v{version}"'},
    )
    assert other.status_code == 200, other.text
    r = client.post(
        f"/workbench/parcels/{code}/edit",
        data={
            "csrf_token": csrf,
            "version": version,
            "holder": "我填的用地单位",
            "address": "我填的坐落",
            "declared_area_mu": "1,234.5",
            "reason": "我的修改",
        },
    )
    assert r.status_code == 200 and 'id="conflict"' in r.text
    # The area typed in 亩 with a thousands separator is read as such, not shown raw.
    assert "1,234.50 亩（823,000.0 平方米）" in r.text
    assert "t-admin" in r.text and "他人的修改" in r.text
    assert "他人修改的坐落" in r.text and "我填的坐落" in r.text and "我填的用地单位" in r.text
    reapply = re.search(
        r'<form method="post" action="[^"]+/edit" id="reapply-form">(.*?)</form>', r.text, re.S
    )
    assert reapply
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', reapply.group(1)))
    assert fields["version"] == str(version + 1) and fields["holder"] == "我填的用地单位"
    done = client.post(f"/workbench/parcels/{code}/edit", data=fields, follow_redirects=False)
    assert done.status_code == 303
    row = session.execute(
        text("SELECT holder, address, version FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).one()
    assert tuple(row) == ("我填的用地单位", "我填的坐落", version + 2)


def test_history_restore_and_deleted_parcels(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]
    _, v = _csrf_and_version(client, code)
    client.post(
        f"/workbench/parcels/{code}/edit",
        data={"csrf_token": csrf, "version": v, "lease_years": "40", "reason": "年限调整"},
    )
    page = client.get(f"/workbench/parcels/{code}/history").text
    assert "年限调整" in page and "出让年限" in page and "→" in page
    # Restore the version before, with a reason, against the current version.
    r = client.post(
        f"/workbench/parcels/{code}/restore",
        data={"csrf_token": csrf, "current": v + 1, "version": v, "reason": "撤销年限调整"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code) == v + 2
    # A stale restore is refused with who saved meanwhile.
    stale = client.post(
        f"/workbench/parcels/{code}/restore",
        data={"csrf_token": csrf, "current": v, "version": v, "reason": "过期"},
    )
    assert "未恢复" in stale.text
    # Delete, find it among the deleted, restore it.
    client.post(
        f"/workbench/parcels/{code}/delete",
        data={"csrf_token": csrf, "version": v + 2, "reason": "重复录入"},
    )
    assert code not in client.get(f"/workbench/parcels?q={code}").text.split("<tbody>")[1]
    listed = client.get(f"/workbench/parcels?deleted=1&q={code}").text
    assert f"/workbench/parcels/{code}/history" in listed
    hist = client.get(f"/workbench/parcels/{code}/history").text
    assert 'id="undelete-form"' in hist and "重复录入" in hist
    current = int(re.search(r'name="current" value="(\d+)"', hist).group(1))  # type: ignore[union-attr]
    back = client.post(
        f"/workbench/parcels/{code}/restore",
        data={"csrf_token": csrf, "current": current, "reason": "误删恢复"},
        follow_redirects=False,
    )
    assert back.status_code == 303
    assert _one(session, "SELECT deleted_at IS NULL FROM landmatch.parcel WHERE code = :c", c=code)


def test_home_counts_link_to_the_list(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    sign_in(client, passwords["bureau"])
    html = client.get("/workbench").text
    n = _one(
        session,
        "SELECT count(*) FROM landmatch.parcel WHERE city_code = '130100' AND deleted_at IS NULL "
        "AND status = 'idle'",
    )
    assert re.search(rf'href="/workbench/parcels\?status=idle">闲置</a><span>{n:,} 宗', html)
    qa = client.get("/workbench/parcels-qa", headers={"HX-Request": "true"}).text
    assert "<html" not in qa and "<html" in client.get("/workbench/parcels-qa").text
    assert 'href="/workbench/parcels?qa=ready_checklist"' in qa


def _square(lon: float, lat: float, d: float = 0.002) -> str:
    return f"{lon},{lat}\n{lon + d},{lat}\n{lon + d},{lat + d}\n{lon},{lat + d}"


def _typed(page: str) -> str:
    """The coordinates textarea's text, unescaped."""
    import html

    found = re.search(r'<textarea[^>]*id="f-coords"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "no coordinates field"
    return html.unescape(found.group(1))


def test_a_refused_boundary_keeps_what_was_typed(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]
    version = _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code)
    # Text that cannot be read, and a ring outside Hebei: the text and the reason as typed.
    for typed in ("114.30 38.20\n114.31 abc\n<b>", _square(100.0, 30.0)):
        r = client.post(
            f"/workbench/parcels/{code}/boundary",
            data={
                "csrf_token": csrf,
                "version": version,
                "coords": typed,
                "reason": "按测绘<成果>",
            },
        )
        assert r.status_code == 200 and 'id="f-coords-msg"' in r.text
        assert _typed(r.text) == typed
        assert 'id="f-reason" name="reason" type="text" value="按测绘&lt;成果&gt;"' in r.text
    # A new parcel whose coordinates cannot be read: the text and the fields as typed.
    r = client.post(
        "/workbench/parcels/new",
        data={
            "csrf_token": csrf,
            "code": "SJZ-WB-TYPED-1",
            "name": "坐标有误的新地块",
            "coords": "114.52,38.05\n114.53,北纬38度",
            "reason": "新建",
        },
    )
    assert r.status_code == 200 and 'id="f-coords-msg"' in r.text
    assert _typed(r.text) == "114.52,38.05\n114.53,北纬38度"
    assert 'value="SJZ-WB-TYPED-1"' in r.text and 'value="新建"' in r.text


def test_a_self_intersecting_boundary_is_saved_with_the_repair_its_refusal_names(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    """A bow-tie typed on the boundary page is refused with "可选择“自动修复”后重试": the
    page has that option, and with it the boundary is saved repaired, the flash saying what
    the repair did."""
    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]
    version, x0, y0, x1, y1 = session.execute(
        text(
            "SELECT version, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM landmatch.parcel WHERE code = :c"
        ),
        {"c": code},
    ).one()
    bowtie = f"{x0},{y0}\n{x1},{y1}\n{x1},{y0}\n{x0},{y1}"
    data = {"csrf_token": csrf, "version": version, "coords": bowtie, "reason": "按测绘成果"}
    r = client.post(f"/workbench/parcels/{code}/boundary", data=data)
    assert r.status_code == 200 and "自相交" in r.text and "可选择“自动修复”后重试" in r.text
    assert re.search(r'<label class="form-check-label" for="f-repair">自动修复', r.text)
    r = client.post(
        f"/workbench/parcels/{code}/boundary",
        data=data | {"repair": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    flash = client.get(r.headers["location"]).text
    assert re.search(r"边界已保存，请核实：[^<]*已自动修复", flash)
    valid, now = session.execute(
        text("SELECT ST_IsValid(geom), version FROM landmatch.parcel WHERE code = :c"),
        {"c": code},
    ).one()
    assert valid and now == version + 1


def test_a_boundary_out_of_the_committees_zone_is_refused_beside_the_map(
    client: TestClient, passwords: dict[str, str], tokens: dict[str, str], session: Session
) -> None:
    """The journeys review: a zone committee's boundary placed outside its zone (a new parcel,
    or its parcel moved) answered the 403 error page, and the code, name and coordinates
    typed were gone. The refusal is said beside the map, with everything as typed; nothing
    is written."""
    zone, lon, lat = session.execute(
        text(
            "SELECT z.code, ST_X(ST_PointOnSurface(z.geom)), ST_Y(ST_PointOnSurface(z.geom)) "
            "FROM landmatch.app_user u JOIN landmatch.dev_zone z ON z.id = u.zone_id "
            "WHERE u.name = :n"
        ),
        {"n": passwords["zone"]},
    ).one()
    # A parcel of the committee's zone (made by the admin), to move.
    inside = {
        "type": "Feature",
        "properties": {"code": "ZONE-WB-IN-1", "name": "区内地块", "land_use": "100101"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [lon, lat],
                    [lon + 0.0005, lat],
                    [lon + 0.0005, lat + 0.0005],
                    [lon, lat + 0.0005],
                    [lon, lat],
                ]
            ],
        },
    }
    made = client.post("/api/parcels", json=inside, headers=auth(tokens["admin"]))
    assert made.status_code == 201, made.text
    csrf = sign_in(client, passwords["zone"])
    # In the zone's city, away from the zone and from every parcel.
    x, y = session.execute(
        text(
            "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_PointOnSurface(ST_Difference(c.geom, "
            "ST_Union(ST_Buffer(z.geom, 0.02), COALESCE((SELECT ST_Buffer(ST_Union(p.geom), 0.01) "
            "FROM landmatch.parcel p WHERE p.city_code = z.city_code), z.geom)))) AS g "
            "FROM landmatch.dev_zone z JOIN landmatch.admin_division c ON c.code = z.city_code "
            "WHERE z.code = :z) q"
        ),
        {"z": zone},
    ).one()
    far = _square(x, y, 0.001)  # in the zone's city, outside the committee's zone
    r = client.post(
        "/workbench/parcels/new",
        data={
            "csrf_token": csrf,
            "code": "ZONE-WB-OUT-1",
            "name": "区外的新地块",
            "coords": far,
            "reason": "新建",
        },
    )
    assert r.status_code == 200, r.text[:300]
    said = re.search(r'id="f-coords-msg">([^<]*)<', r.text)
    assert said and "边界应在本账号的城市或开发区范围内" in said.group(1)
    assert _typed(r.text) == far and 'value="ZONE-WB-OUT-1"' in r.text
    assert not _one(session, "SELECT count(*) FROM landmatch.parcel WHERE code = 'ZONE-WB-OUT-1'")
    version = _one(session, "SELECT version FROM landmatch.parcel WHERE code = 'ZONE-WB-IN-1'")
    r = client.post(
        "/workbench/parcels/ZONE-WB-IN-1/boundary",
        data={"csrf_token": csrf, "version": version, "coords": far, "reason": "挪到区外"},
    )
    assert r.status_code == 200, r.text[:300]
    said = re.search(r'id="f-coords-msg">([^<]*)<', r.text)
    assert said and "边界应在本账号的城市或开发区范围内" in said.group(1)
    assert _typed(r.text) == far and 'value="挪到区外"' in r.text
    assert (
        _one(session, "SELECT version FROM landmatch.parcel WHERE code = 'ZONE-WB-IN-1'") == version
    )
    assert zone  # the committee's own zone was found
    # A parcel the committee may not edit at all stays the error page.
    outside = _one(
        session,
        "SELECT p.code FROM landmatch.parcel p LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id "
        "WHERE z.code IS DISTINCT FROM :z AND p.deleted_at IS NULL ORDER BY p.code LIMIT 1",
        z=zone,
    )
    r = client.post(
        f"/workbench/parcels/{outside}/boundary",
        data={"csrf_token": csrf, "version": 1, "coords": far},
    )
    assert r.status_code == 403


def test_a_boundary_saved_as_it_was_opened_writes_nothing(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    """Saving the boundary page without moving a vertex said 边界已保存 (and wrote a
    version): now 边界未改变 and nothing is written, also for the same ring typed from
    another vertex the other way round; a boundary that did change is saved as before."""
    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]

    def state() -> tuple[int, int]:
        version, versions = session.execute(
            text(
                "SELECT p.version, (SELECT count(*) FROM landmatch.parcel_version v "
                "WHERE v.parcel_id = p.id) FROM landmatch.parcel p WHERE p.code = :c"
            ),
            {"c": code},
        ).one()
        return int(version), int(versions)

    before = state()
    page = client.get(f"/workbench/parcels/{code}/boundary")
    assert page.status_code == 200, page.text[:300]
    opened = _typed(page.text)
    lines = opened.split("\n\n")[0].splitlines()
    turned = "\n".join(reversed(lines[1:] + lines[:1]))
    for typed in (opened, turned):
        r = client.post(
            f"/workbench/parcels/{code}/boundary",
            data={"csrf_token": csrf, "version": before[0], "coords": typed, "reason": "未动"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:500]
        shown = client.get(r.headers["location"]).text
        assert "边界未改变" in shown and "边界已保存" not in shown
        assert state() == before
    if "\n\n" not in opened:  # one ring: a vertex moved by 0.0001° is a change
        x, y = (float(v) for v in lines[0].split(","))
        moved = "\n".join([f"{x + 0.0001:.8f},{y:.8f}", *lines[1:]])
        r = client.post(
            f"/workbench/parcels/{code}/boundary",
            data={"csrf_token": csrf, "version": before[0], "coords": moved},
            follow_redirects=False,
        )
        assert r.status_code == 303 and "边界已保存" in client.get(r.headers["location"]).text
        assert state() == (before[0] + 1, before[1] + 1)


def test_boundary_preview_save_and_new_parcels(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    code = codes["own"]
    # A neighbour's outline as the new boundary: the preview shows the overlap with it, the
    # ellipsoidal area, and no problem; nothing is written.
    other, x0, y0, x1, y1 = session.execute(
        text(
            "SELECT b.code, ST_XMin(b.geom), ST_YMin(b.geom), ST_XMax(b.geom), ST_YMax(b.geom) "
            "FROM landmatch.parcel a JOIN landmatch.parcel b ON b.city_code = a.city_code "
            "AND b.code <> a.code AND b.deleted_at IS NULL WHERE a.code = :c ORDER BY b.code "
            "LIMIT 1"
        ),
        {"c": code},
    ).one()
    coords = f"{x0},{y0}\n{x1},{y0}\n{x1},{y1}\n{x0},{y1}"
    version = _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code)
    r = client.post(
        f"/workbench/parcels/{code}/boundary/preview",
        data={"csrf_token": csrf, "coords": coords},
    )
    body = r.json()
    assert body["problems"] == [] and other in {o["code"] for o in body["overlaps"]}
    expected = _one(
        session,
        "SELECT ST_Area(ST_MakeEnvelope(:a, :b, :c, :d, 4490)::geography, true)",
        a=x0,
        b=y0,
        c=x1,
        d=y1,
    )
    assert abs(body["area_m2"] - expected) < 0.01
    assert _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code) == version
    # A ring outside Hebei: the problem is named, not saved.
    bad = client.post(
        f"/workbench/parcels/{code}/boundary",
        data={"csrf_token": csrf, "version": version, "coords": _square(100.0, 30.0)},
    )
    assert bad.status_code == 200 and 'id="f-coords-msg"' in bad.text
    # Saved: the stored area is the ellipsoidal one the preview gave.
    ok = client.post(
        f"/workbench/parcels/{code}/boundary",
        data={"csrf_token": csrf, "version": version, "coords": coords, "reason": "测绘成果"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert (
        abs(
            _one(session, "SELECT area_m2 FROM landmatch.parcel WHERE code = :c", c=code) - expected
        )
        < 0.01
    )
    # A stale version: refused with who saved meanwhile, the typed boundary kept on the page.
    stale = client.post(
        f"/workbench/parcels/{code}/boundary",
        data={"csrf_token": csrf, "version": version, "coords": _square(114.5, 38.0)},
    )
    assert "未保存" in stale.text and _typed(stale.text) == _square(114.5, 38.0)
    # A new parcel from typed coordinates (inside 石家庄), then one read from a GeoJSON file.
    new = client.post(
        "/workbench/parcels/new",
        data={
            "csrf_token": csrf,
            "code": "SJZ-WB-NEW-1",
            "name": "工作台新建地块",
            "land_use": "100101",
            "status": "unsupplied",
            "visibility": "internal",
            "coords": _square(114.52, 38.05),
        },
        follow_redirects=False,
    )
    assert new.status_code == 303, new.text[:500]
    assert (
        _one(session, "SELECT city_code FROM landmatch.parcel WHERE code = 'SJZ-WB-NEW-1'")
        == "130100"
    )
    feature: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "x"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [114.53, 38.05],
                            [114.532, 38.05],
                            [114.532, 38.052],
                            [114.53, 38.052],
                            [114.53, 38.05],
                        ]
                    ],
                },
            }
        ],
    }
    import json

    up = client.post(
        "/workbench/parcels/new/upload",
        data={"csrf_token": csrf},
        files={"file": ("one.geojson", json.dumps(feature).encode())},
    )
    assert (
        up.status_code == 200
        and "已读入文件中的边界" in up.text
        and "114.53000000,38.05000000" in up.text
    )
    two = {"type": "FeatureCollection", "features": feature["features"] * 2}
    many = client.post(
        f"/workbench/parcels/{code}/boundary/upload",
        data={"csrf_token": csrf},
        files={"file": ("two.geojson", json.dumps(two).encode())},
    )
    assert many.status_code == 200 and 'id="f-file-msg"' in many.text and "2 个地块" in many.text
    # Out of scope (a bureau creating in another city): refused beside the map with what was
    # typed, nothing written.
    out = client.post(
        "/workbench/parcels/new",
        data={
            "csrf_token": csrf,
            "code": "TS-WB-NEW-1",
            "name": "唐山",
            "land_use": "100101",
            "coords": _square(118.2, 39.63),
        },
    )
    assert out.status_code == 200 and "边界应在本账号的城市或开发区范围内" in out.text
    assert 'value="TS-WB-NEW-1"' in out.text
    assert (
        session.execute(text("SELECT 1 FROM landmatch.parcel WHERE code = 'TS-WB-NEW-1'")).first()
        is None
    )


def _legacy_write(session: Session, code: str, sets: str) -> int:
    """A write outside the edit path (an old import), as a version; the new version."""
    session.execute(
        text(
            "SELECT set_config('landmatch.actor', 'legacy-import', true), "
            "set_config('landmatch.reason', '旧数据', true)"
        )
    )
    session.execute(text(f"UPDATE landmatch.parcel SET {sets} WHERE code = :c"), {"c": code})
    session.flush()
    return int(_one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code))


def test_a_restore_from_the_history_page_is_an_edit(
    client: TestClient, passwords: dict[str, str], codes: dict[str, str], session: Session
) -> None:
    """The history page's restore is the API's: a zone committee restoring a version whose
    底价 differs gets the 403 page naming it, nothing written; a bureau restoring a version
    today's validation refuses is sent back to the history with the reason, nothing written."""
    code = codes["zone"]
    old = _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code)
    now = _legacy_write(session, code, "reserve_price_wan_per_mu = 88.8")
    csrf = sign_in(client, passwords["zone"])
    r = client.post(
        f"/workbench/parcels/{code}/restore",
        data={"csrf_token": csrf, "current": now, "version": old, "reason": "恢复"},
        follow_redirects=False,
    )
    assert r.status_code == 403, r.text[:300]
    assert f"无权恢复到版本 {old}：该版本的底价(万元/亩)与当前不同" in r.text
    assert _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code) == now

    code = codes["own"]
    bad = _legacy_write(session, code, "land_use = '100102', lease_years = 70")
    now = _legacy_write(session, code, "lease_years = 50")
    client.cookies.clear()
    csrf = sign_in(client, passwords["bureau"])
    r = client.post(
        f"/workbench/parcels/{code}/restore",
        data={"csrf_token": csrf, "current": now, "version": bad, "reason": "恢复"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith(f"/{code}/history")
    page = client.get(r.headers["location"]).text
    assert (
        f"不能恢复到版本 {bad}：该版本的出让年限不符合现行校验规则"
        "（出让年限 70 年超过工业用地最高 50 年），未做任何更改"
    ) in page
    assert _one(session, "SELECT version FROM landmatch.parcel WHERE code = :c", c=code) == now


def test_a_new_parcel_gets_its_county_from_its_location(
    client: TestClient, passwords: dict[str, str], tokens: dict[str, str], session: Session
) -> None:
    """A parcel drawn in the workbench was saved with no 县区 although its city came from its
    location: the county it lies in is filled in from the county layer, as the city is; a
    county the staff chose is kept."""
    csrf = sign_in(client, passwords["bureau"])
    lon, lat = 114.52, 38.05
    county, other = session.execute(
        text(
            "SELECT (SELECT code FROM landmatch.admin_division WHERE level = 'county' "
            "AND ST_Contains(geom, ST_PointOnSurface(ST_MakeEnvelope(:x, :y, :x + 0.002, "
            ":y + 0.002, 4490)))), (SELECT code FROM landmatch.admin_division "
            "WHERE level = 'county' AND parent_code = '130100' AND NOT ST_Intersects(geom, "
            "ST_MakeEnvelope(:x, :y, :x + 0.002, :y + 0.002, 4490)) ORDER BY code LIMIT 1)"
        ),
        {"x": lon, "y": lat},
    ).one()
    assert county and other

    def new(code: str) -> None:
        data = {
            "csrf_token": csrf,
            "code": code,
            "name": "工作台新建地块",
            "land_use": "100101",
            "coords": _square(lon, lat),
        }
        r = client.post("/workbench/parcels/new", data=data, follow_redirects=False)
        assert r.status_code == 303, r.text[:500]

    new("SJZ-WB-COUNTY-1")
    # A county given (the API's create; the edit form afterwards) is kept.
    ring = [[lon, lat], [lon + 0.002, lat], [lon + 0.002, lat + 0.002], [lon, lat + 0.002]]
    made = client.post(
        "/api/parcels",
        json={
            "type": "Feature",
            "properties": {
                "code": "SJZ-WB-COUNTY-2",
                "name": "县区已选",
                "land_use": "100101",
                "county_code": other,
            },
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        },
        headers=auth(tokens["bureau"]),
    )
    assert made.status_code == 201, made.text
    got: dict[str, str | None] = dict(
        session.execute(
            text("SELECT code, county_code FROM landmatch.parcel WHERE code LIKE 'SJZ-WB-COUNTY-%'")
        ).all()
    )
    assert got == {"SJZ-WB-COUNTY-1": county, "SJZ-WB-COUNTY-2": other}
    page = client.get("/workbench/parcels/SJZ-WB-COUNTY-1").text
    name = _one(session, "SELECT name FROM landmatch.admin_division WHERE code = :c", c=county)
    assert name in page


def _options(page: str, name: str) -> list[str]:
    """The values a filter's select offers (none: the select is not on the page)."""
    found = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S)
    return re.findall(r'<option value="(\w+)"', found.group(0)) if found else []


def test_list_filters_offer_only_the_accounts_scope(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """A zone committee's parcel list offered every city of the province in its city filter,
    and every county: it is offered no city (its list is its zone's) and its zone's city's
    counties; a city bureau likewise no city and its own counties; an admin every city."""
    zone_city = _one(
        session,
        "SELECT z.city_code FROM landmatch.dev_zone z JOIN landmatch.app_user u "
        "ON u.zone_id = z.id WHERE u.name = :n",
        n=passwords["zone"],
    )
    counties = {
        city: [
            r[0]
            for r in session.execute(
                text(
                    "SELECT code FROM landmatch.admin_division WHERE level = 'county' "
                    "AND parent_code = :c ORDER BY code"
                ),
                {"c": city},
            )
        ]
        for city in (zone_city, "130100")
    }
    for role, city in (("zone", zone_city), ("bureau", "130100")):
        sign_in(client, passwords[role])
        page = client.get("/workbench/parcels").text
        assert _options(page, "city") == [], role
        assert _options(page, "county") == counties[city] and counties[city], role
        client.cookies.clear()
    sign_in(client, passwords["admin"])
    assert len(_options(client.get("/workbench/parcels").text, "city")) == 13
