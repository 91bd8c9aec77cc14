"""Optimistic locking under real concurrency (issue #13 items 1 and 2): many clients write the
same version of a resource at the same moment through the live server; exactly one writes, the
others get 412, and exactly one new version exists. Two concurrent imports of the same new codes:
the second gets 409 naming them and writes nothing.

The live server shares the committed test database: each test creates its own rows (unique
codes) and removes them again.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from landmatch.accounts.users import add_user
from landmatch.auth import Principal
from landmatch.db.locking import ANY
from tests.inventory.conftest import feature, geojson_bytes, square

N = 12  # concurrent writers per race (20 for the parcel edit, as in the issue)
ADMIN = Principal(name="t-race", role="admin")


@pytest.fixture(scope="module")
def staff(engine: Engine) -> Iterator[dict[str, dict[str, str]]]:
    """Committed admin and bureau (石家庄) tokens, as headers."""
    names = {role: f"race-{role}-{uuid.uuid4().hex[:6]}" for role in ("admin", "bureau")}
    with Session(engine) as s, s.begin():
        out = {
            "admin": add_user(s, names["admin"], "admin"),
            "bureau": add_user(s, names["bureau"], "bureau", "130100"),
        }
    yield {k: {"Authorization": f"Bearer {v}"} for k, v in out.items()}
    with engine.begin() as c:
        c.execute(
            text("DELETE FROM landmatch.app_user WHERE name = ANY(:n)"), {"n": list(names.values())}
        )


def race(
    url: str, n: int, send: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """``n`` clients (threads, each its own connection) send at the same moment."""
    barrier = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            c.get("/healthz")  # connected before the start
            barrier.wait()
            out[i] = send(c, i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert all(r is not None for r in out), "a writer did not finish"
    return out


def one_winner(responses: list[httpx.Response], ok: int = 200) -> httpx.Response:
    """Exactly one ``ok``; every other answer a 412 problem in Chinese. Returns the winner."""
    statuses = sorted(r.status_code for r in responses)
    assert statuses == sorted([ok] + [412] * (len(responses) - 1)), [
        (r.status_code, r.text[:200]) for r in responses if r.status_code not in (ok, 412)
    ] or statuses
    for r in responses:
        if r.status_code == 412:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "已被他人修改" in r.json()["detail"]
    return next(r for r in responses if r.status_code == ok)


def _count(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as c:
        return c.execute(text(sql), params).scalar()


@pytest.fixture
def parcel_codes(engine: Engine) -> Iterator[list[str]]:
    """Codes of parcels a test commits; removed again afterwards (with their versions)."""
    from landmatch.db import derived

    codes: list[str] = []
    yield codes
    with engine.begin() as c:
        ids = c.execute(
            text("SELECT id, import_id FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": codes}
        ).all()
        case_ids = (
            c.execute(
                text("SELECT id FROM landmatch.disposal_case WHERE parcel_id = ANY(:i)"),
                {"i": [r[0] for r in ids]},
            )
            .scalars()
            .all()
        )
        c.execute(
            text("DELETE FROM landmatch.disposal_step WHERE case_id = ANY(:i)"), {"i": case_ids}
        )
        c.execute(text("DELETE FROM landmatch.disposal_case WHERE id = ANY(:i)"), {"i": case_ids})
        c.execute(text("DELETE FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": codes})
        c.execute(text("DELETE FROM landmatch.parcel_version WHERE code = ANY(:c)"), {"c": codes})
        c.execute(
            text("DELETE FROM landmatch.import_batch WHERE id = ANY(:i)"),
            {"i": sorted({r[1] for r in ids if r[1] is not None})},
        )
        c.execute(
            text("DELETE FROM landmatch.parcel_dirty WHERE parcel_id = ANY(:i)"),
            {"i": [r[0] for r in ids]},
        )
    derived.drain(engine)


def _new_parcel(url: str, headers: dict[str, str], code: str, **props: Any) -> httpx.Response:
    # A quiet corner of 石家庄, away from the seeded parcels' usual places.
    x = 114.20 + (uuid.uuid4().int % 200) * 0.003
    body = feature(code, square(x, 38.30, 0.001), visibility="internal", **props)
    r = httpx.post(url + "/api/parcels", json=body, headers=headers, timeout=60)
    assert r.status_code == 201, r.text
    return r


def _versions(engine: Engine, code: str, op: str | None = None) -> int:
    return _count(
        engine,
        "SELECT count(*) FROM landmatch.parcel_version WHERE code = :c "
        "AND (CAST(:op AS text) IS NULL OR op = CAST(:op AS text))",
        c=code,
        op=op,
    )


def test_parcel_edit_delete_restore_races(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]], parcel_codes: list[str]
) -> None:
    code = f"RACE-P-{uuid.uuid4().hex[:6].upper()}"
    parcel_codes.append(code)
    h = staff["bureau"]
    tag = _new_parcel(live_server, h, code).headers["ETag"]
    assert _versions(engine, code) == 1

    edits = race(
        live_server,
        20,
        lambda c, i: c.patch(
            f"/api/parcels/{code}", json={"name": f"并发修改{i}"}, headers={**h, "If-Match": tag}
        ),
    )
    won = one_winner(edits)
    assert _versions(engine, code) == 2  # one new version, not twenty
    name = _count(engine, "SELECT name FROM landmatch.parcel WHERE code = :c", c=code)
    assert name == won.json()["properties"]["name"]

    tag = won.headers["ETag"]
    deletes = race(
        live_server,
        N,
        lambda c, i: c.delete(f"/api/parcels/{code}", headers={**h, "If-Match": tag}),
    )
    gone = one_winner(deletes, 204)
    assert _versions(engine, code, "delete") == 1 and _versions(engine, code) == 3

    tag = gone.headers["ETag"]
    restores = race(
        live_server,
        N,
        lambda c, i: c.post(
            f"/api/parcels/{code}/restore", json={}, headers={**h, "If-Match": tag}
        ),
    )
    one_winner(restores)
    assert _versions(engine, code, "restore") == 1 and _versions(engine, code) == 4


def test_zone_and_assessment_races(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]]
) -> None:
    code = f"race-z-{uuid.uuid4().hex[:6]}"
    h = staff["admin"]
    body = {
        "code": code,
        "name": "并发测试开发区",
        "city_code": "130700",
        "level": "provincial",
        "kind": "经开区",
        "geometry": square(115.10, 41.60, 0.002),  # 张家口, far from the seeded zones
    }
    r = httpx.post(live_server + "/api/zones", json=body, headers=h, timeout=60)
    assert r.status_code == 201, r.text
    zid = r.json()["id"]
    try:
        tag = r.headers["ETag"]
        history = "SELECT count(*) FROM landmatch.layer_version WHERE layer = 'dev_zone' AND record_id = :i"
        before = _count(engine, history, i=zid)
        edits = race(
            live_server,
            N,
            lambda c, i: c.patch(
                f"/api/zones/{code}",
                json={"contact_phone": f"0313-{i:07d}"},
                headers={**h, "If-Match": tag},
            ),
        )
        won = one_winner(edits)
        assert _count(engine, history, i=zid) == before + 1
        assert _count(engine, "SELECT version FROM landmatch.dev_zone WHERE id = :i", i=zid) == 2

        # An assessment is part of its zone: the zone's ETag guards it.
        tag = won.headers["ETag"]
        adds = race(
            live_server,
            N,
            lambda c, i: c.post(
                f"/api/zones/{code}/assessments",
                json={"kind": "SEISMIC", "approved_on": "2025-01-10", "doc_no": f"冀震评{i}"},
                headers={**h, "If-Match": tag},
            ),
        )
        one_winner(adds, 201)
        assert (
            _count(
                engine, "SELECT count(*) FROM landmatch.zone_assessment WHERE zone_id = :i", i=zid
            )
            == 1
        )
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.zone_assessment WHERE zone_id = :i"), {"i": zid})
            c.execute(text("DELETE FROM landmatch.dev_zone WHERE id = :i"), {"i": zid})


def test_policy_race(live_server: str, engine: Engine, staff: dict[str, dict[str, str]]) -> None:
    code = f"race-pol-{uuid.uuid4().hex[:6]}"
    h = staff["bureau"]
    body = {
        "code": code,
        "title": "并发测试政策",
        "issuer": "石家庄市人民政府",
        "scope_level": "city",
        "scope_code": "130100",
        "benefit_kind": "subsidy",
        "summary": "测试",
        "visibility": "internal",
    }
    r = httpx.post(live_server + "/api/policies", json=body, headers=h, timeout=60)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    try:
        tag = r.headers["ETag"]
        edits = race(
            live_server,
            N,
            lambda c, i: c.patch(
                f"/api/policies/{code}",
                json={"summary": f"修改{i}"},
                headers={**h, "If-Match": tag},
            ),
        )
        won = one_winner(edits)
        history = (
            "SELECT count(*) FROM landmatch.layer_version WHERE layer = 'policy' AND record_id = :i"
        )
        assert _count(engine, history, i=pid) == 2  # insert + one update
        assert (
            _count(engine, "SELECT summary FROM landmatch.policy WHERE id = :i", i=pid)
            == won.json()["summary"]
        )
        # A delete against the stale version is refused too.
        stale = httpx.delete(f"{live_server}/api/policies/{code}", headers={**h, "If-Match": tag})
        assert stale.status_code == 412
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.policy WHERE id = :i"), {"i": pid})


def test_project_race(live_server: str, engine: Engine, staff: dict[str, dict[str, str]]) -> None:
    h = staff["admin"]
    req = {"industry": "36", "area_mu_min": 30, "area_mu_max": 200}
    r = httpx.post(
        live_server + "/api/projects", json={"name": "并发测试项目", "requirement": req}, headers=h
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    try:
        tag = r.headers["ETag"]
        edits = race(
            live_server,
            N,
            lambda c, i: c.patch(
                f"/api/projects/{pid}", json={"notes": f"备注{i}"}, headers={**h, "If-Match": tag}
            ),
        )
        won = one_winner(edits)
        row = _count(
            engine, "SELECT row(version, notes)::text FROM landmatch.project WHERE id = :i", i=pid
        )
        assert row == f"(2,{won.json()['notes']})"
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.project WHERE id = :i"), {"i": pid})


def test_disposal_case_race(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]], parcel_codes: list[str]
) -> None:
    code = f"RACE-C-{uuid.uuid4().hex[:6].upper()}"
    parcel_codes.append(code)
    h = staff["bureau"]
    _new_parcel(live_server, h, code, status="unsupplied", approval_date="2020-03-01")
    r = httpx.post(
        live_server + "/api/monitoring/cases",
        json={"parcel_code": code, "opened_on": "2025-03-01"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    cid, tag = r.json()["id"], r.headers["ETag"]
    steps = race(
        live_server,
        N,
        lambda c, i: c.post(
            f"/api/monitoring/cases/{cid}/steps",
            json={"kind": "plan", "done_on": "2025-03-20", "doc_no": f"方案{i}"},
            headers={**h, "If-Match": tag},
        ),
    )
    one_winner(steps)
    done = _count(
        engine,
        "SELECT count(*) FROM landmatch.disposal_step WHERE case_id = :i AND done_on IS NOT NULL",
        i=cid,
    )
    assert done == 1
    assert _count(engine, "SELECT version FROM landmatch.disposal_case WHERE id = :i", i=cid) == 2


def test_reference_layer_feature_race(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]]
) -> None:
    code = f"race-ca-{uuid.uuid4().hex[:6]}"
    h = staff["admin"]
    data = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": code, "name": "并发测试管控区", "kind": "eco_redline"},
                    "geometry": square(115.30, 41.70, 0.002),  # no parcel there
                }
            ],
        }
    ).encode()
    r = httpx.post(
        live_server + "/api/layers/constraint_area/import",
        files={"file": ("ca.geojson", data)},
        headers=h,
        timeout=60,
    )
    assert r.status_code == 200, r.text
    try:
        g = httpx.get(f"{live_server}/api/layers/constraint_area/{code}", headers=h)
        assert g.status_code == 200 and g.headers["ETag"] == f'"{code}.v1"', g.text
        fid = g.json().get("id")
        edits = race(
            live_server,
            N,
            lambda c, i: c.patch(
                f"/api/layers/constraint_area/{code}",
                json={"name": f"管控区{i}"},
                headers={**h, "If-Match": g.headers["ETag"]},
            ),
        )
        one_winner(edits)
        history = (
            "SELECT count(*) FROM landmatch.layer_version v JOIN landmatch.constraint_area a "
            "ON a.id = v.record_id WHERE v.layer = 'constraint_area' AND a.code = :c"
        )
        assert _count(engine, history, c=code) == 2, fid  # insert + one update
        deletes = race(
            live_server,
            4,
            lambda c, i: c.delete(
                f"/api/layers/constraint_area/{code}", headers={**h, "If-Match": g.headers["ETag"]}
            ),
        )
        assert all(d.status_code == 412 for d in deletes)  # stale: nothing deleted
    finally:
        with Session(engine) as s, s.begin():
            from landmatch.reflayers import changes

            changes.delete_record(s, ADMIN, "constraint_area", code, if_match=ANY)


def test_concurrent_imports_of_the_same_new_codes(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]], parcel_codes: list[str]
) -> None:
    """One import holds new codes in its open transaction (as the CLI does while it writes);
    an API import of the same codes waits for it, and when the first commits, gets 409 naming
    the codes and writes nothing."""
    from landmatch.inventory.imports import ImportOptions, run_import

    tag = uuid.uuid4().hex[:6].upper()
    codes = [f"RACE-I-{tag}-{i}" for i in range(3)]
    parcel_codes.extend(codes)
    data = geojson_bytes(
        *[
            feature(c, square(114.26 + 0.002 * i, 38.33, 0.001), visibility="internal")
            for i, c in enumerate(codes)
        ]
    )
    answer: dict[str, httpx.Response] = {}
    with engine.connect() as conn:
        first = conn.begin()
        report = run_import(conn, data, "first.geojson", ADMIN, ImportOptions())
        assert report["totals"]["created"] == 3, report["totals"]

        def second() -> None:
            answer["r"] = httpx.post(
                live_server + "/api/imports",
                files={"file": ("second.geojson", data)},
                headers=staff["bureau"],
                timeout=90,
            )

        t = threading.Thread(target=second)
        t.start()
        # Wait until the second import is really blocked on the first one's new codes.
        deadline = time.monotonic() + 30
        while not _count(
            engine,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()",
        ):
            assert time.monotonic() < deadline and t.is_alive(), answer
            time.sleep(0.05)
        first.commit()
        t.join(60)
    r = answer["r"]
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert all(c in detail for c in codes) and "未写入任何数据" in detail
    # Nothing of the second import was written: one version per code, one import batch.
    with engine.connect() as c:
        batches = (
            c.execute(
                text(
                    "SELECT DISTINCT import_id FROM landmatch.parcel_version WHERE code = ANY(:c)"
                ),
                {"c": codes},
            )
            .scalars()
            .all()
        )
        assert len(batches) == 1
        assert (
            c.execute(
                text("SELECT count(*) FROM landmatch.parcel_version WHERE code = ANY(:c)"),
                {"c": codes},
            ).scalar()
            == 3
        )
        assert not c.execute(
            text("SELECT count(*) FROM landmatch.import_batch WHERE filename = 'second.geojson'")
        ).scalar()


def _put_target(
    city: str, year: int, round_: int, tag: str, h: dict[str, str], c: httpx.Client, i: int
) -> httpx.Response:
    body = {
        "city_code": city,
        "year": year,
        "kind": "idle",
        "target_area_m2": 1000.0 * (round_ * N + i + 1),
    }
    return c.put("/api/monitoring/targets", json=body, headers={**h, "If-Match": tag})


def _put_rules(url: str, tag: str, h: dict[str, str], c: httpx.Client, i: int) -> httpx.Response:
    body = {"idle_after_months": 12, "recover_after_months": 25 + i}
    return c.put(url, json=body, headers={**h, "If-Match": tag})


def test_disposal_target_race(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]]
) -> None:
    """Many first settings of the same target (all naming version 0, as the forms opened
    before it was set), then many changes of one version: one writes each time."""
    city, year = "130100", 2090 + uuid.uuid4().int % 10
    one = f"/api/monitoring/targets/{city}/{year}/idle"
    h = staff["bureau"]
    history = (
        "SELECT count(*) FROM landmatch.layer_version WHERE layer = 'disposal_target' "
        "AND row ->> 'city_code' = :c AND (row ->> 'year')::int = :y"
    )
    try:
        for round_ in range(2):
            tag = httpx.get(live_server + one, headers=h).headers["ETag"]
            puts = race(live_server, N, partial(_put_target, city, year, round_, tag, h))
            won = one_winner(puts)
            area = won.json()["targets"][0]["target_area_m2"]
            row = _count(
                engine,
                "SELECT row(version, target_area_m2)::text FROM landmatch.disposal_target "
                "WHERE city_code = :c AND year = :y AND kind = 'idle'",
                c=city,
                y=year,
            )
            assert row == f"({round_ + 1},{area:g})"
        assert _count(engine, history, c=city, y=year) == 2  # insert + one update
    finally:
        with engine.begin() as c:
            c.execute(
                text("DELETE FROM landmatch.disposal_target WHERE city_code = :c AND year = :y"),
                {"c": city, "y": year},
            )
            c.execute(text(history.replace("SELECT count(*)", "DELETE")), {"c": city, "y": year})


def test_city_rule_set_race(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]]
) -> None:
    """Many changes of a city's idle-land rule set naming one version: one writes. The city's
    row as it was is put back afterwards (the live server shares the database)."""
    city = "130900"
    url = f"/api/monitoring/rules/{city}"
    h = staff["admin"]
    with engine.connect() as c:
        kept = (
            c.execute(
                text("SELECT * FROM landmatch.monitoring_rule WHERE city_code = :c"), {"c": city}
            )
            .mappings()
            .first()
        )
    try:
        for _ in range(2):
            tag = httpx.get(live_server + url, headers=h).headers["ETag"]
            puts = race(live_server, N, partial(_put_rules, url, tag, h))
            won = one_winner(puts)
            saved = {r["city_code"]: r for r in won.json()["rules"]}[city]
            now = httpx.get(live_server + url, headers=h)
            assert now.headers["ETag"] == won.headers["ETag"]
            assert now.json()["own"]["recover_after_months"] == saved["recover_after_months"]
        assert now.json()["version"] == (kept["version"] if kept else 0) + 2
    finally:
        with engine.begin() as c:
            c.execute(
                text("DELETE FROM landmatch.monitoring_rule WHERE city_code = :c"), {"c": city}
            )
            if kept is not None:
                cols = list(kept.keys())
                c.execute(
                    text(
                        f"INSERT INTO landmatch.monitoring_rule ({', '.join(cols)}) "
                        f"VALUES ({', '.join(':' + k for k in cols)})"
                    ),
                    dict(kept),
                )


def _wait_until_blocked_by(engine: Engine, pid: int) -> None:
    """Until some backend waits for a lock ``pid`` holds (a condition, not a duration: the
    deadline only keeps a broken run from hanging)."""
    deadline = time.monotonic() + 60
    while not _count(
        engine, "SELECT count(*) FROM pg_stat_activity WHERE :p = ANY(pg_blocking_pids(pid))", p=pid
    ):
        assert time.monotonic() < deadline, "the decision never waited for the parcel edit"
        time.sleep(0.05)


def _during_edit(
    engine: Engine, code: str, tag: str, body: dict[str, Any], send: Callable[[], httpx.Response]
) -> httpx.Response:
    """``send`` while an edit of parcel ``code`` (``body``, by the service, as a bureau of
    石家庄) is written and not yet committed; the edit commits once ``send``'s request waits
    for it. ``send``'s answer."""
    from landmatch.inventory import edits

    editor = Principal(name="t-race-editor", role="bureau", city_code="130100")
    out: list[httpx.Response] = []
    with Session(engine) as edit:
        edits.update_parcel(edit, code, body, tag, editor)
        blocker = int(edit.execute(text("SELECT pg_backend_pid()")).scalar_one())
        request = threading.Thread(target=lambda: out.append(send()))
        request.start()
        _wait_until_blocked_by(engine, blocker)
        edit.commit()
    request.join(90)
    assert out, "the request did not finish"
    return out[0]


