"""Stored match runs (``landmatch.match.runs``): kept compressed and returned byte for byte,
older plain runs still readable, and the retention sweep that spares what a project or an
inquiry refers to."""

from __future__ import annotations

import datetime as dt
import uuid
import zlib

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from landmatch.match import runs
from tests.conftest import auth

REQ = {"industry": "36", "area_mu_min": 20, "area_mu_max": 150, "top": 10}


def test_a_run_is_stored_compressed_and_returned_byte_for_byte(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    h = auth(tokens["promoter"])
    first = client.post("/api/match", json=REQ, headers=h)
    assert first.status_code == 200, first.text
    run_id = first.json()["match_id"]
    row = session.execute(
        text(
            "SELECT compressed, returned, octet_length(body) AS size "
            "FROM landmatch.match_run WHERE id = :i"
        ),
        {"i": run_id},
    ).one()
    assert row.compressed and row.returned == first.json()["numberReturned"] > 0
    assert row.size * 5 < len(first.content)  # JSON this repetitive compresses well
    again = client.get(f"/api/match/{run_id}", headers=h)
    assert again.status_code == 200 and again.content == first.content


def test_runs_stored_before_compression_are_still_read(
    client: TestClient, session: Session
) -> None:
    plain = {"type": "FeatureCollection", "features": [], "numberReturned": 0, "note": "旧记录"}
    run_id = str(uuid.uuid4())
    session.execute(
        text(
            "INSERT INTO landmatch.match_run (id, request, body, public) "
            "VALUES (:i, '{}'::jsonb, :b, true)"
        ),
        {"i": run_id, "b": orjson.dumps(plain)},
    )
    session.flush()
    r = client.get(f"/api/match/{run_id}")
    assert r.status_code == 200 and r.json() == plain


def test_pack_round_trips() -> None:
    body = orjson.dumps({"名称": "地块" * 500})
    packed = runs.pack(body)
    assert zlib.decompress(packed) == body and len(packed) < len(body) / 10
    assert runs.unpack(packed, True) == body and runs.unpack(body, False) == body


def _run(session: Session, age_days: int, *, project_id: int | None = None) -> str:
    run_id = str(uuid.uuid4())
    session.execute(
        text(
            "INSERT INTO landmatch.match_run (id, project_id, request, body, compressed, "
            "public, created_at) VALUES (:i, :p, '{}'::jsonb, :b, true, true, "
            "now() - make_interval(days => :d))"
        ),
        {"i": run_id, "p": project_id, "b": runs.pack(b"{}"), "d": age_days},
    )
    return run_id


def _left(session: Session, ids: list[str]) -> set[str]:
    return set(
        session.execute(
            text("SELECT id FROM landmatch.match_run WHERE id = ANY(:ids)"), {"ids": ids}
        ).scalars()
    )


def test_retention_deletes_old_runs_nothing_refers_to(session: Session) -> None:
    project = session.execute(
        text(
            "INSERT INTO landmatch.project (name, requirement, owner_team) "
            "VALUES ('保留测试', '{}'::jsonb, '测试团队') RETURNING id"
        )
    ).scalar_one()
    old = _run(session, 400)
    recent = _run(session, 10)
    for_project = _run(session, 400, project_id=project)
    named = _run(session, 400)
    parcel = session.execute(
        text(
            "SELECT code, city_code FROM landmatch.parcel WHERE deleted_at IS NULL "
            "ORDER BY id LIMIT 1"
        )
    ).one()
    session.execute(
        text(
            "INSERT INTO landmatch.inquiry (parcel_code, match_id, city_code, name, phone, "
            "message, consent_at, nonce) VALUES (:c, :m, :city, '张三', '13800000000', "
            "'想了解', now(), md5(random()::text))"
        ),
        {"c": parcel.code, "m": named, "city": parcel.city_code},
    )
    ids = [old, recent, for_project, named]
    assert runs.prune(session, 0) == 0 and _left(session, ids) == set(ids)
    assert runs.prune(session, 180) >= 1
    assert _left(session, ids) == {recent, for_project, named}
    # A year later the recent one has gone too.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    runs.prune(session, 180, now=later)
    assert _left(session, ids) == {for_project, named}


def test_prune_runs_command(engine: Engine) -> None:
    from landmatch.cli import app

    with Session(engine) as s, s.begin():
        old, recent = _run(s, 40), _run(s, 1)
    try:
        r = CliRunner().invoke(app, ["db", "prune-runs", "--days", "30"])
        assert r.exit_code == 0, r.output
        assert "已删除" in r.output
        with Session(engine) as s:
            assert _left(s, [old, recent]) == {recent}
        r = CliRunner().invoke(app, ["db", "prune-runs", "--days", "0"])
        assert r.exit_code == 0 and "保留全部" in r.output
    finally:
        with engine.begin() as c:
            c.execute(
                text("DELETE FROM landmatch.match_run WHERE id = ANY(:i)"), {"i": [old, recent]}
            )
