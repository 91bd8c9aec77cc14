"""The admin pages of the policy library and the reference layers (issue #14 §5) through the
app: walked as each role; the policy Excel and layer files uploaded through the guarded path
with the CLI's reports (the summary line; row, field and reason in Chinese; the change report);
coverage declared and withdrawn; out-of-scope writes refused; CSRF refused; text stays text.

Decided: admins and bureaus (within their city, as the services rule) keep both; zone
committees and promoters have no page here; the public is sent to sign in.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.policies.excel import summary
from tests.conftest import sign_in
from tests.web.test_layer_preview import import_file, upload
from tests.zones.test_policies import _xlsx

ROLES = ("public", "admin", "bureau", "zone", "promoter")
KEEPERS = ("admin", "bureau")
# A zone committee keeps its zone's policies (library.can_edit_policy), in the workbench too.
POLICY_KEEPERS = (*KEEPERS, "zone")

GOOD_ROW = [
    "wb-p-1",
    "设备补助",
    "石家庄市工信局",
    "石工信〔2025〕3号",
    "2025-01-01",
    "2030-12-31",
    "市",
    "130100",
    "34、35",
    "资金补助",
    "15%",
    300,
    None,
    None,
    "设备投入15%补助",
    "是",
]


def _facility(code: str, city: str, lon: float, lat: float, name: str = "测试变电站") -> bytes:
    feature = {
        "type": "Feature",
        "properties": {"code": code, "name": name, "kind": "变电站", "city_code": city},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(
    client: TestClient, passwords: dict[str, str], session: Session, role: str
) -> None:
    if role != "public":
        sign_in(client, passwords[role])
    policy = session.execute(
        text("SELECT code FROM landmatch.policy ORDER BY code LIMIT 1")
    ).scalar()
    paths = [
        "/workbench/policies",
        "/workbench/policies?expired=1&q=补助",
        "/workbench/policies/import",
        f"/workbench/policies/{policy}",
        "/workbench/layers",
        "/workbench/layers?layer=facility&city=130100",
        "/workbench/layers?layer=constraint_area&city=",
        "/workbench/layers/coverage",
    ]
    for path in paths:
        r = client.get(path, follow_redirects=False)
        keepers = POLICY_KEEPERS if path.startswith("/workbench/policies") else KEEPERS
        if role == "public":
            assert r.status_code == 303 and "/workbench/login" in r.headers["location"], path
        else:
            assert r.status_code == (200 if role in keepers else 403), (role, path)
    if role != "public":
        nav = client.get("/workbench").text
        assert ('href="/workbench/policies"' in nav) == (role in POLICY_KEEPERS)
        assert ('href="/workbench/layers"' in nav) == (role in KEEPERS)


@pytest.mark.parametrize("role", ROLES)
def test_uploads_as_each_role(
    client: TestClient, passwords: dict[str, str], session: Session, role: str
) -> None:
    """The two uploads as each role: done within scope (the report), refused outside it."""
    csrf = sign_in(client, passwords[role]) if role != "public" else ""
    r = client.post(
        "/workbench/policies/import",
        data={"csrf_token": csrf, "dry_run": "1"},
        files={"file": ("p.xlsx", _xlsx([GOOD_ROW]), "application/octet-stream")},
        follow_redirects=False,
    )
    if role == "public":
        assert r.status_code == 303
    elif role in KEEPERS:
        assert r.status_code == 200 and "1 行：新增 1，更新 0（试运行，未写入）" in r.text
    else:
        assert r.status_code == 403
    body = _facility("wb-f-1", "130200", 118.2, 39.63)
    if role == "admin":  # previewed, then confirmed
        r = import_file(client, csrf, "facility", body)
    else:
        r = upload(client, csrf, "facility", body)
    if role == "public":
        assert r.status_code == 303
    elif role == "admin":
        assert r.status_code == 200 and 'id="change-report"' in r.text, r.text[:500]
    else:  # the 石家庄 bureau cannot write 唐山; zone and promoter no layer at all
        assert r.status_code == 403
    written = session.execute(
        text("SELECT count(*) FROM landmatch.facility WHERE code = 'wb-f-1'")
    ).scalar()
    assert written == (1 if role == "admin" else 0)


def test_a_bureaus_upload_with_another_citys_features_lists_each_of_them(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """A 石家庄 bureau's file with two 唐山 features among its own: refused with every
    out-of-scope feature listed (feature, field, reason) on the layer's report page, not the
    bare error page naming the first; nothing written."""
    csrf = sign_in(client, passwords["bureau"])
    features = [
        json.loads(_facility(code, city, lon, lat))["features"][0]
        for code, city, lon, lat in (
            ("wb-f-own", "130100", 114.5, 38.04),
            ("wb-f-ts1", "130200", 118.2, 39.63),
            ("wb-f-ts2", "130200", 118.3, 39.65),
        )
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    r = client.post(
        "/workbench/layers/facility/import",
        data={"csrf_token": csrf, "reason": "补充变电站"},
        files={"file": ("f.geojson", body, "application/geo+json")},
    )
    assert r.status_code == 403 and 'id="report-problems"' in r.text, r.text[:500]
    assert "没有写入任何记录" in r.text
    rows = re.findall(
        r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>",
        r.text.split('id="report-problems"')[1],
    )
    assert [(row, field) for row, field, _ in rows] == [("2", "城市代码"), ("3", "城市代码")]
    assert all("唐山市" in reason for _, _, reason in rows)
    assert 'href="/workbench/layers?layer=facility"' in r.text  # back to the upload
    written = session.execute(
        text("SELECT count(*) FROM landmatch.facility WHERE code LIKE 'wb-f-%'")
    ).scalar()
    assert written == 0


def test_an_alert_about_the_citys_ready_parcels_is_on_the_home_page_until_checked(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """A constraint change that reached ready parcels raises an alert for the bureau of their
    city (reflayers.alerts): the bureau finds it on its home page, with the parcels linked, and
    marks it checked there (no longer only through /api/alerts); another city's alert is
    neither shown nor its to check."""
    code = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE city_code = '130100' AND status = 'ready' "
            "AND deleted_at IS NULL ORDER BY code LIMIT 1"
        )
    ).scalar_one()

    def alert(city: str, message: str, codes: list[str]) -> int:
        return int(
            session.execute(
                text(
                    "INSERT INTO landmatch.layer_alert (layer, record_code, op, city_code, "
                    "parcel_codes, ready_count, message, actor) VALUES ('constraint_area', "
                    "'wb-eco-1', 'insert', :city, :codes, :n, :m, 'admin-x') RETURNING id"
                ),
                {"city": city, "codes": codes, "n": len(codes), "m": message},
            ).scalar_one()
        )

    ours = alert(
        "130100", "新增管控区「滹沱河生态廊道」（禁止）涉及石家庄市 1 宗熟地，请核查", [code]
    )
    theirs = alert("130200", "新增管控区「唐山示意」（禁止）涉及唐山市 2 宗熟地，请核查", [])
    csrf = sign_in(client, passwords["bureau"])
    home = client.get("/workbench").text
    item = re.search(rf'<li[^>]*data-alert="{ours}">(.*?)</li>', home, re.S)
    assert item and "滹沱河生态廊道" in item.group(1)
    assert f'href="/workbench/parcels/{code}"' in item.group(1)
    assert f'action="/workbench/layers/alerts/{ours}/ack"' in item.group(1)
    assert f'data-alert="{theirs}"' not in home and "唐山示意" not in home
    r = client.post(
        f"/workbench/layers/alerts/{theirs}/ack",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 403
    r = client.post(
        f"/workbench/layers/alerts/{ours}/ack", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/workbench"
    home = client.get("/workbench").text
    assert "预警已标记为已核查" in home and f'data-alert="{ours}"' not in home
    checked = session.execute(
        text("SELECT acknowledged_by FROM landmatch.layer_alert WHERE id = :i"), {"i": ours}
    ).scalar_one()
    assert checked is not None
    assert (
        session.execute(
            text("SELECT acknowledged_at FROM landmatch.layer_alert WHERE id = :i"), {"i": theirs}
        ).scalar_one()
        is None
    )


def test_policy_import_reports_like_the_cli(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["admin"])
    bad_row = list(GOOD_ROW)
    bad_row[0], bad_row[5] = "wb-p-2", "2024-01-01"  # expires before it starts
    r = client.post(
        "/workbench/policies/import",
        data={"csrf_token": csrf},
        files={"file": ("p.xlsx", _xlsx([GOOD_ROW, bad_row]), "application/octet-stream")},
    )
    assert r.status_code == 200
    row = re.search(r'<table[^>]*id="import-problems".*?<tbody>(.*?)</tbody>', r.text, re.S)
    assert row, r.text[:2000]
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells[0] == "3" and cells[1] == "失效日期" and cells[2]
    assert not session.execute(text("SELECT 1 FROM landmatch.policy WHERE code = 'wb-p-1'")).first()
    r = client.post(
        "/workbench/policies/import",
        data={"csrf_token": csrf},
        files={"file": ("p.xlsx", _xlsx([GOOD_ROW]), "application/octet-stream")},
    )
    expected = summary({"rows": 1, "created": ["wb-p-1"], "updated": [], "dry_run": False})
    assert r.status_code == 200 and expected in r.text
    page = client.get("/workbench/policies/wb-p-1").text
    assert "设备投入15%补助" in page and "石家庄市工信局" in page and "新增" in page
    # Not an Excel file: refused by the guarded upload path, with the reason.
    r = client.post(
        "/workbench/policies/import",
        data={"csrf_token": csrf},
        files={"file": ("p.xlsx", b"PK\x03\x04 not really", "application/octet-stream")},
    )
    assert r.status_code == 200 and 'id="import-report"' in r.text and "未导入" in r.text
    # Without the CSRF token: refused.
    r = client.post(
        "/workbench/policies/import",
        files={"file": ("p.xlsx", _xlsx([GOOD_ROW]), "application/octet-stream")},
    )
    assert r.status_code == 403


def test_layer_upload_report_and_listing(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    body = _facility("wb-f-2", "130100", 114.5, 38.04, name="<b>站</b>")
    r = import_file(client, csrf, "facility", body, reason="新建变电站")
    assert r.status_code == 200
    assert re.search(r'id="r-inserted">1：wb-f-2', r.text)
    assert "重算的地块" in r.text and "原始报告" in r.text
    raw = re.search(r'<pre[^>]*id="r-raw">(.*?)</pre>', r.text, re.S)
    assert raw and "inserted" in raw.group(1) and "affected_parcels" in raw.group(1)
    listing = client.get("/workbench/layers?layer=facility&city=130100").text
    assert "wb-f-2" in listing and "&lt;b&gt;站&lt;/b&gt;" in listing and "<b>站</b>" not in listing
    assert "变电站" in listing
    # A bad feature: the feature, field and reason, nothing written.
    bad = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "code": "wb-f-3",
                        "name": "x",
                        "kind": "火星站",
                        "city_code": "130100",
                    },
                    "geometry": {"type": "Point", "coordinates": [114.5, 38.05]},
                }
            ],
        }
    ).encode()
    r = client.post(
        "/workbench/layers/facility/import",
        data={"csrf_token": csrf},
        files={"file": ("f.geojson", bad, "application/geo+json")},
    )
    assert r.status_code == 200 and 'id="report-problems"' in r.text
    cells = re.findall(r"<td>(.*?)</td>", r.text.split('id="report-problems"')[1])
    assert cells[:2] == ["1", "类型"]
    assert not session.execute(
        text("SELECT 1 FROM landmatch.facility WHERE code = 'wb-f-3'")
    ).first()


def test_coverage_declare_and_withdraw(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])

    def declared() -> set[tuple[str, str]]:
        rows = session.execute(text("SELECT kind, city_code FROM landmatch.constraint_coverage"))
        return {(k, c) for k, c in rows}

    before = declared()
    r = client.post(
        "/workbench/layers/coverage",
        data={
            "csrf_token": csrf,
            "kinds": ["flood"],
            "cities": ["130100"],
            "source": "石家庄市蓄滞洪区 2025",
            "as_of": "2025-06-30",
        },
    )
    assert r.status_code == 200 and 'id="change-report"' in r.text
    assert ("flood", "130100") in declared()
    page = client.get("/workbench/layers/coverage?city=130100").text
    assert "石家庄市蓄滞洪区 2025" in page
    # Another city: refused by the service's scope.
    r = client.post(
        "/workbench/layers/coverage",
        data={
            "csrf_token": csrf,
            "kinds": ["flood"],
            "cities": ["130200"],
            "source": "x",
            "as_of": "2025-06-30",
        },
    )
    assert r.status_code == 403 and ("flood", "130200") not in declared() - before
    # Missing fields: the reason, nothing written.
    r = client.post("/workbench/layers/coverage", data={"csrf_token": csrf, "kinds": ["flood"]})
    assert r.status_code == 200 and "请至少选择" in r.text
    r = client.post("/workbench/layers/coverage/flood/130100/withdraw", data={"csrf_token": csrf})
    assert r.status_code == 200 and "撤销" in r.text
    assert ("flood", "130100") not in declared()


def test_layer_import_with_coverage(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["admin"])
    ring = [[114.40, 38.00], [114.41, 38.00], [114.41, 38.01], [114.40, 38.01], [114.40, 38.00]]
    feature: dict[str, Any] = {
        "type": "Feature",
        "properties": {
            "code": "wb-c-1",
            "name": "测试水源保护区",
            "kind": "water_source",
            "city_code": "130100",
        },
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    r = import_file(
        client,
        csrf,
        "constraint_area",
        body,
        "water.geojson",
        covers=["130100"],
        covers_as_of="2025-05-01",
    )
    assert r.status_code == 200, r.text[:500]
    assert 'id="r-coverage"' in r.text and "water_source:130100" in r.text


# ---- one policy in a form: create, edit, conflict, history ------------------------------------

FORM = {
    "code": "wb-form-1",
    "title": "设备投资补助",
    "issuer": "石家庄市工信局",
    "doc_no": "石工信〔2026〕1号",
    "issued_on": "2026-01-05",
    "valid_from": "2026-01-10",
    "valid_until": "2030-12-31",
    "visibility": "public",
    "scope_level": "city",
    "scope_code": "130100",
    "industries": "34、35",
    "statuses__present": "1",
    "statuses": ["ready"],
    "land_uses": "100101",
    "benefit_kind": "subsidy",
    "benefit_rate": "15%",
    "benefit_cap_wan": "300",
    "benefit_amount_wan": "",
    "benefit_basis": "设备投资额",
    "min_investment_wan": "5000",
    "rd_intensity_min": "",
    "enterprise_types__present": "1",
    "enterprise_types": ["high_tech"],
    "zone_levels__present": "1",
    "max_energy_per_value": "低于当地平均",
    "requires": "",
    "summary": "设备投资额的 15% 补助，最高 300 万元",
    "source": "",
    "reason": "新文件",
}


def _policy_row(session: Any, code: str) -> dict[str, Any]:
    row = (
        session.execute(text("SELECT * FROM landmatch.policy WHERE code = :c"), {"c": code})
        .mappings()
        .first()
    )
    return dict(row) if row else {}


def _invalid(html: str, field: str) -> str:
    """The message shown beside ``field`` as its error, or ''."""
    found = re.search(rf'<div class="invalid-feedback[^"]*" id="f-{field}-msg">([^<]*)<', html)
    return found.group(1) if found else ""


def test_the_policy_pages_name_where_a_policy_applies(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """The committee reads 石家庄市 and its zone's name in the policy list and on a policy's
    page, where both said 市 130100 and 开发区 htz-… (the code alone)."""
    zone, zone_name = session.execute(
        text(
            "SELECT z.code, z.name FROM landmatch.dev_zone z JOIN landmatch.app_user u "
            "ON u.zone_id = z.id WHERE u.name = 't-zone'"
        )
    ).one()
    policy = session.execute(
        text(
            "INSERT INTO landmatch.policy (code, title, issuer, scope_level, scope_code, "
            "benefit_kind, summary) VALUES ('wb-scope-name', '区内厂房租金补助', '管委会', "
            "'zone', :z, 'subsidy', '租金补助') RETURNING code"
        ),
        {"z": zone},
    ).scalar_one()
    sign_in(client, passwords["zone"])
    listed = client.get("/workbench/policies?q=wb-scope-name").text
    assert re.search(rf'title="开发区 {re.escape(zone)}">{re.escape(zone_name)}</td>', listed)
    city = client.get("/workbench/policies?q=demo-130100-land-price").text
    assert 'title="市 130100">石家庄市</td>' in city
    page = client.get(f"/workbench/policies/{policy}").text
    assert f'id="policy-scope">{zone_name}<' in page


@pytest.mark.parametrize("role", ROLES)
def test_policy_form_as_each_role(
    client: TestClient, passwords: dict[str, str], session: Session, role: str
) -> None:
    """The form's pages and writes as each role: admins, bureaus (within its city: a
    province-wide policy is read-only to it) and zone committees (their zone's: the journeys
    review found the committee refused the whole library, so its zone's policies needed the
    API) keep policies; the promoter does not."""
    csrf = sign_in(client, passwords[role]) if role != "public" else ""
    province = session.execute(
        text("SELECT code FROM landmatch.policy WHERE scope_level = 'province' LIMIT 1")
    ).scalar()
    pages = {
        "/workbench/policies/new": {"admin": 200, "bureau": 200, "zone": 200},
        f"/workbench/policies/{province}/edit": {"admin": 200, "bureau": 403, "zone": 403},
    }
    for path, allowed in pages.items():
        r = client.get(path, follow_redirects=False)
        if role == "public":
            assert r.status_code == 303 and "/workbench/login" in r.headers["location"], path
        else:
            assert r.status_code == allowed.get(role, 403), (role, path)
    page = client.get(f"/workbench/policies/{province}").text if role in POLICY_KEEPERS else ""
    assert ('id="edit-link"' in page) == (role == "admin")
    r = client.post(
        "/workbench/policies/new",
        data={**FORM, "code": f"wb-form-{role}", "csrf_token": csrf},
        follow_redirects=False,
    )
    if role == "public":
        assert r.status_code == 303 and "/workbench/login" in r.headers["location"]
    elif role in KEEPERS:
        assert (
            r.status_code == 303 and r.headers["location"] == f"/workbench/policies/wb-form-{role}"
        )
    elif role == "zone":  # a city's policy: refused beside the scope
        assert r.status_code == 200 and "无权维护该范围的政策" in _invalid(r.text, "scope_code")
    else:
        assert r.status_code == 403
    assert (bool(_policy_row(session, f"wb-form-{role}"))) == (role in KEEPERS)
    if role == "zone":  # its own zone's: the new form starts there, and it is kept
        zone = session.execute(
            text(
                "SELECT z.code FROM landmatch.dev_zone z JOIN landmatch.app_user u "
                "ON u.zone_id = z.id WHERE u.name = :n"
            ),
            {"n": passwords["zone"]},
        ).scalar_one()
        form = client.get("/workbench/policies/new").text
        assert f'name="scope_code" value="{zone}"' in form
        assert re.search(r'<option value="zone" selected', form)
        r = client.post(
            "/workbench/policies/new",
            data={
                **FORM,
                "code": "wb-form-zone",
                "scope_level": "zone",
                "scope_code": zone,
                "csrf_token": csrf,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:500]
        assert _policy_row(session, "wb-form-zone")["scope_code"] == zone
        page = client.get("/workbench/policies/wb-form-zone").text
        assert 'id="edit-link"' in page
        assert client.get("/workbench/policies/wb-form-zone/edit").status_code == 200
    # Out of the bureau's city: refused beside the scope, nothing written.
    if role == "bureau":
        r = client.post(
            "/workbench/policies/new",
            data={**FORM, "code": "wb-form-ts", "scope_code": "130200", "csrf_token": csrf},
        )
        assert r.status_code == 200 and "无权维护该范围的政策" in _invalid(r.text, "scope_code")
        assert not _policy_row(session, "wb-form-ts")


def test_policy_form_creates_with_errors_beside_fields(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["admin"])
    bad = {
        **FORM,
        "csrf_token": csrf,
        "title": "",
        "valid_until": "2025-01-01",  # before valid_from
        "benefit_cap_wan": "三百",
        "industries": "34、99",
    }
    r = client.post("/workbench/policies/new", data=bad)
    assert r.status_code == 200 and 'id="form-error"' in r.text
    assert _invalid(r.text, "benefit_cap_wan") == "应为数字：三百"
    assert not _policy_row(session, "wb-form-1")
    bad["benefit_cap_wan"] = "300"
    r = client.post("/workbench/policies/new", data=bad)  # now the service's own checks
    assert _invalid(r.text, "title") == "不能为空"
    assert "早于开始日期" in _invalid(r.text, "valid_until")
    assert 'value="34、99"' in r.text  # what was typed is kept
    r = client.post(
        "/workbench/policies/new", data={**FORM, "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    row = _policy_row(session, "wb-form-1")
    assert row
    assert float(row["benefit_rate"]) == pytest.approx(0.15) and row["industries"] == ["34", "35"]
    assert row["conditions"] == {
        "min_investment_wan": 5000.0,
        "enterprise_types": ["high_tech"],
        "max_energy_per_value": "below_local_average",
    }
    page = client.get("/workbench/policies/wb-form-1").text
    assert "设备投资额的 15% 补助" in page and "新文件" in page
    # The same code again: refused beside the code.
    r = client.post("/workbench/policies/new", data={**FORM, "csrf_token": csrf})
    assert "已存在" in _invalid(r.text, "code")
    # Without the CSRF token: refused.
    r = client.post("/workbench/policies/new", data={**FORM, "code": "wb-form-x"})
    assert r.status_code == 403 and not _policy_row(session, "wb-form-x")


def _edit_values(html: str) -> dict[str, Any]:
    """The edit form as a browser would send it (inputs, checked boxes, selected options)."""
    form = re.search(
        r'<form method="post" action="[^"]*/edit" id="policy-form".*?</form>', html, re.S
    )
    assert form, html[:1000]
    out: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]*>", form.group(0)):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name:
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                out.setdefault(name.group(1), []).append(value.group(1) if value else "")
            continue
        out[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(
        r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form.group(0), re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        out[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form.group(0), re.S
    ):
        out[name] = body
    return {k: (v.replace("&amp;", "&") if isinstance(v, str) else v) for k, v in out.items()}


def test_policy_edit_history_and_conflict(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    from landmatch.auth import Principal
    from landmatch.db.locking import etag
    from landmatch.policies import library

    csrf = sign_in(client, passwords["bureau"])
    r = client.post(
        "/workbench/policies/new", data={**FORM, "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert bool(_policy_row(session, "wb-form-1"))
    opened = _edit_values(client.get("/workbench/policies/wb-form-1/edit").text)
    assert opened["version"] == "1" and opened["benefit_rate"] == "15%"
    assert opened["industries"] == "34、35" and opened["enterprise_types"] == ["high_tech"]
    # Sent back unchanged: nothing to save.
    r = client.post("/workbench/policies/wb-form-1/edit", data=opened, follow_redirects=False)
    assert r.status_code == 303 and _policy_row(session, "wb-form-1")["version"] == 1
    # Someone else saves in between (the API's service, as another account).
    other = Principal(name="t-other", role="admin")
    library.update_policy(
        session,
        other,
        "wb-form-1",
        {"issuer": "石家庄市工业和信息化局"},
        if_match=etag("wb-form-1", 1),
        reason="机构更名",
    )
    session.flush()
    mine = {**opened, "title": "设备投资补助（修订）", "benefit_rate": "20%", "reason": "提高比例"}
    r = client.post("/workbench/policies/wb-form-1/edit", data=mine)
    assert r.status_code == 200 and 'id="conflict"' in r.text
    assert "t-other" in r.text and "机构更名" in r.text
    fields = re.findall(r'<tr[^>]*data-field="([^"]+)"', r.text)
    assert set(fields) == {"title", "issuer", "benefit_rate"}, fields
    row = _policy_row(session, "wb-form-1")
    assert row["title"] == "设备投资补助" and row["version"] == 2  # nothing of mine saved
    # Re-apply on the version saved now: mine on top of theirs.
    reapply = re.search(r'<form method="post"[^>]*id="reapply-form">(.*?)</form>', r.text, re.S)
    assert reapply
    data: dict[str, Any] = {}
    for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)">', reapply.group(1)
    ):
        data[name] = value
    assert data["version"] == "2" and "issuer" not in data
    r = client.post("/workbench/policies/wb-form-1/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    row = _policy_row(session, "wb-form-1")
    assert row["title"] == "设备投资补助（修订）" and row["issuer"] == "石家庄市工业和信息化局"
    assert float(row["benefit_rate"]) == pytest.approx(0.2) and row["version"] == 3
    assert row["conditions"]["enterprise_types"] == ["high_tech"]  # conditions kept
    # The history: each save with who, why and the fields old → new.
    page = client.get("/workbench/policies/wb-form-1").text
    v3 = re.search(r'data-version="3">(.*?)</li>', page, re.S)
    assert v3 and "提高比例" in v3.group(1) and passwords["bureau"] in v3.group(1)
    assert "设备投资补助 → 设备投资补助（修订）" in v3.group(1) and "15% → 20%" in v3.group(1)
    v2 = re.search(r'data-version="2">(.*?)</li>', page, re.S)
    assert v2 and "t-other" in v2.group(1) and "机构更名" in v2.group(1)
    # A refused value on edit: beside its field, the version kept for the next save.
    edit = _edit_values(client.get("/workbench/policies/wb-form-1/edit").text)
    r = client.post(
        "/workbench/policies/wb-form-1/edit", data={**edit, "valid_until": "2020-01-01"}
    )
    assert "早于开始日期" in _invalid(r.text, "valid_until")
    assert 'name="version" value="3"' in r.text
    # Text stays text.
    r = client.post(
        "/workbench/policies/wb-form-1/edit",
        data={**edit, "title": "<script>alert(1)</script>"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/workbench/policies/wb-form-1").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
