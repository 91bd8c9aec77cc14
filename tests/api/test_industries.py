"""``/api/industries`` (the picker's source) and codes at any level through the match and
project APIs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import auth


def test_search_and_show(client: TestClient) -> None:
    r = client.get("/api/industries", params={"q": "汽车零部件"})
    assert r.status_code == 200
    items = r.json()["items"]
    assert items[0]["full_code"] in {"C367", "C3670"}
    assert items[0]["path"].startswith("C 制造业 › C36 汽车制造业")
    r = client.get("/api/industries/C3670")
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == "3670" and body["level_name"] == "小类"
    assert [x["full_code"] for x in body["lineage"]] == ["C", "C36", "C367", "C3670"]
    assert body["pollution_class"] == 2
    assert [u["code"] for u in body["land_uses"]] == ["100102", "100103"]
    assert body["pollution_label"] == "二类工业"
    # Hazardous storage: 三类 on the logistics ladder (docs/domain.md §3).
    body = client.get("/api/industries/5942").json()
    assert body["pollution_label"] == "三类物流仓储"
    assert [u["code"] for u in body["land_uses"]] == ["110103"]
    assert client.get("/api/industries/36").json()["children"][0] == {
        "code": "361",
        "name": "汽车整车制造",
    }
    for bad in ("A3670", "9999"):
        r = client.get(f"/api/industries/{bad}")
        assert r.status_code == 422 and "行业代码" in r.json()["detail"]
    assert client.get("/api/industries", params={"q": ""}).status_code == 422


def test_match_and_project_take_a_code_at_any_level(
    client: TestClient, tokens: dict[str, str]
) -> None:
    h = auth(tokens["promoter"])
    for code, canonical in (("C3670", "3670"), ("367", "367"), ("C", "C")):
        r = client.post(
            "/api/match",
            json={"industry": code, "area_mu_min": 20, "area_mu_max": 150, "top": 3},
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert r.json()["requirement"]["industry"] == canonical
    r = client.post("/api/match", json={"industry": "A3670"}, headers=h)
    assert r.status_code == 422 and "门类字母不对" in r.text
    r = client.post(
        "/api/projects",
        json={"name": "汽车零部件", "requirement": {"industry": "C3670", "area_mu_min": 80}},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["industry_code"] == "3670"
