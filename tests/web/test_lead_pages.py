"""The promoters' 线索 pages (issue #18 item 6, #15 §3): the team's leads from 我有意向, walked
as each role (another team's lead reads as 404); converting a lead into a project at stage 线索
and dismissing it, each under the lead's version; the home page's count; team coverage edited
by admins only. A lead's text is shown as text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import sign_in

ROLES = ("public", "admin", "bureau", "zone", "promoter")
TEAM = ("admin", "promoter")
PAYLOAD = "<script>alert('x')</script>"


def _lead(session: Session, code: str, team: str | None, name: str = "李经理") -> int:
    return int(
        session.execute(
            text(
                "INSERT INTO landmatch.inquiry (parcel_id, parcel_code, city_code, zone_id, "
                "owner_team, name, company, phone, message, consent_at, address, nonce) "
                "SELECT id, code, city_code, zone_id, :t, :n, :c, '13800000000', :m, now(), "
                "'127.0.0.1', md5(random()::text) FROM landmatch.parcel WHERE code = :code "
                "RETURNING id"
            ),
            {
                "t": team,
                "n": name,
                "c": "某新材料公司",
                "m": f"需要 100 亩 {PAYLOAD}",
                "code": code,
            },
        ).scalar_one()
    )


@pytest.fixture
def leads(session: Session, public_code: str) -> dict[str, int]:
    return {
        "own": _lead(session, public_code, "t-team-a"),
        "other": _lead(session, public_code, "t-team-b"),
        "none": _lead(session, public_code, None),
    }


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(
    client: TestClient, passwords: dict[str, str], leads: dict[str, int], role: str
) -> None:
    if role != "public":
        sign_in(client, passwords[role])
    pages = {
        "/workbench/leads": TEAM,
        "/workbench/leads?status=all&page=1": TEAM,
        f"/workbench/leads/{leads['own']}": TEAM,
        f"/workbench/leads/{leads['other']}": ("admin",),
        f"/workbench/leads/{leads['none']}": ("admin",),
        "/workbench/teams": ("admin",),
    }
    for path, allowed in pages.items():
        r = client.get(path, follow_redirects=False)
        if role == "public":
            assert r.status_code == 303 and r.headers["location"].startswith("/workbench/login")
        elif role in allowed:
            assert r.status_code == 200, (role, path)
        elif role == "promoter":  # another team's lead: as if it did not exist
            assert r.status_code == (404 if "/leads/" in path else 403), (role, path)
        else:
            assert r.status_code == 403 and "无权" in r.text, (role, path)


def test_promoter_sees_only_its_teams_leads(
    client: TestClient, passwords: dict[str, str], leads: dict[str, int]
) -> None:
    sign_in(client, passwords["promoter"])
    page = client.get("/workbench/leads?status=all").text
    assert f'/workbench/leads/{leads["own"]}"' in page
    assert f'/workbench/leads/{leads["other"]}"' not in page
    assert f'/workbench/leads/{leads["none"]}"' not in page
    home = client.get("/workbench").text
    assert 'id="home-leads"' in home
    assert re.search(r'id="home-leads-count">1<', home), home[home.find("home-leads") :][:300]


def test_lead_text_is_text(
    client: TestClient, passwords: dict[str, str], leads: dict[str, int]
) -> None:
    sign_in(client, passwords["promoter"])
    page = client.get(f"/workbench/leads/{leads['own']}").text
    assert PAYLOAD not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def _csrf(client: Any, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def test_convert_into_a_project_at_stage_lead(
    client: TestClient, passwords: dict[str, str], leads: dict[str, int], session: Session
) -> None:
    sign_in(client, passwords["promoter"])
    url = f"/workbench/leads/{leads['own']}"
    # Sent at 20:30 UTC: 04:30 the next day in Beijing, as the project's notes say it.
    session.execute(
        text("UPDATE landmatch.inquiry SET created_at = '2026-03-01 20:30:00+00' WHERE id = :i"),
        {"i": leads["own"]},
    )
    csrf = _csrf(client, url)
    r = client.post(
        url + "/convert", data={"version": 1, "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    found = re.search(r"/workbench/projects/(\d+)/requirement", r.headers["location"])
    assert found
    pid = int(found.group(1))
    p = (
        session.execute(text("SELECT * FROM landmatch.project WHERE id = :i"), {"i": pid})
        .one()
        ._mapping
    )
    assert p["pipeline_status"] == "new" and p["owner_team"] == "t-team-a"
    assert p["investor"] == "某新材料公司" and p["name"] == "某新材料公司意向项目"
    assert "13800000000" in p["notes"] and PAYLOAD in p["notes"]
    assert f"（线索 {leads['own']}，2026-03-02 04:30）" in p["notes"]
    assert p["requirement"]["location"]["cities"] == ["130100"]
    assert p["requirement"]["area_mu_min"] < p["requirement"]["area_mu_max"]
    lead = session.execute(
        text("SELECT status, project_id, version FROM landmatch.inquiry WHERE id = :i"),
        {"i": leads["own"]},
    ).one()
    assert tuple(lead) == ("converted", pid, 2)
    assert client.get(r.headers["location"]).status_code == 200
    # Done once: a second try (or a stale form) is refused in words, nothing more is made.
    again = client.post(url + "/convert", data={"version": 2, "csrf_token": csrf})
    assert "已处理" in again.text
    stale = client.post(url + "/dismiss", data={"version": 1, "csrf_token": csrf})
    assert "已被他人修改" in stale.text
    n = session.execute(
        text("SELECT count(*) FROM landmatch.project WHERE owner_team = 't-team-a'")
    ).scalar_one()
    assert n == 1
    # The project deleted (kept, to restore): the lead says so instead of a link to nothing.
    assert f'href="/workbench/projects/{pid}"' in client.get(url).text
    page = client.get(f"/workbench/projects/{pid}").text
    found = re.search(r'id="delete-form".*?name="version" value="(\d+)"', page)
    assert found
    r = client.post(
        f"/workbench/projects/{pid}/delete",
        data={"version": found.group(1), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/workbench/projects/deleted")
    page = client.get(url).text
    assert f'href="/workbench/projects/{pid}"' not in page
    assert '项目已删除（可在<a href="/workbench/projects/deleted">已删除的项目</a>中恢复）' in page


def test_dismiss_and_writes_as_each_role(
    client: TestClient, passwords: dict[str, str], leads: dict[str, int], session: Session
) -> None:
    for role in ("bureau", "zone"):
        csrf = sign_in(client, passwords[role])
        for action in ("convert", "dismiss"):
            r = client.post(
                f"/workbench/leads/{leads['own']}/{action}",
                data={"version": 1, "csrf_token": csrf},
                follow_redirects=False,
            )
            assert r.status_code == 403, (role, action)
        client.cookies.clear()
    csrf = sign_in(client, passwords["promoter"])
    r = client.post(
        f"/workbench/leads/{leads['other']}/dismiss",
        data={"version": 1, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "未找到线索" in client.get(r.headers["location"]).text
    r = client.post(f"/workbench/leads/{leads['own']}/dismiss", data={"version": 1, "note": "重复"})
    assert r.status_code == 403  # no CSRF token
    r = client.post(
        f"/workbench/leads/{leads['own']}/dismiss",
        data={"version": 1, "note": "重复", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    rows: dict[int, str] = dict(
        session.execute(
            text("SELECT id, status FROM landmatch.inquiry WHERE id = ANY(:i)"),
            {"i": list(leads.values())},
        ).all()
    )
    assert rows == {leads["own"]: "dismissed", leads["other"]: "new", leads["none"]: "new"}


def test_admin_assigns_and_edits_coverage(
    client: TestClient, passwords: dict[str, str], leads: dict[str, int], session: Session
) -> None:
    csrf = sign_in(client, passwords["admin"])
    r = client.post(
        f"/workbench/leads/{leads['none']}/assign",
        data={"version": 1, "team": "t-team-a", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    team = session.execute(
        text("SELECT owner_team FROM landmatch.inquiry WHERE id = :i"), {"i": leads["none"]}
    ).scalar_one()
    assert team == "t-team-a"
    r = client.post(
        "/workbench/teams",
        data={"team": "t-team-a", "city": "130100", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    dup = client.post("/workbench/teams", data={"team": "x", "city": "130100", "csrf_token": csrf})
    assert dup.status_code == 200 and "该城市已由其他团队负责" in dup.text
    both = client.post(
        "/workbench/teams", data={"team": "x", "city": "", "zone": "", "csrf_token": csrf}
    )
    assert "二选一" in both.text
    cid = session.execute(text("SELECT id FROM landmatch.team_coverage")).scalar_one()
    page = client.get("/workbench/teams").text
    assert "石家庄市" in page
    r = client.post(
        f"/workbench/teams/{cid}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert session.execute(text("SELECT count(*) FROM landmatch.team_coverage")).scalar_one() == 0


def test_promoter_cannot_edit_coverage_or_assign(
    client: TestClient, passwords: dict[str, str], leads: dict[str, int], session: Session
) -> None:
    csrf = sign_in(client, passwords["promoter"])
    r = client.post(
        "/workbench/teams", data={"team": "t-team-a", "city": "130100", "csrf_token": csrf}
    )
    assert r.status_code == 403
    r = client.post(
        f"/workbench/leads/{leads['own']}/assign",
        data={"version": 1, "team": "t-team-a", "csrf_token": csrf},
    )
    assert r.status_code == 403
    assert session.execute(text("SELECT count(*) FROM landmatch.team_coverage")).scalar_one() == 0
