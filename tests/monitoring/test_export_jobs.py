"""The monitoring workbook as a background job (``/api/monitoring/exports``, issue #20 item 3):
started, followed and downloaded over a live server (the job runs on a thread of the server,
on its own connections, so everything here is committed), scoped like every monitoring read,
seen only by who started it (and the admin)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session

from landmatch.accounts.users import add_user
from landmatch.auth import Principal
from landmatch.monitoring import export
from landmatch.monitoring.idle import IdleRule

AS_OF = "2026-11-01"
ADMIN = Principal(name="t-admin", role="admin")
WAIT_S = 300  # a bound on how long a job may take here, never an assertion on speed


@pytest.fixture(scope="module")
def staff(engine: Engine) -> Iterator[dict[str, dict[str, str]]]:
    """Committed accounts, as bearer headers: admin, 石家庄 and 唐山 bureaus, a promoter."""
    tag = uuid.uuid4().hex[:6]
    specs = {
        "admin": ("admin", None),
        "sjz": ("bureau", "130100"),
        "ts": ("bureau", "130200"),
        "promoter": ("promoter", None),
    }
    names = {k: f"export-{k}-{tag}" for k in specs}
    with Session(engine) as s, s.begin():
        out = {k: add_user(s, names[k], role, city) for k, (role, city) in specs.items()}
    yield {k: {"Authorization": f"Bearer {v}"} for k, v in out.items()}
    with engine.begin() as c:
        c.execute(
            text("DELETE FROM landmatch.export_job WHERE actor = ANY(:n)"),
            {"n": list(names.values())},
        )
        c.execute(
            text("DELETE FROM landmatch.app_user WHERE name = ANY(:n)"), {"n": list(names.values())}
        )


def _admin_name(c: Connection) -> str:
    """The committed admin of the ``staff`` fixture."""
    return str(
        c.execute(
            text("SELECT name FROM landmatch.app_user WHERE name LIKE 'export-admin-%' LIMIT 1")
        ).scalar_one()
    )


def _finished(c: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    seen: list[dict[str, Any]] = []
    while True:
        r = c.get(url, headers=headers)
        assert r.status_code == 200, r.text
        job = r.json()
        seen.append(job)
        if job["state"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, seen[-3:]
        assert 0 <= job["percent"] < 100 and job["state_label"] in ("排队中", "正在导出")
        time.sleep(0.2)


def test_a_bureau_exports_its_city_as_a_job(
    live_server: str, staff: dict[str, dict[str, str]], engine: Engine
) -> None:
    with httpx.Client(base_url=live_server, timeout=60) as c:
        r = c.post("/api/monitoring/exports", json={"as_of": AS_OF}, headers=staff["sjz"])
        assert r.status_code == 202, r.text
        started = r.json()
        assert r.headers["Location"] == started["status_url"]
        # A city bureau's export is its own city's, without asking.
        assert started["city"] == "130100" and started["city_name"] == "石家庄市"
        assert started["file_url"] is None and started["as_of"] == AS_OF
        job = _finished(c, started["status_url"], staff["sjz"])
        assert job["state"] == "done", job
        assert job["percent"] == 100 and job["state_label"] == "已完成"
        assert job["filename"] == "monitoring-130100-2026-11-01.xlsx"
        # Every parcel row written, as many as the direct export's scans hold.
        with Session(engine) as s:
            direct = export.workbook(s, ADMIN, dt.date(2026, 11, 1), IdleRule(), "130100")
        assert job["total"] == job["done"] > 0
        f = c.get(job["file_url"], headers=staff["sjz"])
        assert f.status_code == 200
        assert f.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert int(f.headers["content-length"]) == len(f.content) == job["size"]
        assert 'filename="monitoring-130100-2026-11-01.xlsx"' in f.headers["content-disposition"]
        got, want = load_workbook(io.BytesIO(f.content)), load_workbook(io.BytesIO(direct))
        assert got.sheetnames == want.sheetnames and got.sheetnames[0] == "说明"
        notes = dict(got["说明"].iter_rows(min_row=2, values_only=True))
        assert notes["统计范围"] == "石家庄市（130100）"
        for title in got.sheetnames[1:]:
            rows = list(got[title].iter_rows(values_only=True))
            assert rows == list(want[title].iter_rows(values_only=True)), title
        # Progress counts the rows of both parcel sheets (闲置土地 and 转让路径: a row per
        # supplied or idle parcel each).
        assert job["total"] == 2 * (got["闲置土地"].max_row - 1)

        # Nobody else sees it: another city's bureau, the promoter (404), the public (401);
        # the admin does.
        for who in ("ts", "promoter"):
            assert c.get(started["status_url"], headers=staff[who]).status_code == 404
            assert c.get(job["file_url"], headers=staff[who]).status_code == 404
        assert c.get(started["status_url"]).status_code == 401
        assert c.get(job["file_url"]).status_code == 401
        assert c.get(started["status_url"], headers=staff["admin"]).json()["state"] == "done"


def test_the_sheets_read_on_a_second_connection_are_those_read_on_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A session on the engine has the small sheets read meanwhile on a connection of their
    own (``export.write_workbook``: once, on the side thread, without falling back); a session
    on a connection reads them itself: on the same committed data, the same workbook (the
    export time aside)."""
    day = dt.date.fromisoformat(AS_OF)
    read_on: list[str] = []
    other_tables = export._other_tables

    def spied(*args: Any) -> Any:
        read_on.append(threading.current_thread().name)
        return other_tables(*args)

    monkeypatch.setattr(export, "_other_tables", spied)
    with caplog.at_level(logging.WARNING, logger="landmatch.monitoring"), Session(engine) as s:
        assert isinstance(s.get_bind(), Engine)
        two = load_workbook(io.BytesIO(export.workbook(s, ADMIN, day, IdleRule(), None)))
    assert len(read_on) == 1 and read_on[0].startswith("lm-export-tables")
    assert not caplog.records  # read there, not again here
    with engine.connect() as conn, Session(bind=conn) as s:
        one = load_workbook(io.BytesIO(export.workbook(s, ADMIN, day, IdleRule(), None)))
    assert len(read_on) == 1  # a session on a connection reads them itself
    assert two.sheetnames == one.sheetnames and len(two.sheetnames) == 14
    for title in two.sheetnames[1:]:
        assert list(two[title].values) == list(one[title].values), title
    assert sum(two[t].max_row for t in two.sheetnames[1:]) > 100  # the sheets have rows


