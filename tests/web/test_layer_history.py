"""A reference-layer feature's history and restore in the workbench
(``landmatch.reflayers.history``): the versions with who, when, why and old → new; a deleted
feature listed and restored with a reason; a restore checks the version the page showed
(412, nothing written) and the caller's city (another city's bureau: 403); zone committees and
promoters have no page; CSRF; text stays text."""

from __future__ import annotations

import re
from typing import Any

import pytest
import shapely.geometry
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.db.locking import ANY
from landmatch.reflayers import changes
from tests.accounts_made import add_usable_user
from tests.conftest import sign_in

CODE = "hist-sub-1"
ADMIN = Principal(role="admin", name="t-seed")


def _state(session: Session) -> Any:
    return session.execute(
        text("SELECT name, version FROM landmatch.facility WHERE code = :c"), {"c": CODE}
    ).first()


@pytest.fixture
def deleted(session: Session) -> None:
    """A 石家庄 substation created, renamed, then deleted."""
    rec = {
        "code": CODE,
        "name": "<i>原名</i>变电站",
        "kind": "substation",
        "city_code": "130100",
        "source": None,
        "geometry": shapely.geometry.Point(114.53, 38.02),
    }
    changes.apply_changes(session, ADMIN, "facility", [rec], reason="新建")
    changes.update_record(
        session, ADMIN, "facility", CODE, {"name": "改名变电站"}, if_match=ANY, reason="改名"
    )
    changes.delete_record(session, ADMIN, "facility", CODE, "误删", if_match=ANY)
    session.flush()


@pytest.fixture
def other_bureau(session: Session, password_hash: str) -> str:
    add_usable_user(session, "t-bureau-ts3", "bureau", "130200", password_hash=password_hash)
    return "t-bureau-ts3"


def _forms(html: str) -> list[dict[str, str]]:
    """Each restore form's hidden values (current, version_id) in the page's order."""
    return [
        {"current": c, "version_id": v}
        for c, v in re.findall(
            r'name="current" value="(\d+)"><input type="hidden" name="version_id" value="(\d+)"',
            html,
        )
    ]


def test_a_deleted_feature_is_listed_and_restored_from_its_history(
    client: TestClient, passwords: dict[str, str], session: Session, deleted: None
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    listing = client.get("/workbench/layers/deleted?layer=facility")
    assert listing.status_code == 200
    row = listing.text.split(f">{CODE}</a>")[1].split("</tr>")[0]
    assert "改名变电站" in row and "误删" in row
    url = f"/workbench/layers/facility/{CODE}/history"
    page = client.get(url)
    assert page.status_code == 200 and 'id="deleted-note"' in page.text
    html = page.text
    assert (
        '名称</strong>：<span class="lm-change-old">&lt;i&gt;原名&lt;/i&gt;变电站</span> → <span>改名变电站'
        in html
    )
    assert "<i>原名</i>" not in html
    forms = _forms(html)
    assert forms and all(f["current"] == "0" for f in forms)  # deleted: version 0
    newest = forms[0]  # the delete: its last state
    # No reason: refused beside the field, nothing written.
    r = client.post(url.replace("history", "restore"), data={"csrf_token": csrf, **newest})
    assert r.status_code == 200 and "请填写恢复原因" in r.text and _state(session) is None
    # No CSRF token: refused.
    r = client.post(url.replace("history", "restore"), data={**newest, "reason": "x"})
    assert r.status_code == 403 and _state(session) is None
    r = client.post(
        url.replace("history", "restore"), data={"csrf_token": csrf, **newest, "reason": "误删恢复"}
    )
    assert r.status_code == 200 and 'id="change-report"' in r.text, r.text[:800]
    state = _state(session)
    assert state is not None and state.name == "改名变电站"
    # Restored: no longer listed as deleted; the history says who and why.
    assert f">{CODE}</a>" not in client.get("/workbench/layers/deleted?layer=facility").text
    html = client.get(url).text
    assert 'id="deleted-note"' not in html and "误删恢复" in html
    # An earlier version (the first name), from a page showing the current version.
    forms = _forms(html)
    first = forms[-1]
    assert first["current"] == str(state.version)
    r = client.post(
        url.replace("history", "restore"), data={"csrf_token": csrf, **first, "reason": "用原名"}
    )
    assert r.status_code == 200 and _state(session).name == "<i>原名</i>变电站"


def test_a_restore_from_a_stale_page_is_refused(
    client: TestClient, passwords: dict[str, str], session: Session, deleted: None
) -> None:
    """Two people on the history of the deleted feature: the first restores it; the second's
    restore names version 0 (deleted) and is refused, nothing written over the first."""
    csrf = sign_in(client, passwords["bureau"])
    url = f"/workbench/layers/facility/{CODE}/history"
    forms = _forms(client.get(url).text)
    r = client.post(
        url.replace("history", "restore"),
        data={"csrf_token": csrf, **forms[0], "reason": "第一人恢复"},
    )
    assert r.status_code == 200
    version = _state(session).version
    r = client.post(
        url.replace("history", "restore"),
        data={"csrf_token": csrf, **forms[-1], "reason": "第二人恢复"},
    )
    assert r.status_code == 412 and 'id="restore-stale"' in r.text
    assert "已被他人修改" in r.text
    state = _state(session)
    assert state.version == version and state.name == "改名变电站"


@pytest.mark.parametrize("role", ("public", "admin", "other_bureau", "zone", "promoter"))
def test_history_and_restore_as_each_role(
    client: TestClient,
    passwords: dict[str, str],
    other_bureau: str,
    session: Session,
    deleted: None,
    role: str,
) -> None:
    """The admin restores; another city's bureau reads the history (no restore offered) and
    its posted restore is refused (403); zone committees and promoters get 403, the public
    the sign-in."""
    csrf = ""
    if role != "public":
        csrf = sign_in(client, other_bureau if role == "other_bureau" else passwords[role])
    url = f"/workbench/layers/facility/{CODE}/history"
    page = client.get(url, follow_redirects=False)
    versions = session.execute(
        text(
            "SELECT id FROM landmatch.layer_version WHERE layer = 'facility' "
            "AND row ->> 'code' = :c ORDER BY id DESC"
        ),
        {"c": CODE},
    ).scalars()
    data = {
        "csrf_token": csrf,
        "current": "0",
        "version_id": str(next(iter(versions))),
        "reason": "恢复",
    }
    r = client.post(url.replace("history", "restore"), data=data, follow_redirects=False)
    expected = {"public": 303, "zone": 403, "promoter": 403}
    if role in expected:
        assert page.status_code == expected[role] and r.status_code == expected[role]
        assert _state(session) is None
    elif role == "other_bureau":
        assert page.status_code == 200 and "lm-restore" not in page.text
        assert 'id="restore-scope"' in page.text and "石家庄市" in page.text
        assert r.status_code == 403 and _state(session) is None
    else:
        assert page.status_code == 200 and "lm-restore" in page.text
        assert r.status_code == 200 and _state(session) is not None


def test_the_layer_list_links_each_record_to_its_history(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    sign_in(client, passwords["bureau"])
    code = session.execute(
        text("SELECT code FROM landmatch.facility WHERE city_code = '130100' ORDER BY code LIMIT 1")
    ).scalar_one()
    html = client.get("/workbench/layers?layer=facility&city=130100").text
    assert f'href="/workbench/layers/facility/{code}/history"' in html
    assert 'id="deleted-link"' in html
