"""``parcel_fact.excluded`` by declared coverage, and how the match reads it: true inside an
excluding area (interiors overlapping ≥ 1 m², whatever the coverage), false only where every
excluding kind is covered for the parcel's city, NULL ("not checked", ranked with a warning)
otherwise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db import derived
from landmatch.db.facts import missing_facts
from landmatch.reflayers import coverage
from landmatch.reflayers.report import ChangeReport
from tests.conftest import auth
from tests.match.conftest import square

ADMIN = Principal(name="t-coverage", role="admin")
# 石家庄, east of the city: no demo constraint area within several km.
X0, Y0, X1, Y1 = 114.640, 38.120, 114.650, 38.130
AS_OF = dt.date(2025, 12, 31)


def _plant(session: Session, make_parcel: Callable[..., int]) -> dict[str, int]:
    session.execute(
        text(
            "INSERT INTO landmatch.constraint_area (code, name, kind, severity, geom) VALUES "
            "('eco-cov-test', '覆盖测试红线', 'eco_redline', 'excludes', "
            f"ST_Multi(ST_MakeEnvelope({X0}, {Y0}, {X1}, {Y1}, 4490)))"
        )
    )
    d = 0.002
    return {
        "inside": make_parcel(wkt=square(X0 + 0.004, Y0 + 0.004, d, d)),
        "edge": make_parcel(wkt=square(X1, Y0 + 0.004, d, d)),  # shares the east edge
        "clear": make_parcel(wkt=square(X1 + 0.01, Y0 + 0.004, d, d)),
    }


def _excluded(session: Session, ids: dict[str, int]) -> dict[str, Any]:
    rows: dict[int, Any] = dict(
        session.execute(
            text("SELECT parcel_id, excluded FROM landmatch.parcel_fact WHERE parcel_id = ANY(:i)"),
            {"i": list(ids.values())},
        ).all()
    )
    return {k: rows[v] for k, v in ids.items()}


def _cover_all(session: Session, city: str = "130100") -> ChangeReport:
    return coverage.change(
        session,
        ADMIN,
        list(vocab.EXCLUDING_KINDS),
        [city],
        source="测试：本市禁止类管控数据齐全",
        as_of=AS_OF,
    )


def test_not_checked_until_every_excluding_kind_is_covered(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    ids = _plant(session, make_parcel)
    # The seed covers 石家庄 for red lines and water sources, not for basic farmland.
    assert {r["kind"] for r in coverage.list_coverage(session, ADMIN, city="130100")} >= {
        "eco_redline",
        "water_source",
    }
    assert _excluded(session, ids) == {"inside": True, "edge": None, "clear": None}
    n_city = session.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel WHERE city_code = '130100' AND deleted_at IS NULL"
        )
    ).scalar_one()
    n_inside = session.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel_fact WHERE city_code = '130100' "
            "AND deleted_at IS NULL AND excluded"
        )
    ).scalar_one()
    report = _cover_all(session)
    assert report.inserted == ["basic_farmland:130100"]
    assert report.updated == ["eco_redline:130100", "water_source:130100"]  # new source, date
    # Every parcel of the city was recomputed; those outside the areas turned "clear".
    assert report.affected_parcels == n_city
    assert report.facts_changed == {"excluded": n_city - n_inside}
    assert _excluded(session, ids) == {"inside": True, "edge": False, "clear": False}
    assert missing_facts(session.connection()) == 0
    # Withdrawing one kind makes the city "not checked" again; inside stays inside.
    coverage.change(session, ADMIN, ["water_source"], ["130100"], withdraw=True)
    assert _excluded(session, ids) == {"inside": True, "edge": None, "clear": None}


def test_a_partial_declaration_refreshes_nothing_and_says_why(session: Session) -> None:
    before = session.execute(
        text("SELECT count(*) FROM landmatch.parcel_fact WHERE excluded IS NULL")
    ).scalar_one()
    report = coverage.change(
        session, ADMIN, ["eco_redline"], ["130900"], source="沧州市红线（测试）", as_of=AS_OF
    )
    assert report.inserted == ["eco_redline:130900"] and report.affected_parcels == 0
    assert any("沧州市" in w and "永久基本农田" in w for w in report.warnings)
    after = session.execute(
        text("SELECT count(*) FROM landmatch.parcel_fact WHERE excluded IS NULL")
    ).scalar_one()
    assert after == before


def test_a_city_change_reads_not_checked_until_settled(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    ids = _plant(session, make_parcel)
    _cover_all(session)
    assert _excluded(session, ids)["clear"] is False
    session.execute(
        text("UPDATE landmatch.parcel SET city_code = '130200' WHERE id = :i"), {"i": ids["clear"]}
    )
    assert _excluded(session, ids)["clear"] is None  # never the old city's "clear"
    queued = session.execute(
        text("SELECT count(*) FROM landmatch.parcel_dirty WHERE parcel_id = :i"),
        {"i": ids["clear"]},
    ).scalar_one()
    assert queued == 1 and missing_facts(session.connection()) == 1
    assert derived.settle(session.connection(), [ids["clear"]]) == 1
    assert _excluded(session, ids)["clear"] is None  # 唐山 is not covered for every kind
    _cover_all(session, "130200")
    assert _excluded(session, ids)["clear"] is False
    # An attribute edit leaves the facts alone.
    session.execute(
        text("UPDATE landmatch.parcel SET name = '改名' WHERE id = :i"), {"i": ids["clear"]}
    )
    assert _excluded(session, ids)["clear"] is False


REQ: dict[str, Any] = {
    "industry": "36",
    "area_mu_min": 1,
    "location": {"bbox": [X0 - 0.02, Y0 - 0.01, X1 + 0.03, Y1 + 0.01]},
    "top": 100,
    "assemblies": False,
}


def _match(
    client: TestClient, tokens: dict[str, str], session: Session, ids: dict[str, int]
) -> dict[str, list[str] | None]:
    r = client.post("/api/match", json=REQ, headers=auth(tokens["promoter"]))
    assert r.status_code == 200, r.text
    body = r.json()
    by_code = {f["properties"]["code"]: f["properties"]["warnings"] for f in body["features"]}
    failed = {f["rule"]: f["count"] for f in body["why_not"]["failed"]}
    assert failed.get("excluded", 0) >= 1
    codes: dict[int, str] = dict(
        session.execute(
            text("SELECT id, code FROM landmatch.parcel WHERE id = ANY(:i)"),
            {"i": list(ids.values())},
        ).all()
    )
    return {k: by_code.get(codes[v]) for k, v in ids.items()}


def test_the_match_ranks_not_checked_parcels_with_a_warning(
    client: TestClient, tokens: dict[str, str], session: Session, make_parcel: Callable[..., int]
) -> None:
    ids = _plant(session, make_parcel)
    ranked = _match(client, tokens, session, ids)
    assert ranked["inside"] is None  # excluded by the hard rule
    assert ranked["edge"] is not None and "管控区未核验" in ranked["edge"]  # touching: kept
    assert ranked["clear"] is not None and "管控区未核验" in ranked["clear"]
    _cover_all(session)
    ranked = _match(client, tokens, session, ids)
    assert ranked["inside"] is None
    assert ranked["edge"] is not None and "管控区未核验" not in ranked["edge"]
    assert ranked["clear"] is not None and "管控区未核验" not in ranked["clear"]
