"""Projects, match runs made for a project, and reservations belong to a promotion team (#13
item 6): walked as two teams, admin, a bureau and the public, over the API, the pages and the
services themselves (the check is made under the row lock, inside the write)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch.accounts.users import add_user
from landmatch.auth import Principal
from landmatch.errors import Forbidden, NotFound
from landmatch.match import projects as svc
from tests.conftest import auth

REQ = {"industry": "36", "area_mu_min": 20, "area_mu_max": 150, "top": 5}
INVESTOR = "甲方秘密投资集团"
NOTE = "仅甲队可见的预留备注"


@pytest.fixture
def teams(session: Session, tokens: dict[str, str]) -> dict[str, dict[str, str]]:
    """Headers per role: team A (the fixture promoter, t-team-a), team B, a promoter without
    a team, admin, bureau and the public."""
    b = add_user(session, "t-promoter-b", "promoter", team="t-team-b")
    none = add_user(session, "t-promoter-none", "promoter")
    session.flush()
    return {
        "a": auth(tokens["promoter"]),
        "b": auth(b),
        "noteam": auth(none),
        "admin": auth(tokens["admin"]),
        "bureau": auth(tokens["bureau"]),
        "public": {},
    }


@pytest.fixture
def held(client: TestClient, teams: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Team A's project with an investor, a run made for it and a hold on its best parcel."""
    h = teams["a"]
    p = client.post(
        "/api/projects",
        json={"name": "甲队汽车零部件", "investor": INVESTOR, "requirement": REQ},
        headers=h,
    )
    assert p.status_code == 201, p.text
    assert p.json()["owner_team"] == "t-team-a"
    run = client.post(f"/api/projects/{p.json()['id']}/match", headers=h).json()
    code = run["features"][0]["id"]
    r = client.post(
        "/api/reservations",
        json={
            "parcel_code": code,
            "project_id": p.json()["id"],
            "until": "2099-12-31",
            "note": NOTE,
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    return {
        "project": p.json(),
        "etag": client.get(f"/api/projects/{p.json()['id']}", headers=h).headers["ETag"],
        "run": run["match_id"],
        "code": code,
        "reservation": r.json()["id"],
    }


def test_projects_are_seen_and_written_by_their_team_and_admin_only(
    client: TestClient, teams: dict[str, dict[str, str]], held: dict[str, Any]
) -> None:
    pid = held["project"]["id"]
    url = f"/api/projects/{pid}"
    for role in ("a", "admin"):
        assert client.get(url, headers=teams[role]).json()["investor"] == INVESTOR
        assert pid in [p["id"] for p in client.get("/api/projects", headers=teams[role]).json()]
    # Another team: as if it did not exist, for reading and for every write (even If-Match: *).
    b = teams["b"]
    assert client.get(url, headers=b).status_code == 404
    assert pid not in [p["id"] for p in client.get("/api/projects", headers=b).json()]
    for body in ({"notes": "改"}, {"pipeline_status": "lost"}):
        r = client.patch(url, json=body, headers={**b, "If-Match": held["etag"]})
        assert r.status_code == 404, r.text
    assert client.delete(url, headers={**b, "If-Match": "*"}).status_code == 404
    assert client.post(f"{url}/match", headers=b).status_code == 404
    r = client.post("/api/match", json={**REQ, "project_id": pid}, headers=b)
    assert r.status_code == 422 and INVESTOR not in r.text
    # A promoter without a team sees none and may not create one; bureau and public: no access.
    assert client.get("/api/projects", headers=teams["noteam"]).json() == []
    made = client.post(
        "/api/projects", json={"name": "无团队", "requirement": REQ}, headers=teams["noteam"]
    )
    assert made.status_code == 403
    assert client.get(url, headers=teams["bureau"]).status_code == 403
    assert client.get(url, headers=teams["public"]).status_code == 401
    # A promoter cannot file a project under another team; an admin can.
    other = {"name": "冒名", "requirement": REQ, "team": "t-team-b"}
    assert client.post("/api/projects", json=other, headers=teams["a"]).status_code == 403
    r = client.post("/api/projects", json=other, headers=teams["admin"])
    assert r.status_code == 201 and r.json()["owner_team"] == "t-team-b"
    assert client.get(f"/api/projects/{r.json()['id']}", headers=b).status_code == 200
    # The owners: mark lost, then delete (admin too could).
    lost = client.patch(
        url, json={"pipeline_status": "lost"}, headers={**teams["a"], "If-Match": held["etag"]}
    )
    assert lost.status_code == 200 and lost.json()["pipeline_status"] == "lost"
    # A lost project holds no land (the journeys review): its hold ended with the change.
    holds = client.get("/api/reservations", headers=teams["a"]).json()
    assert all(r["id"] != held["reservation"] or r["released_at"] for r in holds), holds
    gone = client.delete(url, headers={**teams["admin"], "If-Match": lost.headers["ETag"]})
    assert gone.status_code == 204


def test_others_see_that_a_parcel_is_held_and_until_when_only(
    client: TestClient, teams: dict[str, dict[str, str]], held: dict[str, Any]
) -> None:
    code, rid = held["code"], held["reservation"]
    for role in ("a", "admin"):
        mine = [r for r in client.get("/api/reservations", headers=teams[role]).json()]
        r = next(r for r in mine if r["id"] == rid)
        assert r["own"] and r["note"] == NOTE and r["project_name"] == "甲队汽车零部件"
    for role in ("b", "bureau", "noteam"):
        rows = client.get("/api/reservations", headers=teams[role])
        assert rows.status_code == 200
        r = next(r for r in rows.json() if r["id"] == rid)
        assert r == {
            "id": rid,
            "parcel_code": code,
            "parcel_id": r["parcel_id"],
            "until": "2099-12-31",
            "created_at": r["created_at"],
            "released_at": None,
            "own": False,
        }
        assert "甲队" not in rows.text and NOTE not in rows.text and "t-promoter" not in rows.text
        card = client.get(f"/api/parcels/{code}/card", headers=teams[role]).json()
        assert card["internal"]["reservation"] == {"until": "2099-12-31", "own": False}
    card = client.get(f"/api/parcels/{code}/card", headers=teams["a"]).json()
    assert card["internal"]["reservation"]["note"] == NOTE
    assert client.get("/api/reservations", headers=teams["public"]).status_code == 401
    # Team B can neither release A's hold nor take the parcel, and is not told whose it is.
    assert client.delete(f"/api/reservations/{rid}", headers=teams["b"]).status_code == 403
    b_project = client.post(
        "/api/projects", json={"name": "乙队项目", "requirement": REQ}, headers=teams["b"]
    ).json()
    taken = client.post(
        "/api/reservations",
        json={"parcel_code": code, "project_id": b_project["id"]},
        headers=teams["b"],
    )
    assert taken.status_code == 409 and "甲队" not in taken.text and "2099-12-31" in taken.text
    # Nor hold a parcel for A's project.
    r = client.post(
        "/api/reservations",
        json={"parcel_code": code, "project_id": held["project"]["id"]},
        headers=teams["b"],
    )
    assert r.status_code == 404
    # Admin releases; then B may hold it.
    assert client.delete(f"/api/reservations/{rid}", headers=teams["admin"]).status_code == 200
    taken = client.post(
        "/api/reservations",
        json={"parcel_code": code, "project_id": b_project["id"]},
        headers=teams["b"],
    )
    assert taken.status_code == 201, taken.text


def test_runs_made_for_a_project_are_the_teams(
    client: TestClient, teams: dict[str, dict[str, str]], held: dict[str, Any]
) -> None:
    run = held["run"]
    for role in ("a", "admin"):
        assert client.get(f"/api/match/{run}", headers=teams[role]).status_code == 200
        assert client.get(f"/match/{run}/map", headers=teams[role]).status_code == 200
    for role in ("b", "bureau", "noteam", "public"):
        assert client.get(f"/api/match/{run}", headers=teams[role]).status_code == 404, role
        assert client.get(f"/match/{run}/map", headers=teams[role]).status_code == 404, role
    # A run not made for a project stays readable by staff, as before.
    free = client.post("/api/match", json=REQ, headers=teams["b"]).json()["match_id"]
    assert client.get(f"/api/match/{free}", headers=teams["a"]).status_code == 200


def test_reverse_match_hides_other_teams_projects(
    client: TestClient, teams: dict[str, dict[str, str]], held: dict[str, Any]
) -> None:
    code = held["code"]
    for role, own in (("a", True), ("admin", True), ("b", False), ("bureau", False)):
        r = client.get(f"/api/parcels/{code}/matching-projects", headers=teams[role])
        assert r.status_code == 200
        mine = [p for p in r.json()["projects"] if p["own"]]
        if own:
            assert any(p["investor"] == INVESTOR for p in mine)
        else:
            assert INVESTOR not in r.text and "甲队" not in r.text
            assert any(p["project_id"] is None for p in r.json()["projects"])


def test_services_check_the_owner_under_the_row_lock(
    session: Session, tokens: dict[str, str], held: dict[str, Any]
) -> None:
    """The services refuse another team's writes themselves (CLI and pages call them too), and
    a refused write changes nothing."""
    b = Principal(name="t-promoter-b", role="promoter", team="t-team-b")
    pid, rid = held["project"]["id"], held["reservation"]
    with pytest.raises(NotFound):
        svc.update_project(session, b, pid, svc.ProjectPatch(pipeline_status="lost"), if_match="*")
    with pytest.raises(NotFound):
        svc.delete_project(session, b, pid, if_match="*")
    with pytest.raises(Forbidden):
        svc.release(session, b, rid)
    row = session.execute(
        text(
            "SELECT p.pipeline_status, r.released_at FROM landmatch.project p "
            "JOIN landmatch.reservation r ON r.project_id = p.id WHERE p.id = :p"
        ),
        {"p": pid},
    ).one()
    assert row.pipeline_status != "lost" and row.released_at is None


def test_migration_backfills_the_owner_team(
    conn: Connection, session: Session, tokens: dict[str, str]
) -> None:
    """0021: existing projects take their maker's team; their holds and runs the project's."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    mod = importlib.import_module("landmatch.db.migrations.versions.0021_owned_projects")
    with Operations.context(MigrationContext.configure(conn)):
        mod.downgrade()
        ids = conn.execute(
            text(
                "WITH pr AS (INSERT INTO landmatch.project (name, requirement, owner) "
                "VALUES ('旧项目', '{}'::jsonb, 't-promoter'), ('无主', '{}'::jsonb, 'gone') "
                "RETURNING id) SELECT array_agg(id ORDER BY id) FROM pr"
            )
        ).scalar_one()
        parcel = conn.execute(
            text("SELECT id FROM landmatch.parcel WHERE deleted_at IS NULL LIMIT 1")
        ).scalar_one()
        conn.execute(
            text("INSERT INTO landmatch.reservation (parcel_id, project_id) VALUES (:pa, :p)"),
            {"pa": parcel, "p": ids[0]},
        )
        conn.execute(
            text(
                "INSERT INTO landmatch.match_run (id, project_id, request, body, public) VALUES "
                "('00000000-0000-0000-0000-0000000000aa', :p, '{}'::jsonb, '\\x7b7d', false)"
            ),
            {"p": ids[0]},
        )
        mod.upgrade()
    teams = conn.execute(
        text(
            "SELECT (SELECT owner_team FROM landmatch.project WHERE id = :a), "
            "(SELECT owner_team FROM landmatch.project WHERE id = :b), "
            "(SELECT owner_team FROM landmatch.reservation WHERE project_id = :a), "
            "(SELECT owner_team FROM landmatch.match_run WHERE project_id = :a)"
        ),
        {"a": ids[0], "b": ids[1]},
    ).one()
    assert tuple(teams) == ("t-team-a", None, "t-team-a", "t-team-a")
