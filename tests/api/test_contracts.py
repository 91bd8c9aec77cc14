"""Typed contracts: every JSON route declares a response model, /openapi.json shows it, and the
live answers are that model (landmatch/api/schemas/; extra keys refused)."""

from __future__ import annotations

import json
import uuid
from types import UnionType
from typing import Any, Union, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import text
from sqlalchemy.orm import Session

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
from landmatch.api.schemas.history import ParcelHistory, RecordVersion, ZoneVersion
from landmatch.api.schemas.imports import ImportReport, ImportRollback
from landmatch.api.schemas.industries import IndustryDetail, IndustryPage
from landmatch.api.schemas.inquiries import InquiryForm
from landmatch.api.schemas.layers import Alert, ChangeReport, Coverage, LayerRecord
from landmatch.api.schemas.match import RequirementSchema
from landmatch.api.schemas.monitoring import MonitoringSummary
from landmatch.api.schemas.policies import Policy, PolicyPage
from landmatch.api.schemas.projects import (
    MatchingProjects,
    Project,
    Reservation,
    ReservationSeen,
    ReservationTeamSeen,
)
from landmatch.api.schemas.qa import QaReport
from landmatch.api.schemas.zones import Zone, ZoneAssessment, ZoneDetail, ZoneWritten
from landmatch.match.requirements import Requirement
from tests.conftest import auth
from tests.data import import_wizard_files as W


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
    req["location"] = {"cities": ["130100"]}  # the bureau's city: it sees the hold
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
    ours = TypeAdapter(list[Reservation | ReservationTeamSeen | ReservationSeen])
    assert held in ours.validate_python(client.get("/api/reservations", headers=team).json())
    seen = ours.validate_python(
        client.get("/api/reservations", headers=auth(tokens["bureau"])).json()
    )
    # The bureau of the parcel's city: another's hold, with its team, not its project.
    mine = [h for h in seen if h.id == held.id]
    assert len(mine) == 1 and isinstance(mine[0], ReservationTeamSeen), mine
    assert not mine[0].own and mine[0].owner_team == "t-team-a"
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


# --- Every JSON route declares its model --------------------------------------------------

# Routes that answer no JSON document of ours, each with its media types declared in
# ``responses=`` (checked below): files, tiles, and the OGC API's documents (JSON or HTML in
# the OGC standard's shapes, described by /ogc/api itself).
NOT_JSON = {
    ("GET", "/api/exports/parcels"),  # a file: geojson, gpkg, shp (zip), xlsx, txt
    ("GET", "/api/monitoring/export.xlsx"),  # a workbook
    ("GET", "/api/monitoring/exports/{job_id}/file"),  # an export job's workbook
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.pbf"),  # a Mapbox vector tile
    ("GET", "/ogc/"),
    ("GET", "/ogc/conformance"),
    ("GET", "/ogc/api"),
    ("GET", "/ogc/collections"),
    ("GET", "/ogc/collections/{cid}"),
    ("GET", "/ogc/collections/{cid}/queryables"),
    ("GET", "/ogc/collections/{cid}/items"),
    ("GET", "/ogc/collections/{cid}/items/{fid}"),
    ("GET", "/ogc/tileMatrixSets"),
    ("GET", "/ogc/tileMatrixSets/WebMercatorQuad"),
    ("GET", "/ogc/collections/{cid}/tiles"),
    ("GET", "/ogc/collections/{cid}/tiles/WebMercatorQuad"),
    ("GET", "/ogc/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}"),
}


def _api_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """Every operation /openapi.json shows (method, path, route); pages and the workbench are
    hidden from it (``include_in_schema=False``) and answer HTML."""
    out = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            out += [(m, str(context.path), route) for m in sorted(route.methods or ())]
    return out


def _is_model(t: Any) -> bool:
    """A pydantic model, or a list / union of them — not ``dict[str, Any]``."""
    if isinstance(t, type) and issubclass(t, BaseModel):
        return True
    args = [a for a in get_args(t) if a is not type(None)]
    return bool(args) and get_origin(t) in (list, Union, UnionType) and all(map(_is_model, args))


