"""The monitoring settings are versioned (migration 0042_monitoring_version): a disposal target
(one city's year and kind) and a city's idle-land rule set each carry a version, their GETs an
ETag, and a change names it in ``If-Match`` — 428 without, 412 when stale (in Chinese, nothing
written), as parcels, zones, policies and accounts do. Walked as each role: anonymous (the
public and investors have no account), a promoter, a zone committee, the bureau of 石家庄, the
bureau of another city, the province's bureau, the admin."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.accounts.users import add_user
from landmatch.auth import Principal
from landmatch.db.locking import ANY, etag
from landmatch.errors import PreconditionFailed, PreconditionRequired
from landmatch.monitoring import rules, targets
from tests.conftest import auth

YEAR = 2031  # no seeded target
RULE = {"idle_after_months": 10, "recover_after_months": 20}


@pytest.fixture
def role_tokens(session: Session, tokens: dict[str, str]) -> dict[str, str]:
    """The tokens fixture's roles and two bureaus more: 唐山 (another city) and the province."""
    out = {
        **tokens,
        "bureau_other": add_user(session, "t-bureau-ts", "bureau", "130200"),
        "province": add_user(session, "t-bureau-prov", "bureau", "130000"),
    }
    session.flush()
    return out


def _headers(tokens: dict[str, str], role: str | None, **more: str) -> dict[str, str]:
    return {**(auth(tokens[role]) if role else {}), **more}


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


# Who may set 石家庄's (130100) settings: None = refused with this status whatever If-Match says.
WRITERS: list[tuple[str | None, int | None]] = [
    (None, 401),
    ("promoter", 403),
    ("zone", 403),
    ("bureau", None),
    ("bureau_other", 403),
    ("province", None),
    ("admin", None),
]


@pytest.mark.parametrize("role,refused", WRITERS)
def test_a_citys_rule_set_needs_its_current_version(
    client: TestClient, role_tokens: dict[str, str], role: str | None, refused: int | None
) -> None:
    url = "/api/monitoring/rules/130100"
    reader = auth(role_tokens["admin"])
    first = client.get(url, headers=reader)
    assert first.status_code == 200 and first.headers["ETag"] == etag("130100", 0)
    assert first.json()["version"] == 0 and first.json()["own"] is None
    h = _headers(role_tokens, role)
    if refused is not None:
        for extra in ({}, {"If-Match": first.headers["ETag"]}):
            _problem(client.put(url, json=RULE, headers={**h, **extra}), refused)
        assert client.get(url, headers=reader).json()["own"] is None
        return
    missing = _problem(client.put(url, json=RULE, headers=h), 428)
    assert "If-Match" in missing["detail"]
    made = client.put(url, json=RULE, headers={**h, "If-Match": first.headers["ETag"]})
    assert made.status_code == 200, made.text
    assert made.headers["ETag"] == etag("130100", 1)
    now = client.get(url, headers=reader)
    assert now.headers["ETag"] == made.headers["ETag"] and now.json()["version"] == 1
    assert now.json()["effective"]["idle_after_months"] == 10
    # A form opened before that write is refused and writes nothing.
    stale = {**h, "If-Match": first.headers["ETag"]}
    old = _problem(client.put(url, json={"idle_after_months": 11}, headers=stale), 412)
    assert "已被他人修改" in old["detail"]
    assert client.get(url, headers=reader).json()["own"]["idle_after_months"] == 10
    again = client.put(
        url, json={"idle_after_months": 11}, headers={**h, "If-Match": now.headers["ETag"]}
    )
    assert again.status_code == 200 and again.headers["ETag"] == etag("130100", 2)
    listed = {
        r["city_code"]: r
        for r in client.get("/api/monitoring/rules", headers=reader).json()["rules"]
    }
    assert listed["130100"]["version"] == 2 and listed["130100"]["idle_after_months"] == 11


