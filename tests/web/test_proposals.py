"""选址建议书 (issue #15 §3): made from the comparison of a project's run, a signed expiring
public link showing public fields only, its openings recorded for the team, revocable; altered,
expired or revoked links answer one 404; another team can neither see nor revoke it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.dates import BEIJING, beijing_today
from landmatch.db.parcels import INTERNAL_COLUMNS
from landmatch.maps import printed
from tests.accounts_made import add_usable_user
from tests.conftest import auth, sign_in


@pytest.fixture
def made(
    client: TestClient, tokens: dict[str, str], passwords: dict[str, str], session: Session
) -> dict[str, Any]:
    h = auth(tokens["promoter"])
    req = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400, "top": 5}
    p = client.post(
        "/api/projects", json={"name": "建议书项目", "requirement": req}, headers=h
    ).json()
    run = client.post(f"/api/projects/{p['id']}/match", headers=h).json()
    codes = [
        f["properties"]["code"] for f in run["features"] if f["properties"]["kind"] == "parcel"
    ][:3]
    # One of them public with internal data planted, to prove none of it reaches the page.
    session.execute(
        text(
            "UPDATE landmatch.parcel SET visibility = 'public', holder = '内部持有人XYZ', "
            "notes = '内部备注XYZ', reserve_price_wan_per_mu = 12.345, contact_phone = '13900001111' "
            "WHERE code = :c"
        ),
        {"c": codes[0]},
    )
    csrf = sign_in(client, passwords["promoter"])
    r = client.post(
        f"/workbench/matches/{run['match_id']}/proposal",
        data={"codes": codes, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert (
        r.status_code == 303 and r.headers["location"] == f"/workbench/projects/{p['id']}#proposals"
    )
    page = client.get(f"/workbench/projects/{p['id']}").text
    found = re.search(r"/p/[0-9a-f-]+\.\d+\.[0-9a-f]+", page)
    assert found, page[page.find("选址建议书") : page.find("选址建议书") + 1500]
    link = found.group(0)
    return {"project": p, "codes": codes, "link": link, "csrf": csrf, "run": run}


def test_the_public_link_shows_public_fields_only_and_is_recorded(
    client: TestClient, made: dict[str, Any], session: Session
) -> None:
    client.cookies.clear()  # signed out
    r = client.get(made["link"])
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] in ("no-referrer", "same-origin")  # never sent elsewhere
    assert "建议书项目 选址建议书" in r.text and "地块对比" in r.text
    for planted in ("内部持有人XYZ", "内部备注XYZ", "12.345", "13900001111"):
        assert planted not in r.text
    for col in INTERNAL_COLUMNS:
        assert f'"{col}"' not in r.text
    assert made["codes"][0] in r.text
    opens = session.execute(
        text(
            "SELECT count(*) FROM landmatch.proposal_open o JOIN landmatch.proposal p "
            "ON p.id = o.proposal_id WHERE p.project_id = :p"
        ),
        {"p": made["project"]["id"]},
    ).scalar_one()
    assert opens == 1


def test_the_page_and_its_pdf_date_the_proposal_in_beijing_time(
    client: TestClient, made: dict[str, Any], session: Session
) -> None:
    """The journeys review: the investor's page printed the stored UTC timestamps' dates, so
    a proposal made in the Beijing morning read 编制于 the day before and its link's last day
    one day early, unlike the workbench and the PDF. Both say the Beijing dates."""
    pid, exp, _sig = made["link"].removeprefix("/p/").split(".")
    session.execute(
        text("UPDATE landmatch.proposal SET created_at = '2026-03-01 20:30:00+00' WHERE id = :i"),
        {"i": pid},
    )
    last_day = dt.datetime.fromtimestamp(int(exp), BEIJING).strftime("%Y-%m-%d")
    client.cookies.clear()
    page = client.get(made["link"]).text
    assert f"编制于 2026-03-02，链接有效至 {last_day}。" in page
    data = {
        "created_at": dt.datetime(2026, 3, 1, 20, 30, tzinfo=dt.UTC),
        "expires_at": dt.datetime.fromtimestamp(int(exp), dt.UTC),
    }
    assert printed.proposal_dates(data) == {"created_on": "2026-03-02", "expires_on": last_day}


def test_altered_expired_or_revoked_links_are_gone(
    client: TestClient, made: dict[str, Any], session: Session, passwords: dict[str, str]
) -> None:
    pid, exp, sig = made["link"].removeprefix("/p/").split(".")
    for bad in (
        f"/p/{pid}.{int(exp) + 86400}.{sig}",  # extended
        f"/p/{pid}.{exp}.{'0' * 32}",  # forged
        "/p/not-a-link",
    ):
        r = client.get(bad)
        assert r.status_code == 404 and "链接无效或已过期" in r.text
    session.execute(
        text("UPDATE landmatch.proposal SET expires_at = now() - interval '1 day' WHERE id = :i"),
        {"i": pid},
    )
    assert client.get(made["link"]).status_code == 404
    session.execute(
        text("UPDATE landmatch.proposal SET expires_at = to_timestamp(:e) WHERE id = :i"),
        {"i": pid, "e": int(exp)},
    )
    assert client.get(made["link"]).status_code == 200
    r = client.post(
        f"/workbench/proposals/{pid}/revoke",
        data={"csrf_token": made["csrf"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get(made["link"]).status_code == 404
    page = client.get(f"/workbench/projects/{made['project']['id']}").text
    assert "已停用" in page and "打开 1 次" in page


def test_other_roles_and_teams(
    client: TestClient,
    made: dict[str, Any],
    session: Session,
    passwords: dict[str, str],
    password_hash: str,
) -> None:

    pid = made["link"].removeprefix("/p/").split(".")[0]
    run_id = made["run"]["match_id"]
    add_usable_user(
        session, "t-promoter-b", "promoter", team="t-team-b", password_hash=password_hash
    )
    for who in ("t-promoter-b", passwords["bureau"], passwords["zone"]):
        client.cookies.clear()
        csrf = sign_in(client, who)
        r = client.post(f"/workbench/proposals/{pid}/revoke", data={"csrf_token": csrf})
        assert r.status_code in (403, 404), who
        r = client.post(
            f"/workbench/matches/{run_id}/proposal",
            data={"codes": made["codes"][:1], "csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code in (303, 403, 404), who
    assert (
        session.execute(
            text("SELECT count(*) FROM landmatch.proposal WHERE revoked_at IS NULL")
        ).scalar_one()
        == 1
    )
    assert session.execute(text("SELECT count(*) FROM landmatch.proposal")).scalar_one() == 1
    client.cookies.clear()
    r = client.post(f"/workbench/proposals/{pid}/revoke", follow_redirects=False)
    assert r.status_code in (303, 403)
    assert beijing_today()  # the link still opens for the investor
    assert client.get(made["link"]).status_code == 200


def test_the_link_on_the_project_page_is_the_sites_public_address(
    made: dict[str, Any], make_client: Any, passwords: dict[str, str]
) -> None:
    """Review 3, F1: the link to copy was built from the request's own host and scheme, so
    behind a proxy (uvicorn no longer trusts forwarded headers by itself) it read
    ``http://127.0.0.1:8000/p/…``; it is the configured public address
    (``LANDMATCH_PUBLIC_BASE_URL``), as the OGC API's links are."""
    configured = make_client(public_base_url="http://lm.example/gis")
    sign_in(configured, passwords["promoter"])
    page = configured.get(f"/workbench/projects/{made['project']['id']}").text
    assert f'value="http://lm.example/gis{made["link"]}' in page
