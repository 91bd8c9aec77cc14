"""Policy library: validation, expiry, public view, Excel import, the plan's seed records."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.db.locking import ANY
from landmatch.policies.library import create_policy, update_policy
from landmatch.policies.schema import PolicyIn, check_references
from landmatch.seed.policies import plan_policies
from tests.conftest import auth, with_etag

BASE = {
    "code": "t-pol-1",
    "title": "测试补助",
    "issuer": "石家庄市人民政府",
    "scope_level": "city",
    "scope_code": "130100",
    "industries": ["39"],
    "benefit_kind": "subsidy",
    "benefit_rate": 0.1,
    "benefit_cap_wan": 50,
    "valid_from": "2025-01-01",
    "valid_until": "2027-12-31",
    "summary": "测试",
    "conditions": {
        "enterprise_types": ["高新技术企业"],
        "rd_intensity_min": 0.03,
        "min_investment_wan": 5000,
    },
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"valid_from": "2026-01-01", "valid_until": "2025-01-01"}, "valid_until"),
        ({"industries": ["39", "99"]}, "industries"),
        ({"scope_code": "139900"}, "scope_code"),
        ({"scope_level": "zone", "scope_code": "no-such-zone"}, "scope_code"),
        ({"scope_level": "galaxy"}, "scope_level"),
        ({"land_uses": ["999999"]}, "land_uses"),
        ({"conditions": {"enterprise_types": ["外星企业"]}}, "conditions.enterprise_types"),
        ({"conditions": {"rd_intensity_min": 3}}, "conditions.rd_intensity_min"),
        ({"conditions": {"min_invest": 1}}, "conditions.min_invest"),
    ],
)
def test_bad_policy_names_field(
    client: TestClient, tokens: dict[str, str], change: dict[str, Any], field: str
) -> None:
    r = client.post("/api/policies", headers=auth(tokens["admin"]), json=BASE | change)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert client.get("/api/policies/t-pol-1", headers=auth(tokens["admin"])).status_code == 404


def test_patch_validation_and_scope(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/api/policies", headers=auth(tokens["bureau"]), json=BASE)
    assert r.status_code == 201, r.text
    assert r.json()["conditions"]["enterprise_types"] == ["high_tech"]
    h = auth(tokens["bureau"])
    assert r.headers["ETag"] == '"t-pol-1.v1"'
    r = client.patch("/api/policies/t-pol-1", headers=h, json={"valid_until": "2024-01-01"})
    assert r.status_code == 428
    h = with_etag(client, "/api/policies/t-pol-1", h)
    r = client.patch("/api/policies/t-pol-1", headers=h, json={"valid_until": "2024-01-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "valid_until"
    # The model's own type errors read in Chinese, as the API's request errors do.
    r = client.patch("/api/policies/t-pol-1", headers=h, json={"benefit_cap_wan": "三百"})
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "benefit_cap_wan", "reason": "应为数字"}
    ]
    r = client.patch("/api/policies/t-pol-1", headers=h, json={"title": ""})
    assert r.json()["errors"] == [{"field": "title", "reason": "不能为空"}]
    # A Shijiazhuang bureau cannot move the policy to Tangshan, nor write province policies.
    r = client.patch("/api/policies/t-pol-1", headers=h, json={"scope_code": "130200"})
    assert r.status_code == 403
    r = client.post(
        "/api/policies",
        headers=auth(tokens["bureau"]),
        json=BASE | {"code": "t-pol-prov", "scope_level": "province", "scope_code": "130000"},
    )
    assert r.status_code == 403
    hist = client.get("/api/policies/t-pol-1/history", headers=auth(tokens["promoter"])).json()
    assert [h["op"] for h in hist] == ["insert"] and hist[0]["actor"] == "t-bureau-sjz"


def test_policy_edits_bump_the_data_version(session: Session) -> None:
    """Caches keyed on data_state (the match's reference data) see a policy edit at once.
    Which policies apply (expired ones never) is tested through the match and the card in
    tests/zones/test_policy_applicability.py."""
    admin = Principal(name="a", role="admin")
    create_policy(session, admin, BASE)

    def version() -> int:
        return int(
            session.execute(
                text("SELECT version FROM landmatch.data_state WHERE name='policy'")
            ).scalar_one()
        )

    v0 = version()
    update_policy(session, admin, "t-pol-1", {"valid_until": "2026-05-31"}, if_match=ANY)
    assert version() > v0


def test_public_view(client: TestClient, tokens: dict[str, str]) -> None:
    client.post(
        "/api/policies",
        headers=auth(tokens["admin"]),
        json=BASE | {"code": "t-internal", "visibility": "internal"},
    )
    client.post("/api/policies", headers=auth(tokens["admin"]), json=BASE)
    public = client.get("/api/policies", params={"q": "测试补助", "as_of": "2026-01-01"}).json()
    assert [p["code"] for p in public["items"]] == ["t-pol-1"]
    assert "visibility" not in public["items"][0]
    assert client.get("/api/policies/t-internal").status_code == 404
    staff = client.get(
        "/api/policies",
        params={"q": "测试补助", "as_of": "2026-01-01"},
        headers=auth(tokens["promoter"]),
    ).json()
    assert {p["code"] for p in staff["items"]} == {"t-pol-1", "t-internal"}
    # Expired ones show for staff only on request.
    later = {"q": "测试补助", "as_of": "2028-01-01"}
    assert client.get("/api/policies", params=later).json()["total"] == 0
    assert (
        client.get(
            "/api/policies",
            params=later | {"include_expired": "true"},
            headers=auth(tokens["promoter"]),
        ).json()["total"]
        == 2
    )


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(
        [
            "编码",
            "政策名称",
            "发布机关",
            "文号",
            "生效日期",
            "失效日期",
            "适用范围",
            "范围代码",
            "适用行业",
            "优惠类型",
            "比例",
            "上限（万元）",
            "企业类型",
            "研发投入强度",
            "摘要",
            "公开",
        ]
    )
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_excel_import(client: TestClient, tokens: dict[str, str]) -> None:
    good: list[list[object]] = [
        [
            "x-1",
            "设备补助",
            "唐山市工信局",
            "唐工信〔2025〕3号",
            "2025-01-01",
            "2027-12-31",
            "市",
            "130200",
            "34、35",
            "资金补助",
            "15%",
            300,
            "专精特新中小企业",
            "3%",
            "设备投入15%补助",
            "是",
        ],
        [
            "x-2",
            "用地优惠",
            "河北省自然资源厅",
            None,
            dt.date(2025, 3, 1),
            None,
            "全省",
            "130000",
            None,
            "地价优惠",
            0.3,
            None,
            None,
            None,
            "地价优惠",
            "否",
        ],
    ]
    h = auth(tokens["admin"])
    bad = _xlsx(
        [
            good[0],
            [
                "x-3",
                "坏行",
                "某局",
                None,
                "2025-01-01",
                "2024-01-01",
                "市",
                "130200",
                "34",
                "资金补助",
                None,
                None,
                None,
                None,
                "x",
                "是",
            ],
        ]
    )
    r = client.post(
        "/api/policies/import",
        headers=h,
        files={"file": ("p.xlsx", bad, "application/octet-stream")},
    )
    assert r.status_code == 422, r.text
    err = r.json()["errors"][0]
    assert err["row"] == 3 and err["field"] == "valid_until"
    assert client.get("/api/policies/x-1", headers=h).status_code == 404  # nothing half-written
    r = client.post(
        "/api/policies/import",
        headers=h,
        files={"file": ("p.xlsx", _xlsx(good), "application/octet-stream")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == ["x-1", "x-2"]
    p = client.get("/api/policies/x-1", headers=h).json()
    assert p["benefit_rate"] == pytest.approx(0.15) and p["industries"] == ["34", "35"]
    assert p["conditions"] == {"enterprise_types": ["specialised"], "rd_intensity_min": 0.03}
    assert client.get("/api/policies/x-2", headers=h).json()["visibility"] == "internal"
    again = client.post(
        "/api/policies/import",
        headers=h,
        files={"file": ("p.xlsx", _xlsx(good), "application/octet-stream")},
    )
    assert again.json()["updated"] == ["x-1", "x-2"]


def test_seed_is_the_plan(session: Session) -> None:
    """Every seed record validates, and the plan's numbers are there."""
    seeds = {p["code"]: p for p in plan_policies()}
    for p in seeds.values():
        model = PolicyIn.model_validate(p)
        check_references(session, model)
        assert p["source"].startswith("河北省2024年要素环境提升专项行动方案 §")

    def by(title_part: str) -> dict:  # type: ignore[type-arg]
        hits = [p for p in seeds.values() if title_part in p["title"]]
        assert len(hits) == 1, title_part
        return hits[0]

    rd = by("研发投入后补助")
    assert (rd["benefit_rate"], rd["benefit_cap_wan"]) == (0.10, 100)
    eq = by("设备更新补助")
    assert (eq["benefit_rate"], eq["benefit_cap_wan"]) == (0.20, 500)
    plat = by("国家级创新平台")
    assert (plat["benefit_amount_wan"], plat["benefit_cap_wan"]) == (300, 500)
    assert by("用能指标无偿配置")["benefit_kind"] == "energy_quota"
    ui = by("失业保险")
    assert ui["benefit_rate"] == 0.01 and ui["valid_until"] == dt.date(2024, 12, 31)
    assert by("集装箱")["benefit_rate"] == 0.30 and by("7轴")["benefit_rate"] == 0.51
    assert by("技术中心、工程研究中心奖励")["benefit_amount_wan"] == 200
    assert by("微科技")["benefit_amount_wan"] == 300
    assert by("减半征收")["benefit_rate"] == 0.5
    sections = {p["source"].split("§")[1][:1] for p in seeds.values()}
    assert sections == {"二", "三", "四", "五", "六"}


def test_excel_import_is_bounded(
    client: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workbook over ``MAX_ROWS`` data rows is refused while it is read, with the row."""
    from landmatch.policies import excel

    monkeypatch.setattr(excel, "MAX_ROWS", 2)
    base: list[object] = [
        "b-1",
        "设备补助",
        "唐山市工信局",
        None,
        "2025-01-01",
        None,
        "市",
        "130200",
        None,
        "资金补助",
        "15%",
        None,
        None,
        None,
        "补助",
        "是",
    ]
    rows: list[list[object]] = [[f"b-{i}", *base[1:]] for i in range(3)]
    files = {"file": ("p.xlsx", _xlsx(rows), "application/octet-stream")}
    r = client.post("/api/policies/import", headers=auth(tokens["admin"]), files=files)
    assert r.status_code == 422, r.text
    assert "最多 2 行" in r.json()["detail"] and r.json()["errors"][0]["row"] == 4
    files = {"file": ("p.xlsx", _xlsx(rows[:2]), "application/octet-stream")}
    r = client.post("/api/policies/import?dry_run=true", headers=auth(tokens["admin"]), files=files)
    assert r.status_code == 200 and r.json()["created"] == ["b-0", "b-1"]