def test_a_partial_change_is_checked_against_the_stored_rule_set_and_kept_in_history(
    client: TestClient, role_tokens: dict[str, str], session: Session
) -> None:
    """Review finding 8: a change of one threshold was checked against the defaults, not the
    city's stored set, and the database refused it by its constraint's name; and a city's
    rule set kept no history. Now the merged set is checked under the row's lock (in Chinese,
    naming both figures; nothing written) and every state is kept with who set it."""
    url = "/api/monitoring/rules/130100"
    h = auth(role_tokens["bureau"])
    made = client.put(url, json=RULE, headers={**h, "If-Match": etag("130100", 0)})
    assert made.status_code == 200, made.text
    bad = _problem(
        client.put(
            url, json={"idle_after_months": 30}, headers={**h, "If-Match": made.headers["ETag"]}
        ),
        400,
    )
    assert "无偿收回月数（20）必须大于闲置月数（30）" in bad["detail"], bad
    assert client.get(url, headers=h).json()["own"]["idle_after_months"] == 10
    ok = client.put(
        url,
        json={"idle_after_months": 30, "recover_after_months": 40},
        headers={**h, "If-Match": made.headers["ETag"]},
    )
    assert ok.status_code == 200, ok.text
    kept = session.execute(
        text(
            "SELECT op, actor, reason, (row ->> 'idle_after_months')::int, "
            "(row ->> 'version')::int FROM landmatch.layer_version "
            "WHERE layer = 'monitoring_rule' AND record_id = 130100 ORDER BY id"
        )
    ).all()
    assert [tuple(r) for r in kept] == [
        ("insert", "t-bureau-sjz", "闲置认定阈值 石家庄市", 10, 1),
        ("update", "t-bureau-sjz", "闲置认定阈值 石家庄市", 30, 2),
    ]


@pytest.mark.parametrize(
    "role,status", [("bureau", 403), ("bureau_other", 403), ("province", 200), ("admin", 200)]
)
def test_the_province_default_needs_its_version_too(
    client: TestClient, role_tokens: dict[str, str], role: str, status: int
) -> None:
    url = "/api/monitoring/rules/130000"
    h = _headers(role_tokens, role)
    tag = client.get(url, headers=h).headers["ETag"]
    if status == 200:
        _problem(client.put(url, json=RULE, headers=h), 428)
    r = client.put(url, json=RULE, headers={**h, "If-Match": tag})
    assert r.status_code == status, r.text


@pytest.mark.parametrize(
    "role,status",
    [
        (None, 401),
        ("promoter", 200),
        ("zone", 200),
        ("bureau", 200),
        ("bureau_other", 200),
        ("province", 200),
        ("admin", 200),
    ],
)
def test_reading_a_citys_rule_set(
    client: TestClient, role_tokens: dict[str, str], role: str | None, status: int
) -> None:
    r = client.get("/api/monitoring/rules/130100", headers=_headers(role_tokens, role))
    assert r.status_code == status, r.text
    if status == 200:
        assert r.headers["ETag"] == etag("130100", r.json()["version"])


def _target(city: str = "130100", area: float = 6667.0) -> dict[str, Any]:
    return {"city_code": city, "year": YEAR, "kind": "idle", "target_area_m2": area}


