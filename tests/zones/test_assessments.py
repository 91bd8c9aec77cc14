"""An expired regional assessment stops counting as done."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from landmatch.auth import Principal
from landmatch.zones import assessments
from tests.conftest import auth, with_etag


def test_expiry(session, client, tokens) -> None:  # type: ignore[no-untyped-def]
    zone = dict(
        session.execute(
            text("SELECT id, code, city_code FROM landmatch.dev_zone ORDER BY id LIMIT 1")
        )
        .mappings()
        .one()
    )
    session.execute(
        text("DELETE FROM landmatch.zone_assessment WHERE zone_id = :z"), {"z": zone["id"]}
    )
    admin = Principal(name="a", role="admin")
    day = dt.date(2026, 6, 1)
    assessments.add_assessment(
        session,
        admin,
        zone,
        kind="ENV",
        approved_on=dt.date(2021, 1, 1),
        valid_until=dt.date(2026, 5, 31),
        doc_no="冀环评〔2021〕1号",
    )
    assessments.add_assessment(
        session,
        admin,
        zone,
        kind="SEISMIC",
        approved_on=dt.date(2022, 1, 1),
        valid_until=dt.date(2027, 1, 1),
        doc_no="冀震〔2022〕2号",
    )
    assessments.add_assessment(
        session,
        admin,
        zone,
        kind="OTHER",
        name="区域交通评价",
        approved_on=dt.date(2026, 7, 1),
        valid_until=None,
        doc_no=None,
    )
    assert assessments.valid_kinds(session, zone["id"], day) == {"SEISMIC"}
    assert assessments.valid_kinds(session, zone["id"], dt.date(2026, 5, 31)) == {"ENV", "SEISMIC"}
    assert assessments.valid_kinds(session, zone["id"], dt.date(2027, 2, 1)) == {"OTHER"}
    # The SQL function gives the same answer (the map and matching call it set-wise).
    kinds = session.execute(
        text("SELECT landmatch.valid_assessment_kinds(:z, :d)"), {"z": zone["id"], "d": day}
    ).scalar()
    assert kinds == ["SEISMIC"]
    session.commit()
    r = client.get(f"/api/zones/{zone['code']}", params={"as_of": "2026-06-01"})
    assert r.status_code == 200
    assert [a["kind"] for a in r.json()["assessments"]] == ["SEISMIC"]  # public: valid only
    staff = client.get(
        f"/api/zones/{zone['code']}",
        params={"as_of": "2026-06-01"},
        headers=auth(tokens["promoter"]),
    ).json()
    assert {a["kind"]: a["valid"] for a in staff["assessments"]} == {
        "ENV": False,
        "SEISMIC": True,
        "OTHER": False,
    }
    assert staff["assessments_valid_kinds"] == ["SEISMIC"]
    # The zone's 招商 desk is public; its record-keeping fields are not.
    assert "contact_phone" in r.json() and "source" not in r.json() and "source" in staff


def test_bad_assessment(client, tokens, session) -> None:  # type: ignore[no-untyped-def]
    code = session.execute(text("SELECT code FROM landmatch.dev_zone ORDER BY id LIMIT 1")).scalar()
    h = with_etag(client, f"/api/zones/{code}", auth(tokens["zone"]))
    r = client.post(
        f"/api/zones/{code}/assessments",
        headers=h,
        json={"kind": "ENV", "approved_on": "2025-01-10", "valid_until": "2024-01-01"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "valid_until"
    r = client.post(
        f"/api/zones/{code}/assessments",
        headers=h,
        json={"kind": "HOROSCOPE", "approved_on": "2025-01-10"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
