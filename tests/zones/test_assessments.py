"""An expired regional assessment stops counting as done."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.zones import assessments
from tests.conftest import auth, with_etag


def test_expiry(session: Session, client: TestClient, tokens: dict[str, str]) -> None:
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


def test_bad_assessment(client: TestClient, tokens: dict[str, str], session: Session) -> None:
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


def test_sql_twin_of_a_valid_assessment_agrees_with_python_and_the_match(session: Session) -> None:
    """``landmatch.valid_assessments`` (SQL), :func:`landmatch.dates.in_force` (Python), the
    match's per-kind view and the card's list, over generated periods and days."""
    import itertools

    from landmatch.dates import in_force
    from landmatch.match.reference import data_version, load_reference
    from landmatch.match.scores import valid_assessments as match_valid

    zid = session.execute(
        text("SELECT id FROM landmatch.dev_zone ORDER BY id LIMIT 1")
    ).scalar_one()
    session.execute(text("DELETE FROM landmatch.zone_assessment WHERE zone_id = :z"), {"z": zid})
    base = dt.date(2024, 2, 28)
    days = [base + dt.timedelta(days=n) for n in (-1, 0, 1, 2, 366)]
    periods = [(a, u) for a, u in itertools.product(days, [None, *days]) if u is None or u >= a]
    kinds = sorted(assessments.KINDS)
    ids = {}
    for i, (a, u) in enumerate(periods):
        ids[i] = session.execute(
            text(
                "INSERT INTO landmatch.zone_assessment (zone_id, kind, name, approved_on, "
                "valid_until) VALUES (:z, :k, :n, :a, :u) RETURNING id"
            ),
            {"z": zid, "k": kinds[i % len(kinds)], "n": f"评估{i}", "a": a, "u": u},
        ).scalar()
    session.execute(
        text("UPDATE landmatch.data_state SET version = version + 1 WHERE name = 'all'")
    )
    zone = load_reference(session, data_version(session)).zones[zid]
    for day in days:
        sql = {a["id"] for a in assessments.valid_assessments(session, zid, day)}
        python = {ids[i] for i, (a, u) in enumerate(periods) if in_force(a, u, day)}
        assert sql == python, day
        flagged = {a["id"] for a in assessments.all_assessments(session, zid, day) if a["valid"]}
        assert flagged == python, day
        by_kind = sorted(
            {kinds[i % len(kinds)] for i, (a, u) in enumerate(periods) if in_force(a, u, day)}
        )
        assert match_valid(zone, day) == by_kind, day
    assert len(periods) == 20
