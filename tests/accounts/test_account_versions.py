"""An account's role and scope carry a version (migration 0039_account_version): an admin's
change names the version it was made against, and a stale one is refused — through the API
(If-Match) and through the workbench form (its hidden version), where the page then shows the
account as it is now."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import auth, sign_in, with_etag


def _scope(session: Session, name: str) -> tuple[str, str | None, int]:
    row = session.execute(
        text("SELECT role, city_code, version FROM landmatch.app_user WHERE name = :n"),
        {"n": name},
    ).one()
    return row[0], row[1], row[2]


def test_a_change_of_role_or_scope_names_the_accounts_version(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    h = auth(tokens["admin"])
    url = "/api/users/t-bureau-sjz"
    first = client.get(url, headers=h)
    assert first.status_code == 200 and first.json()["version"] == 1
    assert first.headers["ETag"] == '"t-bureau-sjz.v1"'

    missing = client.patch(url, json={"city_code": "130200"}, headers=h)
    assert missing.status_code == 428, missing.text
    ok = client.patch(url, json={"city_code": "130200"}, headers=with_etag(client, url, h))
    assert ok.status_code == 200, ok.text
    assert ok.json()["city_code"] == "130200" and ok.json()["version"] == 2
    assert ok.headers["ETag"] == '"t-bureau-sjz.v2"'

    # A second admin still holding version 1 widens it back to the province: refused.
    stale = client.patch(
        url, json={"city_code": "130000"}, headers=h | {"If-Match": first.headers["ETag"]}
    )
    assert stale.status_code == 412, stale.text
    assert "已被他人修改" in stale.json()["detail"]
    assert _scope(session, "t-bureau-sjz") == ("bureau", "130200", 2)

    # Enabling or disabling is no change of scope: no version needed.
    assert client.patch(url, json={"active": False}, headers=h).json()["active"] is False


def test_a_stale_account_form_is_not_saved_and_shows_the_account_as_it_is(
    client: TestClient, session: Session, tokens: dict[str, str], passwords: dict[str, str]
) -> None:
    csrf = sign_in(client, passwords["admin"])
    page = client.get("/workbench/users/t-bureau-sjz")
    opened = re.search(r'name="version" value="(\d+)"', page.text)
    assert opened is not None and opened.group(1) == "1"

    # Meanwhile another admin narrows the account to 唐山 through the API.
    narrowed = client.patch(
        "/api/users/t-bureau-sjz",
        json={"city_code": "130200"},
        headers=auth(tokens["admin"]) | {"If-Match": '"t-bureau-sjz.v1"'},
    )
    assert narrowed.status_code == 200, narrowed.text

    form = {"role": "bureau", "city_code": "130000", "zone_code": "", "team": ""}
    r = client.post(
        "/workbench/users/t-bureau-sjz",
        data=form | {"version": opened.group(1), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 200, r.text
    assert "已被他人修改，未保存" in r.text
    assert 'name="version" value="2"' in r.text  # the form now stands on the saved version
    assert _scope(session, "t-bureau-sjz") == ("bureau", "130200", 2)

    # Sent again on the version it now shows, the change is saved.
    again = client.post(
        "/workbench/users/t-bureau-sjz",
        data=form | {"version": "2", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert again.status_code == 303, again.text
    assert _scope(session, "t-bureau-sjz") == ("bureau", None, 3)
