"""A stored run replayed after its parcels changed: the public never gets a parcel that is no
longer public ready land (made internal, supplied, deleted), nor an assembly holding one, and is
told how many were left out, as proposals say it; staff keep every site, marked with its status
now."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.api.schemas import MatchResult
from landmatch.auth import PUBLIC, Principal
from landmatch.match import runs
from tests.conftest import auth

REQ = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400, "top": 10}
ADMIN = Principal(name="t-admin", role="admin")


def _codes(run: dict[str, Any]) -> list[str]:
    return [c for f in run["features"] for c in f["properties"]["members"]]


def _change(session: Session, made_internal: str, supplied: str, deleted: str) -> None:
    session.execute(
        text("UPDATE landmatch.parcel SET visibility = 'internal' WHERE code = :c"),
        {"c": made_internal},
    )
    session.execute(
        text("UPDATE landmatch.parcel SET status = 'supplied' WHERE code = :c"), {"c": supplied}
    )
    session.execute(
        text("UPDATE landmatch.parcel SET deleted_at = now() WHERE code = :c"), {"c": deleted}
    )


def test_a_public_run_drops_what_is_no_longer_public(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    run = client.post("/api/match", json=REQ).json()
    mid = run["match_id"]
    codes = _codes(run)
    assert len(codes) >= 5
    internal, supplied, deleted = codes[0], codes[2], codes[4]
    _change(session, internal, supplied, deleted)
    note = "另有 3 宗地块目前不再公开供应，未列出。"  # as proposals say it (runs.withdrawn_note)

    replay = client.get(f"/api/match/{mid}")
    assert replay.status_code == 200
    body = replay.json()
    MatchResult.model_validate(body)  # still the documented shape
    for gone in (internal, supplied, deleted):
        assert gone not in replay.text  # nowhere: no geometry, price, zone, near miss
    assert _codes(body) == [c for c in codes if c not in (internal, supplied, deleted)]
    assert body["withdrawn"] == 3 and body["numberReturned"] == len(codes) - 3
    assert body["warnings"][-1] == note
    page = client.get(f"/match/{mid}/map")
    assert page.status_code == 200
    assert internal not in page.text and supplied not in page.text and deleted not in page.text
    assert note in page.text and codes[1] in page.text

    # Staff keep every site, marked with what changed (visibility is not news to them).
    staff = client.get(f"/api/match/{mid}", headers=auth(tokens["admin"])).json()
    MatchResult.model_validate(staff)
    assert _codes(staff) == codes and staff.get("withdrawn", 0) == 0
    marks = {
        f["properties"]["members"][0]: f["properties"].get("current_status")
        for f in staff["features"]
    }
    assert marks[supplied] == {supplied: "supplied"}
    assert marks[deleted] == {deleted: "deleted"}
    assert marks[internal] is None and marks[codes[1]] is None
    by_code = {f["properties"]["members"][0]: f["properties"] for f in staff["features"]}
    assert "地块 " + supplied + " 现状已变为已供应" in by_code[supplied]["warnings"]
    assert "地块 " + deleted + " 匹配后已删除" in by_code[deleted]["warnings"]


def test_a_staff_run_shown_to_staff_marks_the_status_now(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    h = auth(tokens["promoter"])
    run = client.post("/api/match", json=REQ, headers=h).json()
    codes = _codes(run)
    session.execute(
        text("UPDATE landmatch.parcel SET status = 'withdrawn' WHERE code = :c"), {"c": codes[0]}
    )
    again = client.get(f"/api/match/{run['match_id']}", headers=h).json()
    assert _codes(again) == codes
    assert again["features"][0]["properties"]["current_status"] == {codes[0]: "withdrawn"}
    assert again["features"][1] == run["features"][1]  # unchanged sites as they were
    page = client.get(f"/match/{run['match_id']}/map", headers=h)
    assert page.status_code == 200 and f"地块 {codes[0]} 现状已变为已撤回" in page.text


def test_an_assembly_holding_such_a_parcel_is_dropped_or_marked(
    client: TestClient, session: Session
) -> None:
    run = client.post("/api/match", json=REQ).json()
    codes = _codes(run)
    a, b, c = codes[0], codes[1], codes[2]
    # A run with an assembly of two of its parcels (the engine makes them only when no single
    # parcel is large enough; the replay reads any run).
    stored = copy.deepcopy(run)
    assembly = {
        "type": "Feature",
        "id": f"{b}+{c}",
        "geometry": run["features"][1]["geometry"],
        "properties": {
            "rank": 1,
            "kind": "assembly",
            "name": runs.ASSEMBLY_NAME,
            "members": [b, c],
            "score": 50.0,
            "area_mu": 100.0,
            "status": "ready",
            "city_code": "130100",
            "total_price_wan": None,
            "coming_available": False,
            "breakdown": [],
            "warnings": [],
        },
    }
    stored["features"] = [stored["features"][0], assembly]
    stored["numberReturned"], stored["assemblies"] = 1, 1
    session.execute(
        text("UPDATE landmatch.parcel SET visibility = 'internal' WHERE code = :c"), {"c": c}
    )
    public = runs.as_seen_now(session, copy.deepcopy(stored), PUBLIC)
    assert _codes(public) == [a] and public["assemblies"] == 0 and public["withdrawn"] == 1
    assert public["warnings"][-1] == runs.withdrawn_note(1)
    session.execute(
        text("UPDATE landmatch.parcel SET status = 'supplied' WHERE code = :c"), {"c": c}
    )
    staff = runs.as_seen_now(session, copy.deepcopy(stored), ADMIN)
    marked = staff["features"][1]["properties"]
    assert marked["current_status"] == {c: "supplied"}
    assert f"地块 {c} 现状已变为已供应" in marked["warnings"]
    assert staff["features"][0] == stored["features"][0]
    # Nothing changed: the run itself.
    session.execute(
        text("UPDATE landmatch.parcel SET status = 'ready', visibility = 'public' WHERE code = :c"),
        {"c": c},
    )
    same = copy.deepcopy(stored)
    assert runs.as_seen_now(session, same, PUBLIC) is same
    assert runs.as_seen_now(session, same, ADMIN) is same
