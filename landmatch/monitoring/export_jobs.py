"""The monitoring workbook as a background job (what the dashboard's 导出 Excel starts).

A province's workbook has a row per supplied parcel: minutes of work and tens of MB at a
million parcels, too long for one request. :func:`start` records a job (the caller's city
scope decided here, as for every monitoring read); :meth:`Exporter.submit` has it written on
a thread of the worker that took the request, on the long-jobs engine (:func:`execute`), recording
the sheet it is on and the parcel-sheet rows written (with a heartbeat, so a job whose worker
died shows as interrupted), then stores the file in chunks for any app server to send. Each
worker process has one export thread (:class:`Exporter`), which takes its jobs in turn (the
others wait, queued), and one heartbeat thread: a burst of exports takes two threads and, at a
time, one export's database connection (plus, while its small sheets are read beside the
idle-land sheet, a third thread and a second connection: ``export.write_workbook``); the
worker's other requests keep their share.

Only the account that started a job (and the admin) sees it; jobs are deleted after a day.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db import export_jobs as store
from landmatch.errors import LandMatchError, NotFound
from landmatch.monitoring import export
from landmatch.monitoring.idle import IdleRule
from landmatch.monitoring.scope import city_scope, require_reader

KIND = "monitoring"
HEARTBEAT_SECONDS = 10
STATE_LABELS = {"queued": "排队中", "running": "正在导出", "done": "已完成", "failed": "失败"}
log = logging.getLogger("landmatch.monitoring")


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
        try:  # best effort: a progress write that fails does not fail the export
            store.set_progress(engine, job_id, "running", stage, done, total)
        except Exception:  # noqa: BLE001
            log.warning("export job %s: progress not recorded", job_id, exc_info=True)

    try:
        with tempfile.TemporaryFile(prefix="lm-export-") as tmp:
            progress("统计汇总", 0, 0)
            with Session(engine) as session:
                export.write_workbook(session, principal, as_of, rule, city, tmp, progress=progress)
            tmp.seek(0)
            store.store_file(engine, job_id, tmp)
    except LandMatchError as exc:  # a refusal the user can act on, in Chinese
        store.fail(engine, job_id, f"导出失败：{exc.message}")
    except Exception:  # noqa: BLE001 - logged; the user gets no SQL or internals
        log.exception("export job %s failed", job_id)
        store.fail(engine, job_id, "导出失败：服务器内部错误（已记录），请稍后重试")


class Exporter:
    """This process's export worker: one thread takes the queued jobs in turn, one heartbeat
    thread marks every job the process holds (queued or running) every
    :data:`HEARTBEAT_SECONDS` in one statement. Both start with the first job."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.Queue[tuple[int, Principal, IdleRule]] = queue.Queue()
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._started = False

    def submit(self, job_id: int, principal: Principal, rule: IdleRule) -> None:
        """Queue a recorded job (the caller has committed it)."""
        with self._lock:
            self._held.add(job_id)
            if not self._started:
                for target, name in ((self._work, "export-jobs"), (self._beat, "export-beat")):
                    threading.Thread(target=target, name=name, daemon=True).start()
                self._started = True
        self._queue.put((job_id, principal, rule))

    def _work(self) -> None:
        while True:
            job_id, principal, rule = self._queue.get()
            try:
                execute(self.engine, job_id, principal, rule)
            finally:
                with self._lock:
                    self._held.discard(job_id)

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._lock:
                held = sorted(self._held)
            if not held:
                continue
            try:  # best effort: the next beat tries again
                store.heartbeat(self.engine, held)
            except Exception:  # noqa: BLE001
                log.warning("export jobs %s: heartbeat not recorded", held, exc_info=True)
