"""A deleted project can be brought back (migration 0046_project_restore): a delete keeps the
project (left out of every read), releases its holds and ends its proposals' links; the
team's list of deleted projects shows each as it was deleted, and a restore — by the team or
an admin, checked under the row lock against the version, with a reason kept in its history —
brings it back with its requirement and timeline, its holds and links still ended and said so.
Walked as each role over the API and the workbench pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.accounts.users import add_user
from landmatch.auth import Principal
from landmatch.errors import NotFound
from landmatch.match import projects as svc
from tests.accounts_made import add_usable_user
from tests.conftest import TEST_PASSWORD, auth, sign_in, with_etag

REQ = {"industry": "36", "area_mu_min": 20, "area_mu_max": 150, "top": 5}


@pytest.fixture
def gone(client: TestClient, tokens: dict[str, str], session: Session) -> dict[str, Any]:
    """Team A's project, edited, noted, matched and holding a parcel, then deleted."""
    h = auth(tokens["promoter"])
    p = client.post(
        "/api/projects",
        json={
            "name": "误删的汽车项目",
            "investor": "某投资方",
            "notes": "说明",
            "requirement": REQ,
        },
        headers=h,
    ).json()
    pid = p["id"]
    run = client.post(f"/api/projects/{pid}/match", headers=h).json()
    code = run["features"][0]["id"]
    held = client.post(
        "/api/reservations", json={"parcel_code": code, "project_id": pid}, headers=h
    )
    assert held.status_code == 201, held.text
    session.execute(
        text(
            "INSERT INTO landmatch.project_event (project_id, actor, kind, body) "
            "VALUES (:p, 't-promoter', 'note', '已约投资方下周考察')"
        ),
        {"p": pid},
    )
    r = client.delete(f"/api/projects/{pid}", headers=with_etag(client, f"/api/projects/{pid}", h))
    assert r.status_code == 204, r.text
    return {"id": pid, "code": code, "run": run["match_id"]}