def test_without_a_spare_connection_or_when_it_fails_the_session_reads_them(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The second connection is taken only when the pool has one to spare at once (never
    waited for: a pool of one does not try), and when its reads fail, the session reads the
    sheets itself, saying so in the log: the same workbook either way."""
    day = dt.date.fromisoformat(AS_OF)
    with Session(engine) as s:
        want = load_workbook(io.BytesIO(export.workbook(s, ADMIN, day, IdleRule(), "130100")))

    def not_called(*args: Any) -> Any:
        pytest.fail("a second connection was asked of a pool with none to spare")

    monkeypatch.setattr(export, "_other_tables", not_called)
    one = create_engine(
        engine.url.render_as_string(hide_password=False),
        pool_size=1,
        max_overflow=0,
        pool_timeout=1,
    )
    try:
        with Session(one) as s:
            alone = load_workbook(io.BytesIO(export.workbook(s, ADMIN, day, IdleRule(), "130100")))
    finally:
        one.dispose()

    def broken(*args: Any) -> Any:
        raise OSError("the second connection broke")

    monkeypatch.setattr(export, "_other_tables", broken)
    with caplog.at_level(logging.WARNING, logger="landmatch.monitoring"), Session(engine) as s:
        fallen = export.workbook(s, ADMIN, day, IdleRule(), "130100")
    assert any("reading them here" in r.getMessage() for r in caplog.records)
    for got in (alone, load_workbook(io.BytesIO(fallen))):
        assert got.sheetnames == want.sheetnames
        for title in want.sheetnames[1:]:
            assert list(got[title].values) == list(want[title].values), title


def test_an_export_is_scoped_like_every_monitoring_read(
    live_server: str, staff: dict[str, dict[str, str]]
) -> None:
    with httpx.Client(base_url=live_server, timeout=60) as c:
        r = c.post("/api/monitoring/exports", json={"city": "130200"}, headers=staff["sjz"])
        assert r.status_code == 403 and "石家庄" in r.json()["detail"]
        assert c.post("/api/monitoring/exports", json={}).status_code == 401
        r = c.post("/api/monitoring/exports", json={"city": "999999"}, headers=staff["admin"])
        assert r.status_code == 400
        r = c.post("/api/monitoring/exports", json={"colour": "red"}, headers=staff["admin"])
        assert r.status_code in (400, 422)
        assert c.get("/api/monitoring/exports/999999999", headers=staff["admin"]).status_code == 404


def test_an_interrupted_job_says_so_and_old_jobs_go(
    live_server: str, staff: dict[str, dict[str, str]], engine: Engine
) -> None:
    """A running job whose heartbeat stopped (its worker died) reads as failed; a job older
    than a day is deleted with its file when the next one starts."""
    with engine.begin() as c:
        actor = _admin_name(c)
        stuck = c.execute(
            text(
                "INSERT INTO landmatch.export_job (kind, actor, params, state, filename, "
                "heartbeat_at, updated_at) VALUES ('monitoring', :a, '{\"as_of\": \"2026-11-01\"}', "
                "'running', 'x.xlsx', now() - interval '5 minutes', now() - interval '5 minutes') "
                "RETURNING id"
            ),
            {"a": actor},
        ).scalar_one()
        old = c.execute(
            text(
                "INSERT INTO landmatch.export_job (kind, actor, params, state, filename, "
                "created_at) VALUES ('monitoring', :a, '{\"as_of\": \"2026-11-01\"}', 'done', "
                "'y.xlsx', now() - interval '2 days') RETURNING id"
            ),
            {"a": actor},
        ).scalar_one()
        c.execute(
            text("INSERT INTO landmatch.export_job_chunk (job_id, seq, data) VALUES (:j, 0, 'x')"),
            {"j": old},
        )
    with httpx.Client(base_url=live_server, timeout=60) as c:
        job = c.get(f"/api/monitoring/exports/{stuck}", headers=staff["admin"]).json()
        assert job["state"] == "failed" and "中断" in job["error"] and job["file_url"] is None
        assert c.get(f"/api/monitoring/exports/{old}", headers=staff["admin"]).status_code == 200
        r = c.post(
            "/api/monitoring/exports",
            json={"city": "130100", "as_of": AS_OF},
            headers=staff["admin"],
        )
        assert r.status_code == 202
        assert c.get(f"/api/monitoring/exports/{old}", headers=staff["admin"]).status_code == 404
        _finished(c, r.json()["status_url"], staff["admin"])
    with engine.connect() as c:
        left = c.execute(
            text("SELECT count(*) FROM landmatch.export_job_chunk WHERE job_id = :j"), {"j": old}
        ).scalar_one()
    assert left == 0


def test_a_failed_export_says_why_in_chinese_without_internals(
    engine: Engine, staff: dict[str, dict[str, str]]
) -> None:
    """A refusal met while writing (here: a city the services do not know) fails the job with
    its Chinese message; nothing else of the error reaches the user."""
    from landmatch.monitoring import export_jobs

    with engine.begin() as c:
        actor = _admin_name(c)
        job_id = c.execute(
            text(
                "INSERT INTO landmatch.export_job (kind, actor, city_code, params, filename) "
                "VALUES ('monitoring', :a, '139999', '{\"as_of\": \"2026-11-01\"}', 'x.xlsx') "
                "RETURNING id"
            ),
            {"a": actor},
        ).scalar_one()
    export_jobs.execute(engine, job_id, ADMIN, IdleRule())
    with engine.connect() as c:
        state, error = c.execute(
            text("SELECT state, error FROM landmatch.export_job WHERE id = :id"), {"id": job_id}
        ).one()
    assert state == "failed"
    assert error.startswith("导出失败：") and "139999" in error and "SELECT" not in error