def test_every_json_route_declares_a_response_model(app: FastAPI) -> None:
    assert _is_model(list[Zone]) and _is_model(Zone | None) and not _is_model(dict[str, Any])
    routes = _api_routes(app)
    seen = {(m, p) for m, p, _ in routes}
    assert len(seen) > 100 and seen >= NOT_JSON, "NOT_JSON names routes that no longer exist"
    untyped = []
    for method, path, route in routes:
        declared = route.responses.get(200, {})
        if route.status_code == 204:  # answers nothing
            assert route.response_model is None, (method, path)
        elif (method, path) in NOT_JSON:
            assert declared.get("content"), (method, path)  # its media types
        elif not (_is_model(route.response_model) or _is_model(declared.get("model"))):
            untyped.append(f"{method} {path}: {route.response_model}")
    assert untyped == [], "declare a response_model (landmatch/api/schemas/):\n" + "\n".join(
        untyped
    )


# --- Live answers of the models added for #19 item 3 --------------------------------------


def test_the_requirement_schema_and_industries_are_their_models(client: TestClient) -> None:
    r = client.get("/api/match/schema")
    assert r.status_code == 200
    assert r.json() == Requirement.model_json_schema()  # sent as pydantic writes it
    assert "industry" in RequirementSchema.model_validate(r.json()).properties
    found = IndustryPage.model_validate(client.get("/api/industries", params={"q": "汽车"}).json())
    assert found.count == len(found.items) > 0
    one = IndustryDetail.model_validate(client.get("/api/industries/367").json())
    assert one.full_code == "C367" and one.land_uses and [i.code for i in one.lineage][-1] == "367"


def test_the_inquiry_form_is_its_model(client: TestClient) -> None:
    form = InquiryForm.model_validate(client.get("/api/inquiries/form").json())
    assert form.token and form.limits["message"] > 0


@pytest.mark.parametrize("role", ["admin", "bureau"])
def test_qa_is_its_model(client: TestClient, tokens: dict[str, str], role: str) -> None:
    r = client.get("/api/qa", params={"limit": 20}, headers=auth(tokens[role]))
    assert r.status_code == 200, r.text
    report = QaReport.model_validate(r.json())
    checks = {c.id: c for c in report.checks}
    assert checks["constraints"].by_city and checks["stale_utilities"].stale_days
    assert "by_city" not in r.json()["checks"][0]  # each check has the keys of its kind


@pytest.mark.parametrize("role", [None, "admin"])
def test_policies_are_their_models_without_staff_keys_for_the_public(
    client: TestClient, tokens: dict[str, str], role: str | None
) -> None:
    headers = auth(tokens[role]) if role else {}
    r = client.get("/api/policies", params={"limit": 5}, headers=headers)
    assert r.status_code == 200, r.text
    page = PolicyPage.model_validate(r.json())
    assert page.total >= len(page.items) > 0
    shown = client.get(f"/api/policies/{page.items[0].code}", headers=headers)
    one = Policy.model_validate(shown.json())
    assert ("version" in shown.json()) == (role is not None) == (one.version is not None)
    assert ("ETag" in shown.headers) == (role is not None)
    if role:
        history = client.get(f"/api/policies/{one.code}/history", headers=headers).json()
        TypeAdapter(list[RecordVersion]).validate_python(history)
        changed = client.patch(
            f"/api/policies/{one.code}",
            json={"summary": "契约测试"},
            headers=headers | {"If-Match": shown.headers["ETag"]},
        )
        assert changed.status_code == 200, changed.text
        assert Policy.model_validate(changed.json()).version == one.version + 1  # type: ignore[operator]