def _case_at_decision(
    url: str, h: dict[str, str], code: str, opened_on: str, steps: dict[str, str]
) -> tuple[int, str]:
    """Open the parcel's case and record ``steps`` (kind → day): its id and ETag."""
    r = httpx.post(
        url + "/api/monitoring/cases", json={"parcel_code": code, "opened_on": opened_on}, headers=h
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    for kind, day in steps.items():
        r = httpx.post(
            f"{url}/api/monitoring/cases/{cid}/steps",
            json={"kind": kind, "done_on": day},
            headers={**h, "If-Match": r.headers["ETag"]},
        )
        assert r.status_code == 200, r.text
    return cid, r.headers["ETag"]


def test_a_decision_waits_for_a_parcel_edit_and_keeps_it(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]], parcel_codes: list[str]
) -> None:
    """A disposal decision made while an edit of its parcel is under way (its notes changed,
    not yet committed) waits for it, then appends its stamp to the notes as the edit left them:
    the edit's note stays (the decision read the parcel unlocked and wrote the notes it had
    read, so the edit was lost). The edit's and the decision's versions both exist."""
    code = f"RACE-D-{uuid.uuid4().hex[:6].upper()}"
    parcel_codes.append(code)
    h = staff["bureau"]
    tag = _new_parcel(
        live_server, h, code, status="unsupplied", approval_date="2020-03-01", notes="原有备注"
    ).headers["ETag"]
    cid, case_tag = _case_at_decision(live_server, h, code, "2025-03-01", {"plan": "2025-03-20"})
    r = _during_edit(
        engine,
        code,
        tag,
        {"notes": "权属人已补交材料（重要）", "reason": "补充"},
        lambda: httpx.post(
            f"{live_server}/api/monitoring/cases/{cid}/decision",
            json={"decision": "supply", "decided_on": "2025-04-01"},
            headers={**h, "If-Match": case_tag},
            timeout=60,
        ),
    )
    assert r.status_code == 200, r.text
    notes = _count(engine, "SELECT notes FROM landmatch.parcel WHERE code = :c", c=code)
    assert notes == f"权属人已补交材料（重要）\n[2025-04-01] 供应（处置案件 {cid}）", notes
    assert _versions(engine, code) == 3