def _deleted(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get("/api/projects/deleted", headers=headers)


def test_a_deleted_project_is_gone_from_reads_and_its_hold_released(
    client: TestClient, tokens: dict[str, str], gone: dict[str, Any], session: Session
) -> None:
    h, pid = auth(tokens["promoter"]), gone["id"]
    assert client.get(f"/api/projects/{pid}", headers=h).status_code == 404
    assert pid not in [p["id"] for p in client.get("/api/projects", headers=h).json()]
    patched = client.patch(
        f"/api/projects/{pid}", json={"name": "x"}, headers={**h, "If-Match": "*"}
    )
    assert patched.status_code == 404
    again = client.post(
        "/api/reservations", json={"parcel_code": gone["code"], "project_id": pid}, headers=h
    )
    assert again.status_code == 404
    assert client.post(f"/api/projects/{pid}/match", headers=h).status_code == 404
    held = session.execute(
        text("SELECT released_at IS NOT NULL FROM landmatch.reservation WHERE project_id = :p"),
        {"p": pid},
    ).scalars()
    assert list(held) == [True]
    # The delete is a version with who and why.
    last = session.execute(
        text(
            "SELECT op, actor, reason, row ->> 'deleted_by' FROM landmatch.layer_version "
            "WHERE layer = 'project' AND record_id = :p ORDER BY id DESC LIMIT 1"
        ),
        {"p": pid},
    ).one()
    assert tuple(last) == ("update", "t-promoter", "删除项目", "t-promoter")


def test_restore_over_the_api_as_each_role(
    client: TestClient, tokens: dict[str, str], gone: dict[str, Any], session: Session
) -> None:
    pid = gone["id"]
    other = auth(add_user(session, "t-promoter-b", "promoter", team="t-team-b"))
    session.flush()
    h, adm = auth(tokens["promoter"]), auth(tokens["admin"])
    # The team and the admin see it, as it was deleted; another team, nothing.
    mine = _deleted(client, h).json()
    [d] = [d for d in mine if d["id"] == pid]
    assert d["name"] == "误删的汽车项目" and d["requirement"]["industry"] == "36"
    assert d["deleted_by"] == "t-promoter" and d["released"] == [gone["code"]]
    assert pid in [d["id"] for d in _deleted(client, adm).json()]
    assert pid not in [d["id"] for d in _deleted(client, other).json()]
    for role in ("bureau", "zone"):
        assert _deleted(client, auth(tokens[role])).status_code == 403
    assert _deleted(client, {}).status_code == 401
    tag = f'"{pid}.v{d["version"]}"'
    url = f"/api/projects/{pid}/restore"
    body = {"reason": "误删"}
    # Refused: anonymous, bureau, zone (403), another team (404, as if absent), no If-Match
    # (428), a stale version (412); none leaves a trace.
    assert client.post(url, json=body, headers={"If-Match": tag}).status_code == 401
    for role in ("bureau", "zone"):
        r = client.post(url, json=body, headers={**auth(tokens[role]), "If-Match": tag})
        assert r.status_code == 403, (role, r.text)
    assert client.post(url, json=body, headers={**other, "If-Match": tag}).status_code == 404
    assert client.post(url, json=body, headers=h).status_code == 428
    stale = f'"{pid}.v{d["version"] - 1}"'
    assert client.post(url, json=body, headers={**h, "If-Match": stale}).status_code == 412
    assert client.get(f"/api/projects/{pid}", headers=h).status_code == 404
    # The team restores it: back with its requirement; the hold stays released, said so.
    r = client.post(url, json=body, headers={**h, "If-Match": tag})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["name"] == "误删的汽车项目" and out["requirement"]["area_mu_max"] == 150
    assert out["released"] == [gone["code"]] and out["revoked"] == 0
    assert r.headers["ETag"] == f'"{pid}.v{d["version"] + 1}"'
    assert client.get(f"/api/projects/{pid}", headers=h).status_code == 200
    assert pid not in [d["id"] for d in _deleted(client, h).json()]
    holds = client.get("/api/reservations?active=false", headers=h).json()
    assert [x["released_at"] is not None for x in holds if x["project_id"] == pid] == [True]
    # Restored twice: 409. The restore is a version with who and why.
    again = client.post(url, json=body, headers={**h, "If-Match": r.headers["ETag"]})
    assert again.status_code == 409
    last = session.execute(
        text(
            "SELECT op, actor, reason, row ->> 'deleted_at' FROM landmatch.layer_version "
            "WHERE layer = 'project' AND record_id = :p ORDER BY id DESC LIMIT 1"
        ),
        {"p": pid},
    ).one()
    assert tuple(last) == ("update", "t-promoter", "误删", None)
    # An admin restores another team's project too.
    tagged = with_etag(client, f"/api/projects/{pid}", h)
    assert client.delete(f"/api/projects/{pid}", headers=tagged).status_code == 204
    [d] = [d for d in _deleted(client, adm).json() if d["id"] == pid]
    r = client.post(url, headers={**adm, "If-Match": f'"{pid}.v{d["version"]}"'})
    assert r.status_code == 200, r.text


def test_another_teams_restore_is_refused_inside_the_write(
    session: Session, tokens: dict[str, str], gone: dict[str, Any]
) -> None:
    """The service itself (not the route) refuses another team, under the row lock."""
    b = Principal(name="t-promoter-b", role="promoter", team="t-team-b")
    with pytest.raises(NotFound):
        svc.restore_project(session, b, gone["id"], if_match="*", reason="x")
    assert session.execute(
        text("SELECT deleted_at IS NOT NULL FROM landmatch.project WHERE id = :p"),
        {"p": gone["id"]},
    ).scalar_one()


def test_restore_in_the_workbench_as_each_role(
    make_client: Any,
    tokens: dict[str, str],
    passwords: dict[str, str],
    gone: dict[str, Any],
    session: Session,
    password_hash: str,
) -> None:
    pid = gone["id"]
    add_usable_user(
        session, "t-promoter-b", "promoter", team="t-team-b", password_hash=password_hash
    )
    anon = make_client()
    r = anon.get("/workbench/projects/deleted", follow_redirects=False)
    assert r.status_code in (302, 303) and "/workbench/login" in r.headers["location"]
    for role in ("bureau", "zone"):
        c = make_client()
        sign_in(c, passwords[role])
        assert c.get("/workbench/projects/deleted").status_code == 403
    b = make_client()
    csrf_b = sign_in(b, "t-promoter-b", TEST_PASSWORD)
    page = b.get("/workbench/projects/deleted")
    assert page.status_code == 200 and "误删的汽车项目" not in page.text
    assert 'id="no-deleted"' in page.text
    r = b.post(
        f"/workbench/projects/{pid}/restore",
        data={"csrf_token": csrf_b, "version": 5, "reason": "冒领"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert b.get("/workbench/projects/deleted").status_code == 200
    assert session.execute(
        text("SELECT deleted_at IS NOT NULL FROM landmatch.project WHERE id = :p"), {"p": pid}
    ).scalar_one()
    # The admin sees it; the team's promoter restores it.
    adm = make_client()
    sign_in(adm, passwords["admin"])
    assert "误删的汽车项目" in adm.get("/workbench/projects/deleted").text
    a = make_client()
    csrf = sign_in(a, passwords["promoter"])
    page = a.get("/workbench/projects/deleted")
    assert page.status_code == 200 and "误删的汽车项目" in page.text
    assert f"删除时释放的地块预留（{gone['code']}）仍为已释放" in page.text
    version = re.search(
        rf'action="/workbench/projects/{pid}/restore".*?name="version" value="(\d+)"',
        page.text,
        re.S,
    )
    assert version
    # Without the CSRF token, or without a reason: nothing restored.
    r = a.post(
        f"/workbench/projects/{pid}/restore",
        data={"version": version.group(1), "reason": "误删"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    r = a.post(
        f"/workbench/projects/{pid}/restore",
        data={"csrf_token": csrf, "version": version.group(1), "reason": " "},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/workbench/projects/deleted")
    assert a.get(f"/workbench/projects/{pid}").status_code == 404
    r = a.post(
        f"/workbench/projects/{pid}/restore",
        data={"csrf_token": csrf, "version": version.group(1), "reason": "误删，恢复"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith(f"/workbench/projects/{pid}")
    page = a.get(f"/workbench/projects/{pid}")
    assert page.status_code == 200
    assert f"已恢复项目“误删的汽车项目”；删除时释放的地块预留（{gone['code']}）" in page.text
    timeline = page.text.split('id="events"')[1]
    assert "恢复项目（误删，恢复）" in timeline and "删除项目" in timeline
    assert "已约投资方下周考察" in timeline  # the timeline came back with it
    assert "误删的汽车项目" in a.get("/workbench/projects").text