def test_zone_writes_history_and_assessments_are_their_models(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    code = session.execute(
        text(
            "SELECT z.code FROM landmatch.dev_zone z WHERE EXISTS (SELECT 1 FROM "
            "landmatch.zone_assessment a WHERE a.zone_id = z.id) ORDER BY z.id LIMIT 1"
        )
    ).scalar_one()
    tag = client.get(f"/api/zones/{code}", headers=admin).headers["ETag"]
    r = client.patch(
        f"/api/zones/{code}", json={"contact_name": "契约"}, headers=admin | {"If-Match": tag}
    )
    assert r.status_code == 200, r.text
    zone = ZoneWritten.model_validate(r.json())
    assert zone.warnings == [] and "facts" not in r.json()  # the boundary did not change
    for role in (None, "bureau"):
        headers = auth(tokens[role]) if role else {}
        listed = client.get(f"/api/zones/{code}/assessments", headers=headers).json()
        assert TypeAdapter(list[ZoneAssessment]).validate_python(listed)
        assert all(("valid" in a) == (role is not None) for a in listed)
    body = {"kind": "SEISMIC", "approved_on": "2025-03-01", "doc_no": "契约〔2025〕1号"}
    added = client.post(
        f"/api/zones/{code}/assessments", json=body, headers=admin | {"If-Match": r.headers["ETag"]}
    )
    assert added.status_code == 201, added.text
    new = ZoneAssessment.model_validate(added.json())
    edited = client.patch(
        f"/api/zones/{code}/assessments/{new.id}",
        json={"doc_no": "契约〔2025〕2号"},
        headers=admin | {"If-Match": added.headers["ETag"]},
    )
    assert ZoneAssessment.model_validate(edited.json()).doc_no == "契约〔2025〕2号"
    history = client.get(f"/api/zones/{code}/history", headers=admin).json()
    kinds = {v.layer for v in TypeAdapter(list[ZoneVersion]).validate_python(history)}
    assert kinds == {"dev_zone", "zone_assessment"}


def test_layers_coverage_and_alerts_are_their_models(
    client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    records = {}
    for layer in ("facility", "constraint_area"):
        listed = client.get(f"/api/layers/{layer}", headers=admin).json()
        records[layer] = TypeAdapter(list[LayerRecord]).validate_python(listed)
        assert records[layer] and ("severity" in listed[0]) == (layer == "constraint_area")
    one = client.get(f"/api/layers/facility/{records['facility'][0].code}", headers=admin)
    assert LayerRecord.model_validate(one.json()).geometry.type == "Point"
    changed = client.patch(
        f"/api/layers/facility/{records['facility'][0].code}",
        json={"name": "契约设施"},
        headers=admin | {"If-Match": one.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    report = ChangeReport.model_validate(changed.json())
    assert report.updated == [records["facility"][0].code] and changed.json()["coverage"] == {}
    body = {
        "kinds": ["永久基本农田"],
        "cities": ["130100"],
        "source": "契约",
        "as_of": "2025-09-30",
    }
    declared = client.post("/api/layers/constraint_area/coverage", json=body, headers=admin)
    assert declared.status_code == 200, declared.text
    assert ChangeReport.model_validate(declared.json()).coverage.declared == [
        "basic_farmland:130100"
    ]
    listed = client.get("/api/layers/constraint_area/coverage", headers=admin).json()
    assert TypeAdapter(list[Coverage]).validate_python(listed)
    alerts = client.get("/api/alerts", headers=admin).json()
    TypeAdapter(list[Alert]).validate_python(alerts)


def test_imports_rollback_and_parcel_history_are_their_models(
    client: TestClient, tokens: dict[str, str], public_code: str
) -> None:
    bureau = auth(tokens["bureau"])
    files = {"file": ("清单.xlsx", W.bureau_xlsx("K" + uuid.uuid4().hex[:6], fixed=True))}
    rejected = client.post("/api/imports", files=files, data={"dry_run": "true"}, headers=bureau)
    assert rejected.status_code == 200, rejected.text
    dry = ImportReport.model_validate(rejected.json())
    assert dry.rejected and dry.import_id is None and dry.columns
    assert "derived" not in rejected.json()  # a dry run settles nothing
    mapping = {"columns": json.dumps(W.MAPPING, ensure_ascii=False)}
    done = client.post("/api/imports", files=files, data=mapping, headers=bureau)
    assert done.status_code == 200, done.text
    report = ImportReport.model_validate(done.json())
    assert report.import_id and report.totals.created == 4 and report.derived
    undone = client.post(f"/api/imports/{report.import_id}/rollback", headers=bureau)
    assert undone.status_code == 200, undone.text
    assert ImportRollback.model_validate(undone.json()).deleted == 4
    history = client.get(f"/api/parcels/{public_code}/history", headers=bureau)
    assert ParcelHistory.model_validate(history.json()).versions