def test_a_closure_waits_for_a_parcel_edit_and_keeps_it(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]], parcel_codes: list[str]
) -> None:
    """The same for a case closed without a disposal (不构成闲置，撤销): it waits for the edit
    under way and appends its stamp to the notes as the edit left them (it wrote the notes it
    had read before, losing the edit's)."""
    code = f"RACE-C-{uuid.uuid4().hex[:6].upper()}"
    parcel_codes.append(code)
    h = staff["bureau"]
    tag = _new_parcel(
        live_server,
        h,
        code,
        status="idle",
        contract_date="2021-01-01",
        agreed_start_date="2021-06-01",
        land_price_wan=1000,
        notes="原有备注",
    ).headers["ETag"]
    cid, case_tag = _case_at_decision(
        live_server, h, code, "2024-02-01", {"investigation_notice": "2024-03-01"}
    )
    r = _during_edit(
        engine,
        code,
        tag,
        {"notes": "权属人已补交材料（重要）", "reason": "补充"},
        lambda: httpx.post(
            f"{live_server}/api/monitoring/cases/{cid}/decision",
            json={"decision": "not_idle", "decided_on": "2024-04-01", "note": "已在建"},
            headers={**h, "If-Match": case_tag},
            timeout=60,
        ),
    )
    assert r.status_code == 200, r.text
    notes = _count(engine, "SELECT notes FROM landmatch.parcel WHERE code = :c", c=code)
    assert notes == (
        f"权属人已补交材料（重要）\n[2024-04-01] 不构成闲置，撤销（处置案件 {cid}）：已在建"
    ), notes


