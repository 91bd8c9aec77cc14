"""Typed contracts: the routes that declare a response model show it in /openapi.json, and their
live answers are that model (landmatch/api/schemas.py; extra keys refused)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from landmatch.api.schemas import (
    Health,
    MatchResult,
    ParcelCard,
    ParcelCollection,
    ParcelFeature,
    ParcelsAtPoint,
    PlaceSummary,
    Problem,
    SearchResults,
)
from landmatch.api.schemas.accounts import Account, AccountPage, SignInSession, Token
from landmatch.api.schemas.monitoring import MonitoringSummary
from landmatch.api.schemas.projects import (
    MatchingProjects,
    Project,
    Reservation,
    ReservationSeen,
)
from landmatch.api.schemas.zones import Zone, ZoneDetail
from tests.conftest import auth


def _response_ref(spec: dict, path: str, status: str) -> str:
    content = spec["paths"][path]["get"]["responses"][status]["content"]
    return str(content["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]


def test_openapi_shows_the_models(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert _response_ref(spec, "/api/search", "200") == "SearchResults"
    assert _response_ref(spec, "/healthz", "200") == "Health"
    assert _response_ref(spec, "/healthz", "503") == "Health"
    assert _response_ref(spec, "/api/map/places", "200") == "PlaceSummary"
    hit = spec["components"]["schemas"]["SearchHit"]
    assert set(hit["required"]) == {"kind", "kind_label", "code", "label", "bbox"}
    assert hit["properties"]["kind"]["enum"] == ["admin", "zone", "facility", "parcel"]


def test_healthz_is_the_health_model(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    health = Health.model_validate(r.json())
    assert health.status == "ok" and health.pending is not None


@pytest.mark.parametrize("role", [None, "admin"])
def test_search_answers_are_the_search_model(
    client: TestClient, tokens: dict[str, str], public_code: str, role: str
) -> None:
    headers = auth(tokens[role]) if role else {}
    for q in ("石家庄", public_code):
        r = client.get("/api/search", params={"q": q}, headers=headers)
        assert r.status_code == 200, r.text
        found = SearchResults.model_validate(r.json())
        assert found.query == q and found.results
    assert any(h.kind == "parcel" and h.code == public_code for h in found.results)


@pytest.mark.parametrize("role", [None, "bureau"])
def test_the_place_summary_is_its_model(
    client: TestClient, tokens: dict[str, str], role: str
) -> None:
    headers = auth(tokens[role]) if role else {}
    r = client.get("/api/map/places", headers=headers)
    assert r.status_code == 200, r.text
    places = PlaceSummary.model_validate(r.json())
    assert len(places.cities) == 13 and places.zones and places.counties
    assert sum(c.parcels for c in places.cities) > 0


def _ref(spec: dict, path: str, method: str = "get") -> tuple[str, str]:
    """The 200 answer's media type and model name as /openapi.json declares them."""
    content = spec["paths"][path][method]["responses"]["200"]["content"]
    (media, body), *_ = content.items()
    return media, str(body["schema"]["$ref"]).rsplit("/", 1)[-1]


