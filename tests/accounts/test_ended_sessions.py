"""A browser left with a session cookie that names no live session (idled out, or never ours):
the public's reads answer as to the public and clear the cookie; what needs a signed-in
caller, and every write, still answers 401 登录已过期 (or the sign-in page saying so)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.api.security import SESSION_COOKIE
from landmatch.leads import inquiries
from landmatch.settings import Settings
from tests.conftest import sign_in

ENDED = "登录已过期或已退出，请重新登录"


def _ended_cookie(kind: str, client: TestClient, session: Session, name: str) -> str:
    """A cookie value the server no longer signs in: a real session idle for 61 minutes (the
    idle limit is 60), or a value that was never a session."""
    if kind == "garbage":
        return "garbage"
    sign_in(client, name)
    value = client.cookies.get(SESSION_COOKIE)
    assert value
    session.execute(
        text("UPDATE landmatch.user_session SET last_seen_at = now() - interval '61 minutes'")
    )
    client.cookies.clear()
    return value


def _with(cookie: str) -> dict[str, str]:
    # Sent as a header on each request: the test client would drop the cookie after the
    # first answer that clears it, which is what a browser does.
    return {"Cookie": f"{SESSION_COOKIE}={cookie}"}


def _clears(set_cookie: str | None) -> bool:
    return (
        set_cookie is not None
        and set_cookie.startswith(f'{SESSION_COOKIE}=""')
        and "max-age=0" in set_cookie.lower()
    )


def _internal_code(session: Session) -> str:
    return str(
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE visibility = 'internal' "
                "AND city_code = '130100' AND deleted_at IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    )


@pytest.mark.parametrize("kind", ["idle", "garbage"])
def test_the_public_reads_answer_as_to_the_public_and_clear_the_cookie(
    kind: str,
    client: TestClient,
    session: Session,
    passwords: dict[str, str],
    public_code: str,
) -> None:
    cookie = _ended_cookie(kind, client, session, passwords["bureau"])
    reads = [
        "/api/map/places",
        f"/api/search?q={quote(public_code)}",
        f"/parcels/{public_code}/card.html",
        f"/api/parcels/{public_code}/card",
        "/ogc/collections/parcels/items?limit=2",
        "/tiles/parcels/0/0/0.pbf",
        "/tiles/zones/5/26/12.pbf",
    ]
    for path in reads:
        anonymous = client.get(path)
        assert anonymous.status_code == 200, (path, anonymous.text)
        r = client.get(path, headers=_with(cookie))
        assert r.status_code == 200, (path, r.text)
        assert _clears(r.headers.get("set-cookie")), (path, r.headers)
        assert "public" not in r.headers.get("cache-control", ""), path
        if path.startswith("/ogc"):  # its timeStamp is the second the answer was made
            mine, theirs = r.json(), anonymous.json()
            assert mine.pop("timeStamp") and theirs.pop("timeStamp"), path
            assert mine == theirs, path  # exactly the public's answer
        elif not path.startswith("/tiles"):
            assert r.content == anonymous.content, path  # exactly the public's answer
    # HEAD is a read too.
    head = client.head("/api/map/places", headers=_with(cookie))
    assert head.status_code == 200 and _clears(head.headers.get("set-cookie"))
    # Never more than the public: a parcel the public may not see stays hidden.
    internal = _internal_code(session)
    for path in (f"/api/parcels/{internal}", f"/parcels/{internal}/card.html"):
        hidden = client.get(path, headers=_with(cookie))
        assert hidden.status_code == 404, (path, hidden.text)
        assert client.get(path).status_code == 404
    found = client.get(f"/api/search?q={quote(internal)}", headers=_with(cookie)).json()
    assert not [x for x in found["results"] if x.get("code") == internal]
    # A live session is neither cleared nor narrowed.
    sign_in(client, passwords["bureau"])
    r = client.get(f"/parcels/{internal}/card.html")
    assert r.status_code == 200 and "set-cookie" not in r.headers


@pytest.mark.parametrize("kind", ["idle", "garbage"])
def test_the_public_writes_answer_as_to_the_public_and_clear_the_cookie(
    kind: str,
    client: TestClient,
    session: Session,
    settings: Settings,
    passwords: dict[str, str],
    public_code: str,
) -> None:
    """The public map's match and 我有意向 with the cookie of an ended session (the known
    item of the journeys review): the public's answer, not 401, and the cookie is cleared;
    never more than the public's (no internal parcel ranked, the run stored as the public's)."""
    cookie = _ended_cookie(kind, client, session, passwords["bureau"])
    need = {"area_mu_min": 10, "area_mu_max": 400, "location": {"cities": ["130100"]}, "top": 50}
    anonymous = client.post("/api/match", json=need)
    assert anonymous.status_code == 200, anonymous.text
    r = client.post("/api/match", json=need, headers=_with(cookie))
    assert r.status_code == 200, r.text
    assert _clears(r.headers.get("set-cookie")), r.headers
    ranked = [f["properties"]["members"][0] for f in r.json()["features"]]
    assert ranked == [f["properties"]["members"][0] for f in anonymous.json()["features"]]
    visible = session.execute(
        text("SELECT code FROM landmatch.parcel WHERE code = ANY(:c) AND visibility = 'public'"),
        {"c": ranked},
    ).scalars()
    assert ranked and set(visible) == set(ranked)
    run = session.execute(
        text("SELECT actor, public FROM landmatch.match_run WHERE id = :i"),
        {"i": r.json()["match_id"]},
    ).one()
    assert tuple(run) == ("public", True)

    form = client.get("/api/inquiries/form", headers=_with(cookie)).json()
    session.execute(text("DELETE FROM landmatch.inquiry"))
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    body = {
        "token": inquiries.issue_token(settings.secret_key, issued),
        "parcel": public_code,
        "name": "张先生",
        "phone": "13800000000",
        "message": "拟投资建设汽车零部件项目",
        "consent": True,
        "website": "",
    }
    assert form["consent"]
    sent = client.post("/api/inquiries", json=body, headers=_with(cookie))
    assert sent.status_code == 201, sent.text
    assert _clears(sent.headers.get("set-cookie")), sent.headers


@pytest.mark.parametrize("kind", ["idle", "garbage"])
def test_what_needs_a_signed_in_caller_still_says_sign_in_again(
    kind: str, client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    cookie = _ended_cookie(kind, client, session, passwords["bureau"])
    for path in (
        "/api/me",
        "/api/layers/constraint_area",
        "/tiles/constraints/5/26/12.pbf",  # the public gets 403 here; this caller signs in again
        "/api/users",
    ):
        r = client.get(path, headers=_with(cookie))
        assert r.status_code == 401, (path, r.text)
        assert r.json()["detail"] == ENDED, path
        assert "www-authenticate" in r.headers
    # A write the public may make, sent with a CSRF token (a staff page's script meant to act
    # as the staff member), is told to sign in again too.
    r = client.post(
        "/api/match",
        json={"area_mu_min": 10, "area_mu_max": 200},
        headers=_with(cookie) | {"X-CSRF-Token": "x"},
    )
    assert r.status_code == 401 and r.json()["detail"] == ENDED, r.text
    assert "set-cookie" not in r.headers
    # Every staff write is refused, CSRF token or not.
    for csrf in ({}, {"X-CSRF-Token": "x"}):
        r = client.post(
            "/api/projects", json={"name": "过期会话的项目"}, headers=_with(cookie) | csrf
        )
        assert r.status_code == 401 and r.json()["detail"] == ENDED, r.text
        assert "set-cookie" not in r.headers
    # The workbench sends the browser to sign in, saying why.
    page = client.get("/workbench", headers=_with(cookie), follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/workbench/login?next=")
    flash = page.cookies.get("lm_flash")
    assert flash
    login = client.get(
        page.headers["location"], headers={"Cookie": f"{SESSION_COOKIE}={cookie}; lm_flash={flash}"}
    )
    assert login.status_code == 200 and ENDED in login.text
    # Someone who never signed in is not told to sign in again, and a bad token is refused
    # wherever it is sent.
    client.cookies.clear()
    r = client.get("/api/me")
    assert r.status_code == 401 and r.json()["detail"] != ENDED and "set-cookie" not in r.headers
    for path in ("/api/map/places", "/tiles/parcels/0/0/0.pbf"):
        r = client.get(path, headers={"Authorization": "Bearer lm_not-a-token"})
        assert r.status_code == 401, path


def test_a_form_sent_after_the_session_ended_returns_to_its_page(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    """Review 3, F4: a form posted with an ended session was sent to sign in with the POST's
    address as where to go next, so signing in ended on a 405 page. It goes back to the page
    the form was on (its same-site Referer; else the workbench's home), and the sign-in page
    says the form was not saved."""
    cookie = _ended_cookie("idle", client, session, passwords["bureau"])
    page = "/workbench/cases/targets?city=130100&year=2031"
    for referer, back in (
        (f"http://testserver{page}", page),
        ("https://elsewhere.example/workbench/users", "/workbench"),
        (None, "/workbench"),
    ):
        r = client.post(
            "/workbench/cases/targets/130100/2031/idle",
            data={"csrf_token": "x", "version": 0, "target_mu": "10"},
            headers=_with(cookie) | ({"Referer": referer} if referer else {}),
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:300]
        assert r.headers["location"] == f"/workbench/login?next={quote(back, safe='/')}", referer
    flash = r.cookies.get("lm_flash")
    assert flash
    login = client.get(
        r.headers["location"], headers={"Cookie": f"{SESSION_COOKIE}={cookie}; lm_flash={flash}"}
    )
    assert "刚才提交的内容未保存" in login.text
