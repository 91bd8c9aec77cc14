"""The export jobs' tables (migration 0036_export_jobs): a job's state and progress, and its
finished file in chunks. Plain SQL with bound parameters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, text

# A file is stored, and sent, this many bytes at a time.
CHUNK_BYTES = 8 * 1024 * 1024
# A running job whose worker has not written its heartbeat for this long has stopped.
STALE = "interval '90 seconds'"
# Jobs (and their files) are deleted this long after they were started.
KEPT = "interval '1 day'"
_COLUMNS = (
    "id, kind, actor, city_code, params, state, stage, done, total, error, filename, size, "
    "created_at, updated_at, "
    f"(state IN ('queued', 'running') AND coalesce(heartbeat_at, updated_at) < now() - {STALE})"
    " AS interrupted"
)


def insert_job(
    conn: Connection,
    *,
    kind: str,
    actor: str,
    city: str | None,
    params: dict[str, Any],
    filename: str,
) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO landmatch.export_job (kind, actor, city_code, params, filename) "
                "VALUES (:k, :a, :c, CAST(:p AS jsonb), :f) RETURNING id"
            ),
            {"k": kind, "a": actor, "c": city, "p": json.dumps(params), "f": filename},
        ).scalar_one()
    )


def get_job(conn: Connection, job_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            text(f"SELECT {_COLUMNS} FROM landmatch.export_job WHERE id = :id"), {"id": job_id}
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def set_progress(
    engine: Engine, job_id: int, state: str, stage: str, done: int, total: int
) -> None:
    """Progress and heartbeat, committed at once (the job's own writes come later)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE landmatch.export_job SET state = :s, stage = :st, done = :d, total = :t, "
                "updated_at = now(), heartbeat_at = now() WHERE id = :id"
            ),
            {"id": job_id, "s": state, "st": stage, "d": done, "t": total},
        )


def heartbeat(engine: Engine, job_ids: list[int]) -> None:
    """Mark the jobs a worker holds (queued or running) as alive."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE landmatch.export_job SET heartbeat_at = now() WHERE id = ANY(:ids)"),
            {"ids": job_ids},
        )


def fail(engine: Engine, job_id: int, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE landmatch.export_job SET state = 'failed', error = :e, "
                "updated_at = now() WHERE id = :id"
            ),
            {"id": job_id, "e": error[:2000]},
        )


def store_file(engine: Engine, job_id: int, source: BinaryIO) -> int:
    """Store the finished file in chunks and mark the job done, in one transaction; its size."""
    size = 0
    with engine.begin() as conn:
        for seq, chunk in enumerate(iter(lambda: source.read(CHUNK_BYTES), b"")):
            conn.execute(
                text(
                    "INSERT INTO landmatch.export_job_chunk (job_id, seq, data) "
                    "VALUES (:id, :seq, :d)"
                ),
                {"id": job_id, "seq": seq, "d": chunk},
            )
            size += len(chunk)
        conn.execute(
            text(
                "UPDATE landmatch.export_job SET state = 'done', size = :n, done = total, "
                "stage = NULL, updated_at = now() WHERE id = :id"
            ),
            {"id": job_id, "n": size},
        )
    return size


def file_chunks(engine: Engine, job_id: int) -> Iterator[bytes]:
    """The stored file, a chunk per statement (never the whole file in memory)."""
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM landmatch.export_job_chunk WHERE job_id = :id"),
            {"id": job_id},
        ).scalar_one()
    for seq in range(int(count)):
        # Read, then hand back the connection before the chunk goes out: a slow or vanished
        # client holds no connection of the long-jobs pool.
        with engine.connect() as conn:
            chunk = bytes(
                conn.execute(
                    text(
                        "SELECT data FROM landmatch.export_job_chunk "
                        "WHERE job_id = :id AND seq = :seq"
                    ),
                    {"id": job_id, "seq": seq},
                ).scalar_one()
            )
        yield chunk


def prune(conn: Connection) -> int:
    """Delete the jobs (and files) older than :data:`KEPT`; how many."""
    return conn.execute(
        text(f"DELETE FROM landmatch.export_job WHERE created_at < now() - {KEPT}")
    ).rowcount
