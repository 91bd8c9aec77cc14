"""One reference-layer feature edited and deleted in the workbench through the API's own
``changes.update_record`` / ``delete_record``: errors beside the field with the typed values
kept; a save made meanwhile shows the conflict screen and re-applies on request; a stale
delete is refused; CSRF; scope (another city's bureau 403) and roles."""

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

CODE = "edit-sub-1"
URL = f"/workbench/layers/facility/{CODE}"


def _row(session: Session) -> Any:
    return session.execute(
        text("SELECT name, kind, source, version FROM landmatch.facility WHERE code = :c"),
        {"c": CODE},
    ).first()


@pytest.fixture
def feature(session: Session) -> None:
    rec = {
        "code": CODE,
        "name": "东开发区变电站",
        "kind": "substation",
        "city_code": "130100",
        "source": "电力公司 2025",
        "geometry": shapely.geometry.Point(114.55, 38.01),
    }
    changes.apply_changes(session, Principal(role="admin", name="t-seed"), "facility", [rec])
    session.flush()


@pytest.fixture
def other_bureau(session: Session, password_hash: str) -> str:
    add_usable_user(session, "t-bureau-ts4", "bureau", "130200", password_hash=password_hash)
    return "t-bureau-ts4"


def _version(html: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', html)
    assert m, html[:500]
    return m.group(1)


def test_edit_a_facility_with_errors_beside_the_field(
    client: TestClient, passwords: dict[str, str], session: Session, feature: None
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    page = client.get(URL + "/edit")
    assert page.status_code == 200 and 'value="东开发区变电站"' in page.text
    version = _version(page.text)
    form = {"csrf_token": csrf, "version": version, "kind": "substation", "source": "电力公司 2025"}
    r = client.post(URL + "/edit", data={**form, "name": "", "reason": "更正"})
    assert r.status_code == 200 and 'id="f-name-msg"' in r.text and "缺少名称" in r.text
    assert 'value="更正"' in r.text  # the typed reason kept
    r = client.post(URL + "/edit", data={**form, "name": "<b>x</b>", "kind": "火星站"})
    assert r.status_code == 200 and 'id="f-kind-msg"' in r.text
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in r.text and "<b>x</b>" not in r.text
    assert _row(session).name == "东开发区变电站"
    r = client.post(
        URL + "/edit", data={**form, "name": "东开发区220千伏变电站", "reason": "更正名称"}
    )
    assert r.status_code == 200 and re.search(rf'id="r-updated">1：{CODE}', r.text), r.text[:600]
    assert _row(session).name == "东开发区220千伏变电站"
    # No CSRF token: refused.
    r = client.post(URL + "/edit", data={**form, "csrf_token": "", "name": "x"})
    assert r.status_code == 403 and _row(session).name == "东开发区220千伏变电站"


def _opened_then_saved_by_another(
    client: TestClient,
    passwords: dict[str, str],
    session: Session,
    fields: dict[str, Any],
    reason: str | None = None,
) -> tuple[str, str]:
    """The bureau signed in with the edit form open (its CSRF token and version), then the
    feature saved by another account with ``fields``."""
    csrf = sign_in(client, passwords["bureau"])
    version = _version(client.get(URL + "/edit").text)
    changes.update_record(
        session,
        Principal(role="admin", name="t-other"),
        "facility",
        CODE,
        fields,
        if_match=ANY,
        reason=reason,
    )
    session.flush()
    return csrf, version


def test_a_save_made_meanwhile_shows_the_conflict_and_reapplies(
    client: TestClient, passwords: dict[str, str], session: Session, feature: None
) -> None:
    csrf, version = _opened_then_saved_by_another(
        client, passwords, session, {"source": "他人更新的来源"}, reason="核对来源"
    )
    r = client.post(
        URL + "/edit",
        data={
            "csrf_token": csrf,
            "version": version,
            "name": "我改的名称",
            "kind": "substation",
            "source": "电力公司 2025",
            "reason": "改名",
        },
    )
    assert r.status_code == 200 and 'id="conflict"' in r.text
    assert "t-other" in r.text and "核对来源" in r.text
    row = _row(session)
    assert row.name == "东开发区变电站" and row.source == "他人更新的来源"
    mine = r.text.split('id="reapply-form"')[1].split("</form>")[0]
    hidden = dict(re.findall(r'name="(\w+)" value="([^"]*)"', mine))
    assert hidden["name"] == "我改的名称" and "source" not in hidden  # only my change
    r = client.post(URL + "/edit", data=hidden)
    assert r.status_code == 200 and 'id="change-report"' in r.text
    row = _row(session)
    assert row.name == "我改的名称" and row.source == "他人更新的来源"


def test_delete_and_a_stale_delete(
    client: TestClient, passwords: dict[str, str], session: Session, feature: None
) -> None:
    csrf, version = _opened_then_saved_by_another(client, passwords, session, {"name": "新名"})
    r = client.post(
        URL + "/delete", data={"csrf_token": csrf, "version": version, "reason": "错误"}
    )
    assert r.status_code == 412 and 'id="edit-stale"' in r.text and _row(session) is not None
    version = _version(r.text)
    r = client.post(
        URL + "/delete", data={"csrf_token": csrf, "version": version, "reason": "错误"}
    )
    assert r.status_code == 200 and re.search(rf'id="r-deleted">1：{CODE}', r.text)
    assert _row(session) is None
    assert f">{CODE}</a>" in client.get("/workbench/layers/deleted?layer=facility").text


def _signed_in_as(
    client: TestClient, passwords: dict[str, str], other_bureau: str, role: str
) -> str:
    """Signed in as ``role`` (another city's bureau: ``other_bureau``); its CSRF token ("" for
    the public, who stays signed out)."""
    if role == "public":
        return ""
    return sign_in(client, other_bureau if role == "other_bureau" else passwords[role])


@pytest.mark.parametrize("role", ("public", "admin", "other_bureau", "zone", "promoter"))
def test_edit_and_delete_as_each_role(
    client: TestClient,
    passwords: dict[str, str],
    other_bureau: str,
    session: Session,
    feature: None,
    role: str,
) -> None:
    csrf = _signed_in_as(client, passwords, other_bureau, role)
    version = str(_row(session).version)
    page = client.get(URL + "/edit", follow_redirects=False)
    data = {"csrf_token": csrf, "version": version, "name": "改", "kind": "substation"}
    r = client.post(URL + "/edit", data=data, follow_redirects=False)
    expected = {"public": 303, "other_bureau": 403, "zone": 403, "promoter": 403, "admin": 200}
    assert page.status_code == expected[role] and r.status_code == expected[role], role
    assert (_row(session).name == "改") == (role == "admin")
    if role != "admin":
        d = client.post(
            URL + "/delete", data={"csrf_token": csrf, "version": version}, follow_redirects=False
        )
        assert d.status_code == expected[role] and _row(session) is not None


def _point(session: Session) -> tuple[float, float, int]:
    row = session.execute(
        text("SELECT ST_X(geom), ST_Y(geom), version FROM landmatch.facility WHERE code = :c"),
        {"c": CODE},
    ).one()
    return float(row[0]), float(row[1]), int(row[2])


def test_a_facility_is_moved_by_its_coordinates_and_an_unchanged_place_is_not_written(
    client: TestClient, passwords: dict[str, str], session: Session, feature: None
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    page = client.get(URL + "/edit")
    assert 'id="f-lon"' in page.text and 'value="114.5500000"' in page.text
    assert 'value="38.0100000"' in page.text and "wb-point.js" in page.text
    form = {
        "csrf_token": csrf,
        "version": _version(page.text),
        "name": "东开发区变电站",
        "kind": "substation",
        "source": "电力公司 2025",
        "lon": "114.5500000",
        "lat": "38.0100000",
    }
    # The place as shown, the name changed: the name is saved, the point is not rewritten.
    r = client.post(URL + "/edit", data={**form, "name": "东开发区220千伏变电站"})
    assert r.status_code == 200 and 'id="change-report"' in r.text
    x, y, version = _point(session)
    assert (x, y) == (114.55, 38.01) and version == int(form["version"]) + 1
    form["version"] = str(version)
    form["name"] = "东开发区220千伏变电站"
    # Typed badly: said beside the field; out of Hebei or in another city: beside the place.
    for typed, where, reason in (
        ({"lon": "一一四"}, "f-lon-msg", "应为 -180 到 180 之间的十进制度数"),
        ({"lat": ""}, "f-lat-msg", "请填写纬度"),
        ({"lon": "100.5"}, "f-geometry-msg", "河北省范围"),
        ({"lon": "115.46", "lat": "38.87"}, "f-geometry-msg", "保定"),
    ):
        r = client.post(URL + "/edit", data={**form, **typed})
        assert r.status_code == 200 and f'id="{where}"' in r.text, (typed, r.text[:3000])
        assert reason in r.text.split(f'id="{where}"')[1][:300], typed
        for k, v in typed.items():
            assert f'id="f-{k}" name="{k}" type="text" value="{v}"' in r.text  # kept as typed
        assert _point(session) == (114.55, 38.01, version)
    # Moved (as a drag writes it, 7 decimals): saved, and the history says the place changed.
    r = client.post(URL + "/edit", data={**form, "lon": "114.5612345", "lat": "38.0154321"})
    assert r.status_code == 200 and re.search(rf'id="r-updated">1：{CODE}', r.text), r.text[:800]
    assert _point(session) == (114.5612345, 38.0154321, version + 1)
    history = client.get(URL + "/history").text
    assert "114.5500000, 38.0100000" in history and "114.5612345, 38.0154321" in history


AREA = "edit-zone-1"
AREA_URL = f"/workbench/layers/constraint_area/{AREA}"
RING = "114.50000000,38.00000000\n114.52000000,38.00000000\n114.52000000,38.02000000\n114.50000000,38.02000000"


@pytest.fixture
def area(session: Session) -> None:
    from landmatch.geo.coords import polygon_from_text

    rec = {
        "code": AREA,
        "name": "水源保护区",
        "kind": "water_source",
        "city_code": "130100",
        "geometry": polygon_from_text(RING),
    }
    changes.apply_changes(session, Principal(role="admin", name="t-seed"), "constraint_area", [rec])
    session.flush()


def _area(session: Session) -> tuple[float, int]:
    row = session.execute(
        text("SELECT ST_XMax(geom), version FROM landmatch.constraint_area WHERE code = :c"),
        {"c": AREA},
    ).one()
    return round(float(row[0]), 7), int(row[1])


def test_a_constraint_areas_boundary_is_edited_as_coordinates(
    client: TestClient, passwords: dict[str, str], session: Session, area: None
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    page = client.get(AREA_URL + "/edit")
    assert page.status_code == 200 and 'id="f-coords"' in page.text
    assert "114.5200000,38.0200000" in page.text and "wb-boundary.js" in page.text
    coords = (
        page.text.split('id="f-coords" name="coords"')[1].split(">", 1)[1].split("</textarea>")[0]
    )
    form = {"csrf_token": csrf, "version": _version(page.text), "name": "水源保护区"}
    form |= {"kind": "water_source", "severity": "excludes", "source": "", "coords": coords}
    before = _area(session)
    r = client.post(AREA_URL + "/edit", data={**form, "coords": "114.5,38\n114.6,38"})
    assert r.status_code == 200 and "至少需要 3 个" in r.text, re.findall(
        r"invalid-feedback[^<]*<|alert[^<]*<", r.text
    )
    assert 'id="f-coords-msg"' in r.text
    assert _area(session) == before
    r = client.post(AREA_URL + "/edit", data={**form, "coords": coords.replace("114.52", "114.53")})
    assert r.status_code == 200 and 'id="change-report"' in r.text, r.text[:800]
    assert _area(session) == (114.53, before[1] + 1)


def test_a_move_made_on_an_old_version_is_reapplied_from_the_conflict_screen(
    client: TestClient, passwords: dict[str, str], session: Session, feature: None
) -> None:
    csrf, version = _opened_then_saved_by_another(client, passwords, session, {"name": "他人改名"})
    base = {"csrf_token": csrf, "version": version, "kind": "substation", "source": "电力公司 2025"}
    r = client.post(
        URL + "/edit",
        data={**base, "name": "东开发区变电站", "lon": "114.56", "lat": "38.0100000"},
    )
    assert r.status_code == 200 and 'id="conflict"' in r.text
    assert 'data-field="geometry"' in r.text and "114.5600000，38.0100000" in r.text
    mine = r.text.split('id="reapply-form"')[1].split("</form>")[0]
    hidden = dict(re.findall(r'name="(\w+)" value="([^"]*)"', mine))
    assert hidden["lon"] == "114.56" and "name" not in hidden  # only the move is mine
    r = client.post(URL + "/edit", data=hidden)
    assert r.status_code == 200 and 'id="change-report"' in r.text
    x, _, _ = _point(session)
    assert x == 114.56 and _row(session).name == "他人改名"


NEW = "new-sub-1"


def _exists(session: Session, layer: str, code: str) -> Any:
    return session.execute(
        text(f"SELECT city_code, name, version FROM landmatch.{layer} WHERE code = :c"),
        {"c": code},
    ).first()


def test_a_new_facility_is_placed_and_added_in_the_browser_form(
    client: TestClient, passwords: dict[str, str], session: Session, feature: None
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    assert 'id="new-feature-link"' in client.get("/workbench/layers?layer=facility").text
    page = client.get("/workbench/layers/facility/new")
    assert page.status_code == 200 and 'id="f-code"' in page.text and 'id="f-lon"' in page.text
    assert '"placing": true' in page.text and "wb-point.js" in page.text
    form = {"csrf_token": csrf, "code": NEW, "name": "正定新区变电站", "kind": "substation"}
    form |= {"source": "", "lon": "114.58", "lat": "38.16", "reason": "新投运"}
    # The code of a stored feature, one in another city, one out of Hebei: beside the field,
    # what was typed kept, nothing written.
    for typed, where, reason in (
        ({"code": CODE}, "f-code-msg", "该编码已存在"),
        ({"lon": "115.46", "lat": "38.87"}, "f-geometry-msg", "保定"),
        ({"lon": "100.5"}, "f-geometry-msg", "河北省范围"),
        ({"name": ""}, "f-name-msg", "缺少名称"),
    ):
        r = client.post("/workbench/layers/facility/new", data={**form, **typed})
        assert r.status_code == 200 and f'id="{where}"' in r.text, (typed, r.text[:2000])
        assert reason in r.text.split(f'id="{where}"')[1][:300], typed
        assert 'value="正定新区变电站"' in r.text or typed.get("name") == ""
        assert _exists(session, "facility", typed.get("code", NEW)) is None or "code" in typed
    r = client.post("/workbench/layers/facility/new", data=form)
    assert r.status_code == 200 and re.search(rf'id="r-inserted">1：{NEW}', r.text), r.text[:800]
    row = _exists(session, "facility", NEW)
    assert row.city_code == "130100" and row.name == "正定新区变电站" and row.version == 1
    # Deleted, its code is not taken again: its history is restored instead.
    changes.delete_record(
        session, Principal(role="admin", name="t"), "facility", NEW, "错误", if_match=ANY
    )
    r = client.post("/workbench/layers/facility/new", data=form)
    assert r.status_code == 200 and "曾被删除" in r.text.split('id="f-code-msg"')[1][:200]
    assert _exists(session, "facility", NEW) is None


def test_a_new_constraint_area_is_added_from_its_coordinates(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    page = client.get("/workbench/layers/constraint_area/new")
    assert page.status_code == 200 and 'id="f-coords"' in page.text
    assert "按类型默认" in page.text and "wb-boundary.js" in page.text
    form = {"csrf_token": csrf, "code": "new-zone-1", "name": "新水源地", "kind": "water_source"}
    form |= {"severity": "", "source": "水利局 2026", "coords": RING}
    r = client.post("/workbench/layers/constraint_area/new", data={**form, "coords": "114.5"})
    assert r.status_code == 200 and 'id="f-coords-msg"' in r.text
    assert _exists(session, "constraint_area", "new-zone-1") is None
    r = client.post("/workbench/layers/constraint_area/new", data=form)
    assert r.status_code == 200 and 'id="r-inserted"' in r.text, r.text[:800]
    assert _exists(session, "constraint_area", "new-zone-1").city_code == "130100"


@pytest.mark.parametrize("role", ("public", "admin", "other_bureau", "zone", "promoter"))
def test_adding_a_feature_as_each_role(
    client: TestClient,
    passwords: dict[str, str],
    other_bureau: str,
    session: Session,
    role: str,
) -> None:
    csrf = _signed_in_as(client, passwords, other_bureau, role)
    page = client.get("/workbench/layers/facility/new", follow_redirects=False)
    data = {"csrf_token": csrf, "code": NEW, "name": "变电站", "kind": "substation"}
    data |= {"lon": "114.58", "lat": "38.16"}
    r = client.post("/workbench/layers/facility/new", data=data, follow_redirects=False)
    # Another city's bureau may open the form; its write of a 石家庄 place is refused beside
    # the map (200 with the error), nothing written.
    expected = {"public": 303, "other_bureau": 200, "zone": 403, "promoter": 403, "admin": 200}
    assert page.status_code == expected[role] and r.status_code == expected[role], role
    assert (_exists(session, "facility", NEW) is not None) == (role == "admin")
    if role == "other_bureau":
        assert 'id="f-geometry-msg"' in r.text
    # Without the CSRF token nobody writes.
    session.execute(text("DELETE FROM landmatch.facility WHERE code = :c"), {"c": NEW})
    r = client.post(
        "/workbench/layers/facility/new", data={**data, "csrf_token": ""}, follow_redirects=False
    )
    assert r.status_code in (303, 403) and _exists(session, "facility", NEW) is None
