"""A reference-layer upload in the workbench is previewed before anything is written
(``landmatch.reflayers.staging``): what it would add, change and delete per kind with the first
rows; a replace that would delete kinds the file does not hold needs its own confirmation; the
confirm is refused when the layer changed since the preview (the plan's fingerprint, checked
on the locked rows inside the write); an upload is its uploader's alone."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import shapely.geometry
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.reflayers import changes
from tests.accounts_made import add_usable_user
from tests.conftest import sign_in

ROLES = ("public", "admin", "bureau", "other_bureau", "zone", "promoter")


def feature(code: str, kind: str, lon: float, lat: float, name: str = "测试设施") -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "kind": kind, "city_code": "130100"},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def geojson(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def upload(
    client: TestClient, csrf: str, layer: str, body: bytes, name: str = "f.geojson", **data: Any
) -> Any:
    """The layer file posted from the list page's form (the preview's redirect not followed)."""
    return client.post(
        f"/workbench/layers/{layer}/import",
        data={"csrf_token": csrf, **data},
        files={"file": (name, body, "application/geo+json")},
        follow_redirects=False,
    )


def fingerprint(html: str) -> str:
    m = re.search(r'name="fingerprint" value="([0-9a-f]+)"', html)
    assert m, html[:500]
    return m.group(1)


def import_file(
    client: TestClient, csrf: str, layer: str, body: bytes, name: str = "f.geojson", **data: Any
) -> Any:
    """Upload, preview and confirm: the page the confirm answers with (or the upload's own
    answer when it is refused before a preview)."""
    r = upload(client, csrf, layer, body, name, **data)
    if r.status_code != 303:
        return r
    page = client.get(r.headers["location"])
    assert page.status_code == 200, page.text[:500]
    return client.post(
        r.headers["location"] + "/apply",
        data={"csrf_token": csrf, "fingerprint": fingerprint(page.text)},
    )


@pytest.fixture
def other_bureau(session: Session, password_hash: str) -> str:
    """A land bureau of 唐山 (130200), signed in with TEST_PASSWORD."""
    add_usable_user(session, "t-bureau-ts2", "bureau", "130200", password_hash=password_hash)
    return "t-bureau-ts2"


def _codes(session: Session) -> set[str]:
    return set(
        session.execute(
            text("SELECT code FROM landmatch.facility WHERE city_code = '130100'")
        ).scalars()
    )


def _seed(session: Session) -> None:
    """Two kinds of the bureau's city: a substation and a logistics hub."""
    admin = Principal(role="admin", name="t-seed")
    changes.apply_changes(
        session,
        admin,
        "facility",
        [
            {**f["properties"], "geometry": shapely.geometry.shape(f["geometry"])}
            for f in (
                feature("pv-sub-1", "substation", 114.50, 38.04, "一号变电站"),
                feature("pv-hub-1", "logistics_hub", 114.52, 38.05, "物流枢纽"),
            )
        ],
        reason="测试",
    )
    session.flush()