def test_a_decision_checks_the_parcel_as_an_edit_left_it(
    live_server: str, engine: Engine, staff: dict[str, dict[str, str]], parcel_codes: list[str]
) -> None:
    """An idle-land decision made while an edit records the land as ready (recovered
    meanwhile) waits for it and is refused by the parcel's status as committed (409), the
    edit's state kept; the case stays open (checked on a read without a lock, the fee was
    decided on land no longer idle)."""
    code = f"RACE-I-{uuid.uuid4().hex[:6].upper()}"
    parcel_codes.append(code)
    h = staff["bureau"]
    tag = _new_parcel(
        live_server,
        h,
        code,
        status="idle",
        contract_date="2021-01-01",
        agreed_start_date="2021-06-01",
        land_price_wan=1000,
    ).headers["ETag"]
    steps = {
        "investigation_notice": "2024-03-01",
        "holder_reply": "2024-03-20",
        "determination": "2024-04-10",
        "public_notice": "2024-04-20",
    }
    cid, case_tag = _case_at_decision(live_server, h, code, "2024-02-01", steps)
    r = _during_edit(
        engine,
        code,
        tag,
        {"status": "ready", "reason": "已收回"},
        lambda: httpx.post(
            f"{live_server}/api/monitoring/cases/{cid}/decision",
            json={"decision": "fee", "decided_on": "2024-05-01"},
            headers={**h, "If-Match": case_tag},
            timeout=60,
        ),
    )
    assert r.status_code == 409, r.text
    assert "状态已是" in r.json()["detail"]
    assert _count(engine, "SELECT status FROM landmatch.parcel WHERE code = :c", c=code) == "ready"
    assert _count(engine, "SELECT status FROM landmatch.disposal_case WHERE id = :i", i=cid) == (
        "open"
    )
