"""The monitoring workbook as a background job (what the dashboard's 导出 Excel starts).

A province's workbook has a row per supplied parcel: minutes of work and tens of MB at a
million parcels, too long for one request. :func:`start` records a job (the caller's city
scope decided here, as for every monitoring read); :func:`run_in_background` writes the
workbook on a thread of the worker that took the request, on the long-jobs engine, recording
the sheet it is on and the idle-land rows written (with a heartbeat, so a job whose worker
died shows as interrupted), then stores the file in chunks for any app server to send. One
export runs at a time per worker process (others wait, queued): a burst of exports takes one
thread and one database connection, and the worker's other requests keep their share.

Only the account that started a job (and the admin) sees it; jobs are deleted after a day.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db import export_jobs as store
from landmatch.errors import NotFound
from landmatch.monitoring import export
from landmatch.monitoring.idle import IdleRule
from landmatch.monitoring.scope import city_scope, require_reader

KIND = "monitoring"
HEARTBEAT_SECONDS = 10
STATE_LABELS = {"queued": "排队中", "running": "正在导出", "done": "已完成", "failed": "失败"}
# One export at a time in this process (a second waits, queued).
_slot = threading.Semaphore(1)


def start(conn: Connection, principal: Principal, as_of: dt.date, city: str | None) -> int:
    """Record a new export of the monitoring workbook for ``city`` (as the caller may read it:
    a city bureau its own city) on ``as_of``; the job's id. Old jobs are pruned here."""
    city = city_scope(principal, city)
    store.prune(conn)
    return store.insert_job(
        conn,
        kind=KIND,
        actor=principal.actor,
        city=city,
        params={"as_of": as_of.isoformat()},
        filename=export.filename(city, as_of),
    )


def job_for(conn: Connection, principal: Principal, job_id: int) -> dict[str, Any]:
    """A job the caller may see (its own; the admin every one), else NotFound."""
    require_reader(principal)
    job = store.get_job(conn, job_id)
    if job is None or (job["actor"] != principal.actor and principal.role != "admin"):
        raise NotFound(f"导出任务 {job_id} 不存在")
    return job


def view(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API and the dashboard show it."""
    state = "failed" if job["interrupted"] else job["state"]
    total, done = int(job["total"]), int(job["done"])
    return {
        "id": job["id"],
        "state": state,
        "state_label": STATE_LABELS[state],
        "stage": job["stage"],
        "done": done,
        "total": total,
        "percent": 100 if state == "done" else (min(99, done * 100 // total) if total else 0),
        "city": job["city_code"],
        "city_name": vocab.CITIES.get(job["city_code"], "全省"),
        "as_of": job["params"].get("as_of"),
        "filename": job["filename"],
        "size": job["size"],
        "error": "导出进程已中断，请重新导出" if job["interrupted"] else job["error"],
        "created_at": job["created_at"].isoformat(),
        "status_url": f"/api/monitoring/exports/{job['id']}",
        "file_url": f"/api/monitoring/exports/{job['id']}/file" if state == "done" else None,
    }


def file_chunks(engine: Engine, job: dict[str, Any]) -> Iterator[bytes]:
    """A finished job's file, chunk by chunk."""
    if job["state"] != "done":
        raise NotFound(f"导出任务 {job['id']} 尚未完成")
    return store.file_chunks(engine, int(job["id"]))


def execute(engine: Engine, job_id: int, principal: Principal, rule: IdleRule) -> None:
    """Write the job's workbook and store it (in this thread), as ``principal`` (who started
    it) may read it; a failure is recorded on the job. The job's row says which city and day."""
    with engine.connect() as conn:
        job = store.get_job(conn, job_id)
    if job is None:
        return
    as_of, city = dt.date.fromisoformat(job["params"]["as_of"]), job["city_code"]

    def progress(stage: str, done: int, total: int) -> None:
        store.set_progress(engine, job_id, "running", stage, done, total)

    try:
        with _slot, tempfile.TemporaryFile(prefix="lm-export-") as tmp:
            progress("统计汇总", 0, 0)
            with Session(engine) as session:
                export.write_workbook(session, principal, as_of, rule, city, tmp, progress=progress)
            tmp.seek(0)
            store.store_file(engine, job_id, tmp)
    except Exception as exc:  # noqa: BLE001 - recorded on the job, which the user sees
        store.fail(engine, job_id, f"导出失败：{exc}")


def run_in_background(
    engine: Engine, job_id: int, principal: Principal, rule: IdleRule
) -> threading.Thread:
    """:func:`execute` on a thread, with a heartbeat every :data:`HEARTBEAT_SECONDS`."""
    finished = threading.Event()

    def beat() -> None:
        while not finished.wait(HEARTBEAT_SECONDS):
            store.heartbeat(engine, job_id)

    def work() -> None:
        ticker = threading.Thread(target=beat, name=f"export-job-{job_id}-beat", daemon=True)
        ticker.start()
        try:
            execute(engine, job_id, principal, rule)
        finally:
            finished.set()

    thread = threading.Thread(target=work, name=f"export-job-{job_id}", daemon=True)
    thread.start()
    return thread
