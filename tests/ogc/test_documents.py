"""Landing, conformance, OpenAPI, collections, queryables, HTML and tiles documents."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from landmatch.ogc import crs as ogc_crs
from landmatch.ogc.documents import CONFORMANCE

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def test_landing_links(client: TestClient) -> None:
    r = client.get("/ogc/", headers={"Accept": "*/*"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    rels = {link["rel"]: link for link in r.json()["links"]}
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert rels["service-doc"]["type"] == "text/html"
    assert rels["data"]["type"] == "application/json"
    assert rels["data"]["href"].endswith("/ogc/collections")
    assert "conformance" in rels


def test_openapi_is_honestly_3_0(client: TestClient) -> None:
    r = client.get("/ogc/api")
    assert r.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = r.json()
    assert doc["openapi"].startswith("3.0.")
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert limit["maximum"] == 1000 and limit["default"] == 100
    params = doc["paths"]["/collections/parcels/items"]["get"]["parameters"]
    status = [p for p in params if p.get("name") == "status"][0]
    assert (status["in"], status["style"], status["explode"]) == ("query", "form", False)
    assert not [p for p in params if p.get("name") == "contact_phone"]
    # no OpenAPI 3.1-only constructs
    text = r.text
    assert '"type":["' not in text.replace(" ", "") and "$defs" not in text


def test_conformance_lists_what_is_tested(client: TestClient) -> None:
    got = client.get("/ogc/conformance").json()["conformsTo"]
    assert got == CONFORMANCE
    for needed in (
        "cql2/1.0/conf/basic-cql2",
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/features-filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/basic-spatial-functions",
        "ogcapi-features-2/1.0/conf/crs",
    ):
        assert any(c.endswith(needed) for c in got)


def test_collections(client: TestClient) -> None:
    body = client.get("/ogc/collections").json()
    by_id = {c["id"]: c for c in body["collections"]}
    for cid, c in by_id.items():
        assert c["itemType"] == "feature"
        types = {(link["rel"], link["type"]) for link in c["links"]}
        assert ("items", "application/geo+json") in types
        assert (
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "application/schema+json",
        ) in types
        if cid != "policies":
            bbox = c["extent"]["spatial"]["bbox"]
            assert isinstance(bbox[0], list) and len(bbox[0]) == 4
            assert c["extent"]["spatial"]["crs"] == CRS84
            assert 113 < bbox[0][0] < bbox[0][2] < 120 and 36 < bbox[0][1] < bbox[0][3] < 43
            assert c["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/4490"
            assert set(c["crs"]) == set(ogc_crs.CRS_LIST)
    assert "storageCrs" not in by_id["policies"]


def test_queryables_json_schema(client: TestClient, tokens: dict[str, str]) -> None:
    from tests.conftest import auth

    r = client.get("/ogc/collections/parcels/queryables")
    assert r.headers["content-type"] == "application/schema+json"
    q = r.json()
    assert q["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert q["properties"]["area_m2"]["type"] == "number"
    assert q["properties"]["status"]["enum"][0] == "ready"
    assert q["properties"]["data_updated_on"] == {
        "type": "string",
        "format": "date",
        "title": "数据更新日期",
    }
    assert "geometry" in q["properties"] and "contact_phone" not in q["properties"]
    staff = client.get("/ogc/collections/parcels/queryables", headers=auth(tokens["admin"])).json()
    assert "holder" in staff["properties"]  # internal fields are queryable by staff …
    assert "contact_phone" not in staff["properties"]  # … the confidential ones by nobody


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/",
        "/ogc/conformance",
        "/ogc/api",
        "/ogc/collections",
        "/ogc/collections/parcels",
        "/ogc/collections/parcels/items",
        "/ogc/collections/parcels/items/1",
        "/ogc/collections/parcels/queryables",
        "/ogc/collections/policies/items",
        "/ogc/tileMatrixSets",
        "/ogc/collections/zones/tiles",
    ],
)
def test_every_resource_has_zh_html(client: TestClient, path: str) -> None:
    if path.endswith("/items/1"):
        fid = client.get("/ogc/collections/parcels/items?limit=1").json()["features"][0]["id"]
        path = path.replace("/1", f"/{fid}")
    for r in (
        client.get(path, params={"f": "html"}),
        client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}),
    ):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in r.text and "要素集合" in r.text
    assert client.get(path, params={"f": "xml"}).status_code == 400


def test_tiles_documents_and_bounds(client: TestClient) -> None:
    tms = client.get("/ogc/tileMatrixSets").json()
    assert tms["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
    wmq = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert wmq["tileMatrices"][0]["matrixWidth"] == 1
    ts = client.get("/ogc/collections/parcels/tiles/WebMercatorQuad").json()
    assert any(link["rel"] == "item" and link["templated"] for link in ts["links"])
    assert client.get("/ogc/collections/parcels/tiles/WebMercatorQuad/3/9/0").status_code == 404
    assert client.get("/ogc/collections/policies/tiles").status_code == 404
    empty = client.get("/ogc/collections/parcels/tiles/WebMercatorQuad/5/0/0")
    assert empty.status_code == 200 and empty.content == b""
    assert (
        client.get(
            "/ogc/collections/parcels/tiles/WebMercatorQuad/5/0/0", params={"contact_phone": "1"}
        ).status_code
        == 400
    )