def test_openapi_shows_the_parcel_and_match_models(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    geo = "application/geo+json"
    assert _ref(spec, "/api/parcels") == (geo, "ParcelCollection")
    assert _ref(spec, "/api/parcels/{code}") == (geo, "ParcelFeature")
    assert _ref(spec, "/api/identify") == (geo, "ParcelsAtPoint")
    assert _ref(spec, "/api/parcels/{code}/card") == ("application/json", "ParcelCard")
    assert _ref(spec, "/api/match", "post") == (geo, "MatchResult")
    assert _ref(spec, "/api/match/{match_id}") == (geo, "MatchResult")
    assert _ref(spec, "/api/projects/{project_id}/match", "post") == (geo, "MatchResult")
    parcel = spec["components"]["schemas"]["ParcelProperties"]
    # The field table decides: public fields are always there, internal ones for staff only.
    assert {"code", "status", "land_use", "area_mu", "zone_code"} <= set(parcel["required"])
    assert "holder" in parcel["properties"] and "holder" not in parcel["required"]
    ranked = spec["components"]["schemas"]["MatchParcelProperties"]["properties"]
    assert "reserve_price_wan_per_mu" not in ranked and "members" in ranked


def test_errors_are_declared_as_problems(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            default = op["responses"]["default"]["content"]
            assert list(default) == ["application/problem+json"], (method, path)
            if "422" in op["responses"]:
                assert list(op["responses"]["422"]["content"]) == ["application/problem+json"]
    r = client.get("/api/identify", params={"lon": "x", "lat": 38})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    Problem.model_validate(r.json())


@pytest.mark.parametrize("role", [None, "bureau", "promoter"])
def test_parcels_identify_and_card_are_their_models(
    client: TestClient, tokens: dict[str, str], public_code: str, role: str
) -> None:
    headers = auth(tokens[role]) if role else {}
    page = client.get("/api/parcels", params={"city": "130100", "limit": 5}, headers=headers)
    assert page.status_code == 200, page.text
    assert ParcelCollection.model_validate(page.json()).features
    one = client.get(f"/api/parcels/{public_code}", headers=headers)
    feature = ParcelFeature.model_validate(one.json())
    staff = role is not None
    assert (feature.properties.version is not None) == staff  # type: ignore[attr-defined]
    lon, lat = _inside(feature.geometry.coordinates)
    hit = client.get("/api/identify", params={"lon": lon, "lat": lat}, headers=headers)
    assert hit.status_code == 200, hit.text
    assert public_code in [f.id for f in ParcelsAtPoint.model_validate(hit.json()).features]
    r = client.get(f"/api/parcels/{public_code}/card", headers=headers)
    assert r.status_code == 200, r.text
    card = ParcelCard.model_validate(r.json())
    assert (card.internal is not None) == staff and card.parcel.code == public_code  # type: ignore[attr-defined]


def _inside(coordinates: list) -> tuple[float, float]:
    """A point inside a (multi)polygon parcel: the centre of its first ring's bounding box is
    not always inside, so the mean of a small parcel's vertices is taken (they are convex)."""
    ring = coordinates[0][0] if isinstance(coordinates[0][0][0], list) else coordinates[0]
    xs, ys = [p[0] for p in ring[:-1]], [p[1] for p in ring[:-1]]
    return sum(xs) / len(xs), sum(ys) / len(ys)


@pytest.mark.parametrize("role", [None, "admin", "promoter"])
def test_match_runs_are_the_match_model(
    client: TestClient, tokens: dict[str, str], role: str
) -> None:
    headers = auth(tokens[role]) if role else {}
    req = {"industry": "36", "area_mu_min": 10, "area_mu_max": 500, "top": 5}
    r = client.post("/api/match", json=req, headers=headers)
    assert r.status_code == 200, r.text
    run = MatchResult.model_validate(r.json())
    assert run.features and run.public == (role is None)
    for f in run.features:
        assert f.properties.kind == "parcel" and f.properties.members == [f.id]  # type: ignore[attr-defined]
    stored = client.get(f"/api/match/{run.match_id}", headers=headers)
    assert MatchResult.model_validate(stored.json()) == run


def test_projects_holds_and_reverse_match_are_their_models(
    client: TestClient, tokens: dict[str, str]
) -> None:
    team = auth(tokens["promoter"])
    req = {"industry": "36", "area_mu_min": 10, "area_mu_max": 500, "top": 3}
    r = client.post("/api/projects", json={"name": "契约", "requirement": req}, headers=team)
    assert r.status_code == 201, r.text
    project = Project.model_validate(r.json())
    assert [Project.model_validate(p).id for p in client.get("/api/projects", headers=team).json()]
    shown = client.get(f"/api/projects/{project.id}", headers=team)
    assert shown.json() == r.json()  # sent as the service wrote it (timestamps too)
    run = MatchResult.model_validate(
        client.post(f"/api/projects/{project.id}/match", headers=team).json()
    )
    code = run.features[0].id
    hold = {"parcel_code": code, "project_id": project.id}
    held = Reservation.model_validate(
        client.post("/api/reservations", json=hold, headers=team).json()
    )
    ours = TypeAdapter(list[Reservation | ReservationSeen])
    assert held in ours.validate_python(client.get("/api/reservations", headers=team).json())
    seen = ours.validate_python(
        client.get("/api/reservations", headers=auth(tokens["bureau"])).json()
    )
    assert [h.own for h in seen if h.id == held.id] == [False]  # another's hold, unnamed
    fits = MatchingProjects.model_validate(
        client.get(f"/api/parcels/{code}/matching-projects", headers=team).json()
    )
    assert fits.parcel_code == code and fits.projects_checked >= 1
    released = client.delete(f"/api/reservations/{held.id}", headers=team)
    assert Reservation.model_validate(released.json()).released_at is not None


@pytest.mark.parametrize("role", ["admin", "bureau"])
def test_the_monitoring_summary_is_its_model(
    client: TestClient, tokens: dict[str, str], role: str
) -> None:
    r = client.get("/api/monitoring/summary", headers=auth(tokens[role]))
    assert r.status_code == 200, r.text
    shown = MonitoringSummary.model_validate(r.json())
    assert shown.area_by_city_status and shown.unsupplied_age and shown.zones
    assert (shown.city == "130100") == (role == "bureau")  # a bureau sees its own city


@pytest.mark.parametrize("role", [None, "bureau"])
def test_zones_are_their_models_without_staff_keys_for_the_public(
    client: TestClient, tokens: dict[str, str], role: str
) -> None:
    headers = auth(tokens[role]) if role else {}
    listed = client.get("/api/zones", headers=headers).json()
    zones = TypeAdapter(list[Zone]).validate_python(listed)
    one = client.get(f"/api/zones/{zones[0].code}", headers=headers).json()
    assert ZoneDetail.model_validate(one).geometry is not None
    for shown in (listed[0], one):  # absent, not null, for the public
        assert ("version" in shown and "can_edit" in shown) == (role is not None)


def test_accounts_tokens_and_sessions_are_their_models(
    client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    page = AccountPage.model_validate(client.get("/api/users", headers=admin).json())
    assert page.total >= 4 and {"t-admin", "t-bureau-sjz"} <= {a.name for a in page.users}
    me = Account.model_validate(client.get("/api/me", headers=auth(tokens["bureau"])).json())
    assert me.name == "t-bureau-sjz" and me.city_code == "130100"
    listed = client.get("/api/users/t-bureau-sjz/tokens", headers=admin).json()
    assert TypeAdapter(list[Token]).validate_python(listed)
    mine = client.get("/api/me/tokens", headers=admin).json()
    assert all("secret" not in t and "token" not in t for t in mine)
    TypeAdapter(list[Token]).validate_python(mine)
    TypeAdapter(list[SignInSession]).validate_python(
        client.get("/api/users/t-admin/sessions", headers=admin).json()
    )
