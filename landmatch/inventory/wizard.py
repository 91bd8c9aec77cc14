"""The workbench's import wizard: an import kept as a job in the database.

Upload (the guarded path's :class:`~landmatch.inventory.uploads.UploadSet`) → what the file
says (format, CRS, encoding, rows, headers the import does not know) → options and a column
mapping → a dry run → the report as lines and the file's parcels as shapes → the import →
rollback. Every step calls the import's own services (:func:`landmatch.inventory.imports.
run_import`, :func:`~landmatch.inventory.imports.rollback_import`, the column mapping of
:mod:`landmatch.inventory.columns`): the wizard holds no rule of its own. A dry run or import of
a large file runs in a thread of the server with its own connection; its progress and a
heartbeat are written to the job, so closing the page does not stop it, and a job whose worker
stopped reads as interrupted (nothing was written: an import is one transaction).
"""

from __future__ import annotations

import codecs
import io
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any

import shapely
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import Connection, Engine

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db import derived
from landmatch.db import import_jobs as db
from landmatch.errors import (
    Conflict,
    CRSError,
    Forbidden,
    InvalidInput,
    LandMatchError,
    NotFound,
    UnprocessableInput,
)
from landmatch.geo.crs import GCJ02, STORAGE_EPSG, parse_crs
from landmatch.inventory import codes, columns, imports
from landmatch.inventory import fields as F
from landmatch.inventory.formats import LABELS
from landmatch.inventory.readers import ReadOptions, read_source, text_encoding
from landmatch.inventory.report import summary
from landmatch.inventory.uploads import UploadSet
from landmatch.settings import Settings
from landmatch.spreadsheets import safe_cell

log = logging.getLogger("landmatch.imports")

