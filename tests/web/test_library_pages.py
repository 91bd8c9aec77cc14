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
from sqlalchemy import text

from landmatch.policies.excel import summary
from tests.conftest import sign_in
from tests.zones.test_policies import _xlsx

ROLES = ("public", "admin", "bureau", "zone", "promoter")
KEEPERS = ("admin", "bureau")

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
def test_pages_as_each_role(client, passwords, session, role: str) -> None:
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
        if role == "public":
            assert r.status_code == 303 and "/workbench/login" in r.headers["location"], path
        else:
            assert r.status_code == (200 if role in KEEPERS else 403), (role, path)
    if role != "public":
        nav = client.get("/workbench").text
        assert ('href="/workbench/policies"' in nav) == (role in KEEPERS)
        assert ('href="/workbench/layers"' in nav) == (role in KEEPERS)


@pytest.mark.parametrize("role", ROLES)
def test_uploads_as_each_role(client, passwords, session, role: str) -> None:
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
    r = client.post(
        "/workbench/layers/facility/import",
        data={"csrf_token": csrf},
        files={
            "file": (
                "f.geojson",
                _facility("wb-f-1", "130200", 118.2, 39.63),
                "application/geo+json",
            )
        },
        follow_redirects=False,
    )
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


def test_policy_import_reports_like_the_cli(client, passwords, session) -> None:
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


def test_layer_upload_report_and_listing(client, passwords, session) -> None:
    csrf = sign_in(client, passwords["bureau"])
    body = _facility("wb-f-2", "130100", 114.5, 38.04, name="<b>站</b>")
    r = client.post(
        "/workbench/layers/facility/import",
        data={"csrf_token": csrf, "reason": "新建变电站"},
        files={"file": ("f.geojson", body, "application/geo+json")},
    )
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


def test_coverage_declare_and_withdraw(client, passwords, session) -> None:
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


def test_layer_import_with_coverage(client, passwords, session) -> None:
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
    r = client.post(
        "/workbench/layers/constraint_area/import",
        data={"csrf_token": csrf, "covers": ["130100"], "covers_as_of": "2025-05-01"},
        files={"file": ("water.geojson", body, "application/geo+json")},
    )
    assert r.status_code == 200, r.text[:500]
    assert 'id="r-coverage"' in r.text and "water_source:130100" in r.text