def test_replace_with_substations_only_is_previewed_and_other_kinds_need_confirming(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """The review's case: a 石家庄 bureau replaces its facilities with a file of substations
    alone. The preview lists what would be deleted — the logistics hub among them, a kind the
    file does not hold, marked — and nothing is written; confirming without the extra tick is
    refused beside it; with it the replace is done."""
    _seed(session)
    before = _codes(session)
    csrf = sign_in(client, passwords["bureau"])
    body = geojson(feature("pv-sub-1", "变电站", 114.50, 38.04, "一号变电站（改名）"))
    r = upload(client, csrf, "facility", body, replace="1", reason="更新变电站")
    assert r.status_code == 303 and "/workbench/layers/uploads/" in r.headers["location"]
    assert _codes(session) == before  # the preview wrote nothing
    url = r.headers["location"]
    page = client.get(url)
    assert page.status_code == 200
    html = page.text
    assert "尚未写入" in html
    hubs = session.execute(
        text(
            "SELECT count(*) FROM landmatch.facility "
            "WHERE city_code = '130100' AND kind = 'logistics_hub'"
        )
    ).scalar_one()
    kinds = html.split('id="preview-kinds"')[1].split("</table>")[0]
    row = re.search(r'<tr class="table-danger"><th scope="row">物流枢纽</th>(.*?)</tr>', kinds)
    assert row, kinds
    assert re.findall(r">([^<]*)</td>", row.group(1)) == ["0", "0", str(hubs), "0", "否"]
    assert re.search(rf'id="t-delete">{len(before) - 1:,}<', html)
    assert 'id="preview-other-kinds"' in html
    assert f"物流枢纽 {hubs} 条" in html.split('id="preview-other-kinds"')[1].split("</div>")[0]
    updated = html.split('id="preview-update"')[1].split("</table>")[0]
    assert "pv-sub-1" in updated and "名称：一号变电站 → 一号变电站（改名）" in updated
    assert "列出前 20 条" in html.split('id="h-delete"')[1].split("</h2>")[0]
    fp = fingerprint(html)
    # Without ticking the other kinds: refused beside the box, nothing written.
    r = client.post(url + "/apply", data={"csrf_token": csrf, "fingerprint": fp})
    assert r.status_code == 200 and 'id="f-confirm-other-kinds-msg"' in r.text
    assert f"物流枢纽 {hubs} 个" in r.text.split('id="f-confirm-other-kinds-msg"')[1]
    assert _codes(session) == before
    # Without the CSRF token: refused.
    r = client.post(url + "/apply", data={"fingerprint": fp, "confirm_other_kinds": "1"})
    assert r.status_code == 403 and _codes(session) == before
    r = client.post(
        url + "/apply", data={"csrf_token": csrf, "fingerprint": fp, "confirm_other_kinds": "1"}
    )
    assert r.status_code == 200 and 'id="change-report"' in r.text, r.text[:800]
    assert _codes(session) == {"pv-sub-1"}
    name = session.execute(
        text("SELECT name FROM landmatch.facility WHERE code = 'pv-sub-1'")
    ).scalar()
    assert name == "一号变电站（改名）"
    # Confirmed once only.
    again = client.post(
        url + "/apply", data={"csrf_token": csrf, "fingerprint": fp, "confirm_other_kinds": "1"}
    )
    assert again.status_code == 409
    assert 'id="preview-applied"' in client.get(url).text


def test_an_upsert_of_new_features_needs_no_extra_confirmation(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    body = geojson(feature("pv-new-1", "变电站", 114.51, 38.03, "<b>新站</b>"))
    r = upload(client, csrf, "facility", body)
    html = client.get(r.headers["location"]).text
    assert 'id="preview-other-kinds"' not in html
    inserted = html.split('id="preview-insert"')[1].split("</table>")[0]
    assert "&lt;b&gt;新站&lt;/b&gt;" in inserted and "<b>新站</b>" not in inserted
    assert re.search(r'id="t-insert">1<', html) and re.search(r'id="t-delete">0<', html)
    assert "pv-new-1" not in _codes(session)
    r = client.post(
        r.headers["location"] + "/apply",
        data={"csrf_token": csrf, "fingerprint": fingerprint(html)},
    )
    assert r.status_code == 200 and re.search(r'id="r-inserted">1：pv-new-1', r.text)
    assert "pv-new-1" in _codes(session)


def test_a_confirm_after_the_layer_changed_is_refused_and_previewed_again(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """Someone changes a record the file would update between the preview and the confirm:
    the confirm writes nothing and says so; 按当前图层重新预览 gives the new plan, which the
    user confirms."""
    _seed(session)
    csrf = sign_in(client, passwords["bureau"])
    body = geojson(feature("pv-sub-1", "变电站", 114.50, 38.04, "文件中的名称"))
    r = upload(client, csrf, "facility", body)
    url = r.headers["location"]
    fp = fingerprint(client.get(url).text)
    version = session.execute(
        text("SELECT version FROM landmatch.facility WHERE code = 'pv-sub-1'")
    ).scalar_one()
    changes.update_record(
        session,
        Principal(role="admin", name="t-other"),
        "facility",
        "pv-sub-1",
        {"name": "他人改的名称"},
        if_match=f'"pv-sub-1.v{version}"',
    )
    session.flush()
    r = client.post(url + "/apply", data={"csrf_token": csrf, "fingerprint": fp})
    assert r.status_code == 412 and 'id="preview-stale"' in r.text
    assert "预览之后设施图层已有变化" in r.text
    name = session.execute(
        text("SELECT name FROM landmatch.facility WHERE code = 'pv-sub-1'")
    ).scalar()
    assert name == "他人改的名称"
    r = client.post(url + "/preview", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    html = client.get(url).text
    assert "他人改的名称 → 文件中的名称" in html
    new_fp = fingerprint(html)
    assert new_fp != fp
    r = client.post(url + "/apply", data={"csrf_token": csrf, "fingerprint": new_fp})
    assert r.status_code == 200 and 'id="change-report"' in r.text
    name = session.execute(
        text("SELECT name FROM landmatch.facility WHERE code = 'pv-sub-1'")
    ).scalar()
    assert name == "文件中的名称"


@pytest.mark.parametrize("role", ROLES)
def test_an_upload_is_its_uploaders_alone(
    client: TestClient,
    passwords: dict[str, str],
    other_bureau: str,
    session: Session,
    role: str,
) -> None:
    """The 石家庄 bureau's preview: another account (the admin, another city's bureau) gets
    404, zone committees and promoters 403, the public the sign-in; none of them imports it."""
    csrf = sign_in(client, passwords["bureau"])
    r = upload(client, csrf, "facility", geojson(feature("pv-own-1", "变电站", 114.5, 38.03)))
    url = r.headers["location"]
    fp = fingerprint(client.get(url).text)
    client.cookies.clear()
    if role == "public":
        other_csrf = ""
    else:
        other_csrf = sign_in(client, other_bureau if role == "other_bureau" else passwords[role])
    if role == "bureau":
        assert client.get(url).status_code == 200
        return
    page = client.get(url, follow_redirects=False)
    r = client.post(
        url + "/apply",
        data={"csrf_token": other_csrf, "fingerprint": fp},
        follow_redirects=False,
    )
    expected = {"public": 303, "admin": 404, "other_bureau": 404, "zone": 403, "promoter": 403}
    assert page.status_code == expected[role] and r.status_code == expected[role], role
    assert "pv-own-1" not in _codes(session)


def test_a_file_the_import_refuses_is_refused_at_the_preview(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """Another city's feature: refused with the feature listed, no preview kept."""
    csrf = sign_in(client, passwords["bureau"])
    f = feature("pv-ts-1", "变电站", 118.2, 39.63)
    f["properties"]["city_code"] = "130200"
    r = upload(client, csrf, "facility", geojson(f))
    assert r.status_code == 403 and 'id="report-problems"' in r.text
    kept = session.execute(text("SELECT count(*) FROM landmatch.layer_upload")).scalar()
    assert kept == 0