@pytest.mark.parametrize("role,refused", WRITERS)
def test_a_target_needs_its_current_version(
    client: TestClient, role_tokens: dict[str, str], role: str | None, refused: int | None
) -> None:
    url = f"/api/monitoring/targets/130100/{YEAR}/idle"
    key = targets.target_key("130100", YEAR, "idle")
    reader = auth(role_tokens["admin"])
    first = client.get(url, headers=reader)
    assert first.status_code == 200 and first.headers["ETag"] == etag(key, 0)
    assert first.json()["target_area_m2"] is None
    h = _headers(role_tokens, role)
    if refused is not None:
        for extra in ({}, {"If-Match": first.headers["ETag"]}):
            r = client.put("/api/monitoring/targets", json=_target(), headers={**h, **extra})
            _problem(r, refused)
        assert client.get(url, headers=reader).json()["version"] == 0
        return
    _problem(client.put("/api/monitoring/targets", json=_target(), headers=h), 428)
    made = client.put(
        "/api/monitoring/targets", json=_target(), headers={**h, "If-Match": first.headers["ETag"]}
    )
    assert made.status_code == 200, made.text
    assert made.headers["ETag"] == etag(key, 1)
    listed = made.json()["targets"]
    assert [(t["version"], t["etag"]) for t in listed] == [(1, made.headers["ETag"])]
    stale = {**h, "If-Match": first.headers["ETag"]}
    r = client.put("/api/monitoring/targets", json=_target(area=1.0), headers=stale)
    assert "已被他人修改" in _problem(r, 412)["detail"]
    now = client.get(url, headers=reader)
    assert now.json()["target_area_m2"] == 6667.0 and now.headers["ETag"] == made.headers["ETag"]
    r = client.put(
        "/api/monitoring/targets",
        json=_target(area=1.0),
        headers={**h, "If-Match": now.headers["ETag"]},
    )
    assert r.status_code == 200 and r.headers["ETag"] == etag(key, 2)


@pytest.mark.parametrize(
    "role,status",
    [
        (None, 401),
        ("promoter", 200),
        ("zone", 200),
        ("bureau", 200),
        ("bureau_other", 403),
        ("province", 200),
        ("admin", 200),
    ],
)
def test_reading_one_target(
    client: TestClient, role_tokens: dict[str, str], role: str | None, status: int
) -> None:
    """As every monitoring read: a city's bureau its own city only."""
    r = client.get(
        f"/api/monitoring/targets/130100/{YEAR}/idle", headers=_headers(role_tokens, role)
    )
    assert r.status_code == status, r.text
    if status == 200:
        key = targets.target_key("130100", YEAR, "idle")
        assert r.headers["ETag"] == etag(key, r.json()["version"])


ADMIN = Principal(name="t-admin", role="admin")


def _history(session: Session) -> int:
    return int(
        session.execute(
            text("SELECT count(*) FROM landmatch.layer_version WHERE layer = 'disposal_target'")
        ).scalar_one()
    )


def test_a_refused_write_leaves_no_trace(session: Session) -> None:
    """A stale or missing version writes nothing, not even history; a good one writes one
    version of the target (the history trigger's audit row, as before) and bumps it."""
    kw: dict[str, Any] = {"city_code": "130300", "year": YEAR, "kind": "unsupplied"}
    key = targets.target_key("130300", YEAR, "unsupplied")
    before = _history(session)
    with pytest.raises(PreconditionRequired):
        targets.set_target(session, ADMIN, **kw, target_area_m2=5, if_match=None)
    with pytest.raises(PreconditionFailed):
        targets.set_target(session, ADMIN, **kw, target_area_m2=5, if_match=etag(key, 1))
    assert _history(session) == before
    assert targets.set_target(session, ADMIN, **kw, target_area_m2=5, if_match=etag(key, 0)) == 1
    assert targets.set_target(session, ADMIN, **kw, target_area_m2=6, if_match=ANY) == 2
    assert _history(session) == before + 2
    actor = session.execute(
        text(
            "SELECT actor FROM landmatch.layer_version WHERE layer = 'disposal_target' "
            "ORDER BY id DESC LIMIT 1"
        )
    ).scalar()
    assert actor == "t-admin"
    with pytest.raises(PreconditionFailed):
        rules.set_rule(session, "130300", {"fee_rate": 0.1}, "t", if_match=etag("130300", 3))
    assert rules.set_rule(session, "130300", {"fee_rate": 0.1}, "t", if_match="*") == 1
    assert rules.set_rule(session, "130300", {}, "t2", if_match=etag("130300", 1)) == 2
    own = rules.city_rules(session, ADMIN, "130300", 0.2)["own"]
    assert float(own["fee_rate"]) == pytest.approx(0.1) and own["updated_by"] == "t2"
