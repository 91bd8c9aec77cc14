"""Typed contracts: the routes that declare a response model show it in /openapi.json, and their
live answers are that model (landmatch/api/schemas.py; extra keys refused)."""

from __future__ import annotations

import pytest

from landmatch.api.schemas import Health, PlaceSummary, SearchResults
from tests.conftest import auth


def _response_ref(spec: dict, path: str, status: str) -> str:
    content = spec["paths"][path]["get"]["responses"][status]["content"]
    return str(content["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]


def test_openapi_shows_the_models(client):
    spec = client.get("/openapi.json").json()
    assert _response_ref(spec, "/api/search", "200") == "SearchResults"
    assert _response_ref(spec, "/healthz", "200") == "Health"
    assert _response_ref(spec, "/healthz", "503") == "Health"
    assert _response_ref(spec, "/api/map/places", "200") == "PlaceSummary"
    hit = spec["components"]["schemas"]["SearchHit"]
    assert set(hit["required"]) == {"kind", "kind_label", "code", "label", "bbox"}
    assert hit["properties"]["kind"]["enum"] == ["admin", "zone", "facility", "parcel"]


def test_healthz_is_the_health_model(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    health = Health.model_validate(r.json())
    assert health.status == "ok" and health.pending is not None


@pytest.mark.parametrize("role", [None, "admin"])
def test_search_answers_are_the_search_model(client, tokens, public_code, role):
    headers = auth(tokens[role]) if role else {}
    for q in ("石家庄", public_code):
        r = client.get("/api/search", params={"q": q}, headers=headers)
        assert r.status_code == 200, r.text
        found = SearchResults.model_validate(r.json())
        assert found.query == q and found.results
    assert any(h.kind == "parcel" and h.code == public_code for h in found.results)


@pytest.mark.parametrize("role", [None, "bureau"])
def test_the_place_summary_is_its_model(client, tokens, role):
    headers = auth(tokens[role]) if role else {}
    r = client.get("/api/map/places", headers=headers)
    assert r.status_code == 200, r.text
    places = PlaceSummary.model_validate(r.json())
    assert len(places.cities) == 13 and places.zones and places.counties
    assert sum(c.parcels for c in places.cities) > 0