STATES = {
    "uploaded": "待试运行",
    "checking": "试运行中",
    "checked": "已试运行",
    "committing": "导入中",
    "committed": "已导入",
    "rejected": "被拒绝",
    "failed": "失败",
    "rolled_back": "已撤销",
}
ACTIONS = {
    "created": "新建",
    "updated": "更新",
    "unchanged": "未变",
    "rejected": "拒绝",
    "checked": "已校验",
}
STAGES = {"read": "读取文件", "validate": "校验", "write": "写入"}
ENCODINGS = (("", "自动识别"), ("utf-8-sig", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030"))
OPTION_FIELDS = (
    "city",
    "crs",
    "encoding",
    "code_prefix",
    "land_use",
    "status",
    "visibility",
    "repair",
    "reason",
)
# Progress is written to the job this often (seconds), with the heartbeat.
HEARTBEAT_SECONDS = 1.0
# Parcels a job's map draws at most.
MAP_LIMIT = 20_000
INTERRUPTED = "处理中断（服务重启或进程退出），未写入任何数据；可以重新执行"


@dataclass(frozen=True)
class Limits:
    max_rows: int = 200_000
    settle_inline_max: int = 5_000
    max_unpacked_mb: int = 2048
    inline_max_bytes: int = 256 * 1024

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.max_import_rows,
            settings.import_settle_inline_max,
            settings.max_unpacked_mb,
            settings.import_inline_max_kb * 1024,
        )


# ---- who may -------------------------------------------------------------------------------


def _cities(principal: Principal) -> list[str] | None:
    """The cities whose imports ``principal`` sees (None: every city)."""
    if principal.role == "admin" or principal.city_code in (None, vocab.PROVINCE_CODE):
        return None
    return [principal.city_code]


def own_city(principal: Principal) -> str | None:
    """The city an import of ``principal`` is for unless chosen (a city's bureau: its own)."""
    cities = _cities(principal)
    return cities[0] if cities else None


def _refusal(principal: Principal, job: dict[str, Any]) -> str | None:
    """Why an admin or a bureau may not open ``job`` (None: it may): a job of another city;
    one of no city yet (just uploaded) of another account."""
    city = job["city_code"]
    if city is not None and not principal.can_edit_city(city):
        return f"无权查看{vocab.CITIES.get(city, city)}的导入任务（超出本账号的城市范围）"
    if city is None and principal.role != "admin" and job["actor"] != principal.actor:
        return "无权查看其他账号的导入任务"
    return None


def jobs_of_imports(
    conn: Connection, principal: Principal, import_ids: Collection[int]
) -> dict[int, int]:
    """For a parcel's history: the wizard job of each import batch in ``import_ids`` that
    ``principal`` may open (a job's number is not its batch's: the link says which job)."""
    if principal.role not in ("admin", "bureau"):
        return {}
    jobs = db.jobs_of_imports(conn, sorted(import_ids))
    return {j["import_id"]: j["id"] for j in jobs if _refusal(principal, j) is None}


def job_for(
    conn: Connection, job_id: int, principal: Principal, *, lock: bool = False
) -> dict[str, Any]:
    """A job ``principal`` may see and run (admins, the bureau of its city), else 403/404."""
    imports.require_editor(principal)
    job = db.get_job(conn, job_id, lock=lock)
    if job is None:
        raise NotFound(f"未找到导入任务 #{job_id}")
    refusal = _refusal(principal, job)
    if refusal:
        raise Forbidden(refusal)
    if job["interrupted"]:
        job["state"], job["error"] = "failed", INTERRUPTED
    job["state_label"] = STATES.get(job["state"], job["state"])
    return job


def list_jobs(
    conn: Connection, principal: Principal, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    imports.require_editor(principal)
    jobs, total = db.list_jobs(conn, _cities(principal), principal.actor, limit, offset)
    for job in jobs:
        if job["interrupted"]:
            job["state"], job["error"] = "failed", INTERRUPTED
        job["state_label"] = STATES.get(job["state"], job["state"])
    return jobs, total


# ---- upload --------------------------------------------------------------------------------


def _crs_text(crs: Any) -> str:
    return "GCJ02" if crs == GCJ02 else f"EPSG:{crs}"


def suggested_prefix(frame: Any, filename: str, city: str | None) -> str:
    """A code prefix when the file's codes are not parcel codes (a survey TXT numbers its
    parcels 1, 2 …): city-year-file name, as :mod:`landmatch.inventory.codes` allows; else ""."""
    import re

    found = columns.map_columns(frame).frame
    if "code" not in found:
        return ""
    values = [codes.code_text(v) for v in found["code"]]
    if all(v is None or codes.is_code(v) for v in values):
        return ""
    stem = re.sub(r"[^\w]+", "", filename.rsplit(".", 1)[0])[:12]
    prefix = "-".join(p for p in (city or "", str(beijing_today().year), stem) if p)
    return prefix[:40] if codes.PREFIX_RE.fullmatch(prefix[:40]) else ""


def _read_for_crs(data: bytes, filename: str, opts: ReadOptions) -> tuple[Any, str, str | None]:
    """A file read as :func:`detect` reads it: (the source, its CRS as text, why the CRS must
    be chosen). A file whose CRS cannot be told from it is read once more with a stand-in
    CRS, for everything else it says; the user chooses its CRS on the job page."""
    try:
        src = read_source(data, filename, opts)
    except CRSError as exc:
        try:
            src = read_source(data, filename, replace(opts, crs=f"EPSG:{STORAGE_EPSG}"))
        except LandMatchError:
            raise exc from None
        return src, "", exc.message
    return src, _crs_text(src.crs), None


def detect(upload: UploadSet, limits: Limits, city: str | None = None) -> dict[str, Any]:
    """What the files say, read by the import's own readers: format, CRS, encoding, rows,
    headers, the headers it does not know (each with the closest known one). A file the
    readers refuse raises their error (in Chinese) and no job is made — except for a CRS the
    file does not tell: then ``crs`` is empty and ``crs_problem`` says why, and the job page
    asks for it."""
    opts = ReadOptions(max_rows=limits.max_rows, max_unpacked_bytes=limits.max_unpacked_mb << 20)
    src, crs, crs_problem = _read_for_crs(upload.file.data, upload.file.filename, opts)
    if upload.boundaries is not None:
        b = upload.boundaries
        _bsrc, crs, crs_problem = _read_for_crs(b.data, b.filename, opts)
    encoding = ""
    if src.format in ("txt", "csv"):
        encoding = text_encoding(upload.file.data)
    return {
        "format": src.format,
        "format_label": LABELS.get(src.format, src.format),
        "boundary_format": None,
        "crs": crs,
        "crs_problem": crs_problem,
        "encoding": encoding,
        "rows": len(src.frame),
        "headers": [str(h) for h in src.frame.columns],
        "unknown": columns.unknown_headers(src.frame),
        "notes": src.warnings[:20],
        "code_prefix": suggested_prefix(src.frame, upload.file.filename, city),
    }


def create_job(conn: Connection, principal: Principal, upload: UploadSet, limits: Limits) -> int:
    imports.require_editor(principal)
    detected = detect(upload, limits, own_city(principal))
    b = upload.boundaries
    return db.insert_job(
        conn,
        city=own_city(principal),
        actor=principal.actor,
        file=(upload.file.filename, upload.file.data),
        boundaries=None if b is None else (b.filename, b.data),
        detected=detected,
    )


def replace_files(
    conn: Connection, job_id: int, principal: Principal, upload: UploadSet, limits: Limits
) -> None:
    """A corrected file for the same job: options and column mapping stay, the report goes."""
    job = job_for(conn, job_id, principal, lock=True)
    _require_idle(job)
    detected = detect(upload, limits, job["city_code"])
    b = upload.boundaries
    db.replace_files(
        conn,
        job_id,
        (upload.file.filename, upload.file.data),
        None if b is None else (b.filename, b.data),
        detected,
    )


def _require_idle(job: dict[str, Any]) -> None:
    if job["state"] in db.RUNNING:
        raise Conflict(f"导入任务 #{job['id']} 正在执行，请等待完成")
    if job["state"] in ("committed", "rolled_back"):
        raise Conflict(f"导入任务 #{job['id']} 已{STATES[job['state']]}，不能再修改")


# ---- options and the column mapping --------------------------------------------------------


def _field_error(name: str, message: str) -> InvalidInput:
    return InvalidInput(message, detail=[{"field": name, "reason": message}])


def check_options(principal: Principal, given: dict[str, str]) -> dict[str, str]:
    """The wizard's options, each checked by the import's own rules; the error names its
    field. Blank options are left out (the import's defaults apply)."""
    out = {k: v.strip() for k, v in given.items() if k in OPTION_FIELDS and v and v.strip()}
    if out.pop("repair", None):  # a ticked box, whatever its value
        out["repair"] = "1"
    city = out.get("city")
    if city is not None:
        if city not in vocab.CITIES:
            raise _field_error("city", vocab.unknown_city(city))
        if not principal.can_edit_city(city):
            raise _field_error(
                "city", f"无权导入{vocab.CITIES[city]}的地块（超出本账号的城市范围）"
            )
    if "crs" in out:
        try:
            parse_crs(out["crs"])
        except CRSError as exc:
            raise _field_error("crs", exc.message) from None
    if "encoding" in out:
        try:
            codecs.lookup(out["encoding"])
        except LookupError:
            raise _field_error("encoding", f"未知的字符编码“{out['encoding'][:20]}”") from None
    try:
        codes.check_prefix(out.get("code_prefix"))
    except LandMatchError as exc:
        raise _field_error("code_prefix", exc.message) from None
    for name in ("land_use", "status", "visibility"):
        one = imports.ImportOptions()
        setattr(one, name, out.get(name))
        try:
            imports.import_defaults(one)
        except LandMatchError as exc:
            raise _field_error(name, exc.message) from None
    if len(out.get("reason", "")) > 500:
        raise _field_error("reason", "导入原因过长（最多 500 个字符）")
    return out


def save_options(
    conn: Connection,
    job_id: int,
    principal: Principal,
    given: dict[str, str],
    mapping: dict[str, str | None],
) -> dict[str, Any]:
    """Keep the options and the column mapping of a job; its report goes (run it again)."""
    job = job_for(conn, job_id, principal, lock=True)
    _require_idle(job)
    options = check_options(principal, given)
    if job["detected"].get("crs_problem") and "crs" not in options:
        raise _field_error("crs", job["detected"]["crs_problem"])
    if job["city_code"] is not None and principal.role != "admin" and "city" not in options:
        options["city"] = job["city_code"]
    headers = job["detected"].get("headers", [])
    known = set(headers)
    mapped = columns.check_mapping({h: t for h, t in mapping.items() if h in known})
    columns.check_collisions(headers, mapped)
    db.set_options(conn, job_id, options.get("city"), options, mapped)
    db.set_state(conn, job_id, "uploaded", report=None, error=None)
    db.clear_report(conn, job_id)
    return options


def mappings(conn: Connection, principal: Principal, city: str | None) -> list[dict[str, Any]]:
    """The named column mappings of ``city`` (a bureau: its own)."""
    imports.require_editor(principal)
    if city is None:
        return []
    if not principal.can_edit_city(city):
        raise Forbidden("无权查看其他城市的列映射")
    return db.mappings(conn, city)


def save_mapping(
    conn: Connection, principal: Principal, city: str | None, name: str, mapping: dict[str, Any]
) -> int:
    """Keep a column mapping under a name for ``city`` (the same name replaces it)."""
    imports.require_editor(principal, city)
    name = name.strip()
    if city is None:
        raise _field_error("city", "请先选择城市，列映射按城市保存")
    if not 1 <= len(name) <= 60:
        raise _field_error("mapping_name", "映射名称应为 1–60 个字符")
    checked = columns.check_mapping(mapping)
    if not checked:
        raise _field_error("mapping_name", "没有可保存的列映射")
    return db.save_mapping(conn, city, name, checked, principal.actor)


# ---- running ---------------------------------------------------------------------------------


def start(conn: Connection, job_id: int, principal: Principal, *, commit: bool) -> None:
    """Mark a job as running (the one guard against two runs at once). An import needs a dry
    run without rejected rows since the last change of file, options or mapping."""
    job = job_for(conn, job_id, principal, lock=True)
    if commit:
        totals = (job["report"] or {}).get("totals", {})
        if job["state"] != "checked":
            raise Conflict("请先试运行，确认报告后再导入")
        if totals.get("rejected") or (job["report"] or {}).get("rejected"):
            raise Conflict("试运行报告中仍有被拒绝的行，请先修正文件或选项")
        states: tuple[str, ...] = ("checked",)
    else:
        _require_idle(job)
        states = ("uploaded", "checked", "rejected", "failed")
    if not db.claim(conn, job_id, states, "committing" if commit else "checking"):
        raise Conflict(f"导入任务 #{job_id} 的状态已改变，请刷新页面")


def runs_in_background(conn: Connection, job_id: int, limits: Limits) -> bool:
    (data, _), b = db.job_files(conn, job_id)
    return len(data) + (len(b[0]) if b else 0) > limits.inline_max_bytes


def report_lines(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as table lines: row, code, action, field, reason — one per problem, one
    per changed field, one per warning, one for a row with nothing to say."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in report.get("rows", []):
        seen.add(str(r["row"]))
        base = {"row": r["row"], "code": r.get("code"), "action": r["action"]}
        said = False
        for p in r.get("problems", []):
            out.append({**base, "field": F.label_of(p["field"]), "reason": p["reason"]})
            said = True
        for c in r.get("changes", []):
            out.append({**base, "field": c["label"], "reason": f"{c['old']} → {c['new']}"})
            said = True
        for w in r.get("warnings", []):
            out.append({**base, "field": F.label_of(w["field"]), "reason": "提示：" + w["message"]})
            said = True
        if not said:
            out.append({**base, "field": None, "reason": None})
    header = [p for p in report.get("rejected", []) if str(p["row"]) not in seen]
    out[:0] = [
        {
            "row": p["row"],
            "code": p.get("code"),
            "action": "rejected",
            "field": F.label_of(p["field"]),
            "reason": p["reason"],
        }
        for p in header
    ]
    return out


def _options(job: dict[str, Any], commit: bool, limits: Limits) -> imports.ImportOptions:
    o = job["options"] or {}
    return imports.ImportOptions(
        dry_run=not commit,
        city=o.get("city") or job["city_code"],
        crs=o.get("crs"),
        encoding=o.get("encoding"),
        code_prefix=o.get("code_prefix"),
        reason=o.get("reason") or f"导入 {job['filename']}（工作台导入任务 #{job['id']}）",
        land_use=o.get("land_use"),
        status=o.get("status"),
        visibility=o.get("visibility"),
        repair=o.get("repair") == "1",
        columns=job["columns"] or None,
        max_rows=limits.max_rows,
        settle_inline_max=limits.settle_inline_max,
    )


def _keep(conn: Connection, job_id: int, report: dict[str, Any], shapes: dict[Any, Any]) -> None:
    db.clear_report(conn, job_id)
    db.insert_lines(conn, job_id, report_lines(report))
    drawn_rows, drawn_codes, drawn_actions, wkbs = [], [], [], []
    stored_rows, stored_codes, stored_actions = [], [], []
    for r in report.get("rows", []):
        geom = shapes.get(r["row"])
        if geom is not None and not shapely.is_empty(geom):
            drawn_rows.append(str(r["row"]))
            drawn_codes.append(r.get("code"))
            drawn_actions.append(r["action"])
            wkbs.append(shapely.to_wkb(shapely.force_2d(geom)))
        elif r.get("code"):
            stored_rows.append(str(r["row"]))
            stored_codes.append(r["code"])
            stored_actions.append(r["action"])
    db.insert_shapes(conn, job_id, drawn_rows, drawn_codes, drawn_actions, wkbs)
    db.insert_stored_shapes(conn, job_id, stored_rows, stored_codes, stored_actions)


def execute(
    conn: Connection,
    job_id: int,
    principal: Principal,
    *,
    commit: bool,
    limits: Limits,
    progress: imports.Progress | None = None,
) -> dict[str, Any] | None:
    """Run a job that :func:`start` marked: the dry run or the import itself, through
    :func:`landmatch.inventory.imports.run_import`; the report is kept as lines and shapes.
    A file the import refuses leaves the job ``failed`` with the reason, a rejected row
    ``rejected`` (a dry run: ``checked`` with its rejected rows). The caller commits."""
    job = db.get_job(conn, job_id)
    assert job is not None
    (data, name), boundaries = db.job_files(conn, job_id)
    opts = _options(job, commit, limits)
    shapes: dict[Any, Any] = {}
    try:
        report = imports.run_import(
            conn,
            data,
            name,
            principal,
            opts,
            progress,
            boundaries=None if boundaries is None else (boundaries[0], boundaries[1]),
            shapes=shapes,
        )
        state = "committed" if commit else "checked"
    except UnprocessableInput as exc:
        if not (isinstance(exc.detail, dict) and "rows" in exc.detail):
            db.set_state(conn, job_id, "failed", error=exc.message, report=None)
            return None
        report, state = exc.detail, "rejected"
    except LandMatchError as exc:
        db.set_state(conn, job_id, "failed", error=exc.message, report=None)
        return None
    _keep(conn, job_id, report, shapes)
    db.set_state(
        conn, job_id, state, report=summary(report), import_id=report.get("import_id"), error=None
    )
    return report


def run_in_background(
    engine: Engine,
    job_id: int,
    principal: Principal,
    *,
    commit: bool,
    limits: Limits,
    then: Callable[[], None] | None = None,
) -> threading.Thread:
    """Run a job in a thread of this server with its own connections: the work on one, the
    progress and heartbeat (every :data:`HEARTBEAT_SECONDS`) on another."""
    now: dict[str, Any] = {"stage": "read", "done": 0, "total": 0}
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                with engine.begin() as c:
                    db.set_progress(c, job_id, now["stage"], now["done"], now["total"])
            except Exception:  # noqa: BLE001 - progress is best effort; the work goes on
                log.warning("import job %s: progress not written", job_id, exc_info=True)

    def progress(stage: str, done: int, total: int) -> None:
        now.update(stage=stage, done=done, total=total)

    def work() -> None:
        ticker = threading.Thread(target=beat, name=f"import-job-{job_id}-beat", daemon=True)
        ticker.start()
        report = None
        try:
            with engine.connect() as conn:
                try:
                    report = execute(
                        conn, job_id, principal, commit=commit, limits=limits, progress=progress
                    )
                    conn.commit()
                except Exception:
                    conn.rollback()
                    log.exception("import job %s failed", job_id)
                    with engine.begin() as c:
                        db.set_state(
                            c,
                            job_id,
                            "failed",
                            error="服务器内部错误，未写入任何数据；请重试或联系管理员",
                        )
        finally:
            stop.set()
        if report is not None and report.get("derived") == "pending":
            derived.drain(engine)
        if then is not None:
            then()

    thread = threading.Thread(target=work, name=f"import-job-{job_id}", daemon=True)
    thread.start()
    return thread


def progress_of(job: dict[str, Any]) -> dict[str, Any]:
    """What the page's progress bar shows."""
    total, done = int(job["total"] or 0), int(job["done"] or 0)
    stage = job.get("stage")
    percent = 0
    if total:
        # Reading counts 5 %, checking up to 50 %, writing the rest.
        share = {"read": (0, 5), "validate": (5, 45), "write": (50, 50)}.get(stage or "", (0, 5))
        percent = int(share[0] + share[1] * min(done, total) / total)
    return {
        "state": job["state"],
        "state_label": job["state_label"],
        "stage": STAGES.get(stage or "", "准备中"),
        "done": done,
        "total": total,
        "percent": percent,
        "running": job["state"] in db.RUNNING,
        "error": job.get("error"),
    }


# ---- the report ----------------------------------------------------------------------------


def report_page(
    conn: Connection,
    job: dict[str, Any],
    *,
    action: str | None,
    field: str | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    return db.lines(
        conn,
        job["id"],
        action=action or None,
        field=field or None,
        q=q or None,
        limit=limit,
        offset=offset,
    )


def report_fields(conn: Connection, job: dict[str, Any]) -> list[str]:
    return db.line_fields(conn, job["id"])


def report_xlsx(conn: Connection, job: dict[str, Any]) -> bytes:
    """The report as an xlsx (every line; every cell through ``safe_cell``)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("导入报告")

    def put(values: list[Any]) -> None:
        ws.append([safe_cell(v, WriteOnlyCell(ws)) for v in values])

    totals = (job["report"] or {}).get("totals", {})
    put([f"导入任务 #{job['id']}：{job['filename']}（{STATES.get(job['state'], job['state'])}）"])
    put(
        [
            "合计："
            + "，".join(f"{ACTIONS.get(k, k)} {v:,}" for k, v in totals.items() if k != "rows")
            + f"，共 {totals.get('rows', 0):,} 行"
        ]
    )
    put(["行号", "地块编号", "处理结果", "字段", "原因/说明"])
    found, _ = db.lines(conn, job["id"])
    for line in found:
        put(
            [
                line["row_no"],
                line["code"],
                ACTIONS.get(line["action"], line["action"]),
                line["field"],
                line["reason"],
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def features(conn: Connection, job: dict[str, Any]) -> dict[str, Any]:
    """The file's parcels as GeoJSON, each with its row, code and action (for the map)."""
    return {"type": "FeatureCollection", "features": db.shapes_geojson(conn, job["id"], MAP_LIMIT)}


def extent(conn: Connection, job: dict[str, Any]) -> list[list[float]] | None:
    return db.shapes_extent(conn, job["id"])


# ---- rollback ------------------------------------------------------------------------------


def rollback(
    conn: Connection, job_id: int, principal: Principal, reason: str | None
) -> dict[str, Any]:
    """Undo a committed import with the import's own rollback."""
    job = job_for(conn, job_id, principal, lock=True)
    if job["state"] != "committed" or job["import_id"] is None:
        raise Conflict(f"导入任务 #{job_id} 的状态为{job['state_label']}，不能撤销")
    if reason is not None and len(reason) > 500:
        raise _field_error("reason", "撤销原因过长（最多 500 个字符）")
    out = imports.rollback_import(conn, job["import_id"], principal, reason or None)
    db.set_state(conn, job_id, "rolled_back")
    return out
