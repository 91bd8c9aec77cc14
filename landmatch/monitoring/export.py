"""Excel export of every monitoring table (``/api/monitoring/export.xlsx``): one sheet each,
Chinese headers, areas in 亩, labels instead of codes, ratios as percentages, a 说明 sheet —
laid out by :mod:`landmatch.spreadsheets` and written by XlsxWriter in constant_memory mode
(memory stays bounded however many rows a table has, e.g. the idle scan of a province of a
million parcels; a cell costs a few microseconds, where openpyxl's cost tens)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine, QueuePool, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_now
from landmatch.geo.measure import M2_PER_MU
from landmatch.monitoring import cases, scan, targets, terms, transfer, unsupplied, zones
from landmatch.monitoring.idle import IdleRule
from landmatch.monitoring.scope import city_scope
from landmatch.spreadsheets import (
    Column,
    Kind,
    Table,
    discard,
    new_streaming_workbook,
    write_notes,
    write_sheet,
)

MAX_ROWS = 1_000_000
log = logging.getLogger("landmatch.monitoring")


@dataclass(frozen=True)
class Col:
    """A sheet column: the row key, the header, the kind; ``words`` turns a code into its
    label; ``m2`` converts square metres to 亩 (the header says 亩)."""

    key: str
    header: str
    kind: Kind = "text"
    words: dict[str, str] | None = None
    m2: bool = False
    digits: int = 2

    def value(self, row: dict[str, Any]) -> Any:
        return self.convert(row.get(self.key))

    def values(self, batch: dict[str, Sequence[Any]]) -> Sequence[Any]:
        """:meth:`convert` of each value of the column in ``batch`` (columns by key), the
        common cases without a call per value."""
        vs = batch[self.key]
        if self.words is not None:
            words = self.words
            return [words.get(v, v) if type(v) is str else self.convert(v) for v in vs]
        if self.m2:
            return [v / M2_PER_MU if type(v) is float else self.convert(v) for v in vs]
        return [self.convert(v) for v in vs] if {list, tuple} & set(map(type, vs)) else vs

    def convert(self, v: Any) -> Any:
        """The sheet's value of ``v``."""
        if v is None:
            return None
        if self.words is not None:
            if isinstance(v, list | tuple):
                return "；".join(self.words.get(x, str(x)) for x in v)
            return self.words.get(v, v)
        if isinstance(v, list | tuple):
            return "；".join(str(x) for x in v)
        if self.m2:
            return float(v) / M2_PER_MU
        return v


def mu(key: str, header: str) -> Col:
    return Col(key, f"{header}(亩)", "mu", m2=True)


def pct(key: str, header: str) -> Col:
    return Col(key, header, "pct")


def _sheets(counties: dict[str, str]) -> dict[str, list[Col]]:
    """Each sheet's columns, in order (ids, codes shown twice and internal keys left out)."""
    city = Col("city_code", "城市", words=vocab.CITIES)
    county = [Col("county_code", "县区代码"), Col("county_code", "县区", words=counties)]
    status = Col("status", "状态", words=vocab.PARCEL_STATUS)
    # Which supplied parcel a row is about: the first columns of the idle and transfer sheets.
    parcel = [
        Col("code", "地块编号"),
        Col("name", "地块名称"),
        city,
        *county,
        status,
        Col("holder", "用地单位"),
        mu("area_m2", "面积"),
    ]
    return {
        "闲置土地": [
            *parcel,
            Col("land_price_wan", "出让价款(万元)", "num"),
            Col("contract_date", "合同签订日期", "date"),
            Col("agreed_start_date", "约定开工日期", "date"),
            Col("actual_start_date", "实际开工日期", "date"),
            Col("stopped_since", "停工日期", "date"),
            Col("start_due", "应动工日期", "date"),
            pct("developed_ratio", "已开发比例"),
            pct("invest_ratio", "已投资比例"),
            Col("gov_caused", "政府原因", "bool"),
            Col("gov_cause", "政府原因说明"),
            Col("stage", "闲置阶段", words=terms.IDLE_STAGES),
            Col("clause", "认定情形", words=terms.IDLE_CLAUSES),
            Col("days", "闲置天数", "int"),
            Col("days_to_idle", "距满一年天数", "int"),
            Col("fee_wan", "闲置费(万元)", "num"),
            Col("flags", "提示", words=terms.IDLE_FLAGS),
        ],
        "闲置阶段汇总": [
            Col("label", "闲置阶段"),
            Col("count", "地块数", "int"),
            mu("area_m2", "面积"),
        ],
        "闲置按城市": [
            Col("city_code", "城市代码"),
            Col("city_name", "城市"),
            *(Col(k, f"{v}(宗)", "int") for k, v in terms.IDLE_STAGES.items()),
            mu("idle_area_m2", "闲置面积"),
        ],
        "批而未供账龄": [
            city,
            *county,
            status,
            Col("band", "账龄", words=terms.AGE_BANDS),
            Col("parcels", "地块数", "int"),
            mu("area_m2", "面积"),
        ],
        "批而未供按城市": [
            Col("city_code", "城市代码"),
            Col("city_name", "城市"),
            *(mu(f"{k}_m2", f"账龄{v}") for k, v in terms.AGE_BANDS.items()),
            mu("unsupplied_m2", vocab.PARCEL_STATUS["unsupplied"]),
            mu("ready_m2", vocab.PARCEL_STATUS["ready"]),
        ],
        "供地率": [
            Col("city_name", "城市"),
            Col("level", "级别", words=vocab.ADMIN_LEVELS),
            *county,
            mu("five_year_approved_m2", "近五年批准"),
            mu("five_year_supplied_m2", "近五年供应"),
            pct("five_year_rate", "近五年供地率"),
            mu("last_year_approved_m2", "上年批准"),
            mu("last_year_supplied_m2", "上年供应"),
            pct("last_year_rate", "上年供地率"),
        ],
        "批次空间核算": [
            Col("code", "批次编号"),
            Col("name", "批次名称"),
            Col("doc_no", "批准文号"),
            Col("approval_date", "批准日期", "date"),
            city,
            *county,
            mu("approved_m2", "批准面积"),
            mu("supplied_m2", "已供应"),
            mu("unsupplied_m2", "未供应"),
            Col("parcels", "地块数", "int"),
            Col("band", "账龄", words=terms.AGE_BANDS),
            pct("supply_rate", "供地率"),
        ],
        "转让路径": [
            *parcel,
            Col("total_investment_wan", "总投资(万元)", "num"),
            Col("invested_wan", "已投资(万元)", "num"),
            pct("ratio", "投资比例"),
            Col("route", "转让路径", words=terms.TRANSFER_ROUTES),
        ],
        "处置案件": [
            Col("id", "案件编号", "int"),
            Col("parcel_code", "地块编号"),
            Col("parcel_name", "地块名称"),
            city,
            Col("kind", "案件类型", words=terms.CASE_KINDS),
            Col("status", "办理状态", words=terms.CASE_STATUS),
            mu("area_m2", "面积"),
            Col("stage_at_open", "立案时阶段", words=terms.IDLE_STAGES),
            Col("opened_on", "立案日期", "date"),
            Col("decision", "处置决定", words=terms.DECISIONS),
            Col("decided_on", "决定日期", "date"),
            Col("closed_on", "办结日期", "date"),
            Col("fee_wan", "闲置费(万元)", "num"),
            Col("new_start_date", "新动工日期", "date"),
            Col("next_step", "下一步骤", words=terms.STEP_KINDS),
            Col("next_due", "下一步期限", "date"),
            Col("note", "备注"),
            Col("opened_by", "立案人"),
        ],
        "处置步骤": [
            Col("case_id", "案件编号", "int"),
            Col("parcel_code", "地块编号"),
            city,
            Col("seq", "步骤序号", "int"),
            Col("kind", "步骤", words=terms.STEP_KINDS),
            Col("due_on", "期限", "date"),
            Col("done_on", "完成日期", "date"),
            Col("doc_no", "文号"),
            Col("note", "备注"),
            Col("actor", "经办人"),
        ],
        "逾期提醒": [
            Col("case_id", "案件编号", "int"),
            Col("kind", "案件类型", words=terms.CASE_KINDS),
            city,
            Col("parcel_code", "地块编号"),
            Col("parcel_name", "地块名称"),
            Col("step", "步骤", words=terms.STEP_KINDS),
            Col("due_on", "期限", "date"),
            Col("days_overdue", "逾期天数", "int"),
            Col("message", "提醒"),
        ],
        "年度处置目标": [
            city,
            Col("year", "年度"),  # text layout: 2026, not 2,026
            Col("kind", "类型", words=terms.CASE_KINDS),
            mu("target_area_m2", "目标面积"),
            mu("done_area_m2", "已完成面积"),
            Col("cases", "办结案件数", "int"),
            pct("progress", "完成进度"),
            pct("time_elapsed", "时间进度"),
            Col("deadline", "截止日期", "date"),
            Col("days_left", "剩余天数", "int"),
            Col("state", "状态", words=terms.TARGET_STATES),
            Col("source", "目标来源"),
        ],
        "开发区指标排名": [
            Col("rank", "排名", "int"),
            Col("code", "开发区代码"),
            Col("name", "开发区名称"),
            city,
            Col("level", "级别", words=vocab.ZONE_LEVELS),
            Col("kind", "类型"),
            Col("parcels", "地块数", "int"),
            mu("zone_area_m2", "开发区面积"),
            mu("approved_m2", "批准"),
            mu("supplied_m2", "已供应"),
            mu("ready_m2", "熟地"),
            mu("idle_m2", "闲置"),
            pct("supply_rate", "供地率"),
            pct("built_up_rate", "建成率"),
            Col("industrial_far", "工业用地容积率", "num"),
            Col("invest_intensity_wan_per_mu", "投资强度(已投资额÷供地面积,万元/亩)", "num"),
            Col("tax_wan_per_ha", "地均税收(万元/公顷)", "num"),
            Col("score", "综合得分", "num", digits=4),
        ],
    }


def _columns(cols: Sequence[Col]) -> list[Column]:
    return [Column(c.header, c.kind, c.digits) for c in cols]


def _table(cols: Sequence[Col], rows: Sequence[dict[str, Any]]) -> Table:
    return Table(_columns(cols), _RowView(cols, rows))


class _RowView(Sequence[list[Any]]):
    """The rows as the sheet's values, converted as they are read (no second copy)."""

    def __init__(self, cols: Sequence[Col], rows: Sequence[dict[str, Any]]) -> None:
        self.cols, self.rows = cols, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        row = self.rows[i]
        return [c.value(row) for c in self.cols]


def _rows(
    cols: Sequence[Col], batches: Iterable[dict[str, Sequence[Any]]]
) -> Iterator[tuple[Any, ...]]:
    """A sheet's rows, converted column by column as their batches (columns by key) stream
    past."""
    for b in batches:
        yield from zip(*(c.values(b) for c in cols), strict=True)


#: Called with the stage (a sheet's title), the rows of the parcel sheets (闲置土地, 转让路径)
#: written so far and their total.
Progress = Callable[[str, int, int], None]
# A parcel sheet reports its progress every this many rows.
PROGRESS_ROWS = 10_000


def tune(session: Session) -> None:
    """Settings of the export's transaction for its scans of every supplied parcel: no JIT (at
    a million parcels PostgreSQL spends over a second compiling the scan, which a stream read
    in batches does not win back) and the memory to sort its rows without spilling to disk
    (the idle scan's sort takes 100 MB at a million parcels; with 4 MB it merged 77 MB on
    disk and took 6.9 s instead of 3.9 s). ``work_mem`` is per sort or hash node and process:
    the streamed scans (server-side cursors) run without parallel workers, so one export
    claims about that much once per scan, on each of its (at most two) connections; each
    worker process runs one export job at a time."""
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL work_mem = '128MB'"))


def temp_prefix(kind: str) -> str:
    """The name prefix of an export's temporary file or directory: ``kind`` and this process's
    id, so that :func:`sweep_abandoned` can tell those a dead process left behind."""
    return f"lm-{kind}-{os.getpid()}-"


_TEMP_NAME = re.compile(r"lm-[a-z]+-(\d+)-.*")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_abandoned(directory: str | None = None) -> int:
    """Remove the temporary files and directories of exports whose process no longer runs (a
    worker killed in the middle of one: its row files, a named workbook); how many. Each
    server process calls it once at start."""
    removed = 0
    for path in Path(directory or tempfile.gettempdir()).glob("lm-*-*-*"):
        m = _TEMP_NAME.fullmatch(path.name)
        if m is None or _alive(int(m.group(1))):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def filename(city: str | None, as_of: dt.date) -> str:
    """The workbook's file name: the city's code (the province's for all) and the day."""
    return f"monitoring-{city or vocab.PROVINCE_CODE}-{as_of.isoformat()}.xlsx"


def _counted(
    rows: Iterable[Sequence[Any]], title: str, before: int, total: int, progress: Progress
) -> Iterator[Sequence[Any]]:
    """``rows`` passed through, reporting every :data:`PROGRESS_ROWS` (``before`` rows were
    written by the sheets before this one)."""
    done = before
    for done, row in enumerate(rows, start=before + 1):
        if done % PROGRESS_ROWS == 0:
            progress(title, done, total)
        yield row
    progress(title, done, total)


def workbook(
    session: Session,
    principal: Principal,
    as_of: dt.date,
    defaults: IdleRule,
    city: str | None = None,
) -> bytes:
    """The workbook's bytes (see :func:`write_workbook`)."""
    buf = io.BytesIO()
    write_workbook(session, principal, as_of, defaults, city, buf)
    return buf.getvalue()


def write_workbook(
    session: Session,
    principal: Principal,
    as_of: dt.date,
    defaults: IdleRule,
    city: str | None,
    target: str | Path | BinaryIO,
    progress: Progress | None = None,
) -> str | None:
    """Write the workbook to ``target`` (a path or a binary file). The idle-land and transfer
    sheets — a row per supplied parcel, the ones that grow with the province — stream from
    server-side cursors into XlsxWriter's constant_memory sheets, so memory stays bounded;
    the idle summary sheets come from the set-wise count (``scan.stage_groups``). The other
    sheets' rows are read meanwhile on a second connection of the session's engine (seconds
    of database work at a million parcels, done while Python writes the idle-land sheet) when
    its pool has one to spare at once; else, if that connection fails, and for a session
    bound to a connection, the session reads them itself. Each statement sees the committed
    data as it is then, as before (read committed): the session should hold no uncommitted
    writes the workbook must show. In the caller's scope, as every monitoring read
    (:func:`~landmatch.monitoring.scope.city_scope`); returns the city written (None: every
    city). ``progress`` hears of each sheet and of the parcel sheets' rows as they are written."""
    city = city_scope(principal, city)
    tune(session)
    with _small_sheets(session, principal, as_of, city) as others:
        idle = scan.idle_report(session, principal, as_of, defaults, city=city, limit=0)
        from_idle = {"闲置阶段汇总": idle["stages"], "闲置按城市": idle["by_city"]}
        # The sheets with a row per supplied parcel, streamed from server-side cursors in batches
        # of columns.
        streams: dict[str, Callable[[], Generator[dict[str, Sequence[Any]], None, None]]] = {
            "闲置土地": lambda: scan.column_batches(session, as_of, defaults, city),
            "转让路径": lambda: transfer.column_batches(session, principal, city),
        }
        counties = {
            str(r[0]): str(r[1])
            for r in session.execute(
                text("SELECT code, name FROM landmatch.admin_division WHERE level = 'county'")
            ).all()
        }
        sheets = _sheets(counties)
        # The sheets' rows wait in files of this directory until the workbook is closed.
        with tempfile.TemporaryDirectory(prefix=temp_prefix("xlsx")) as tmpdir:
            wb = new_streaming_workbook(target, tmpdir)
            try:
                write_notes(
                    wb,
                    [
                        (
                            "数据来源",
                            "landmatch 地块库与闲置土地、批而未供监管数据（导出时的现状）",
                        ),
                        (
                            "统计范围",
                            f"{vocab.CITIES.get(city, city)}（{city}）" if city else "全省",
                        ),
                        ("统计日期", as_of.isoformat()),
                        (
                            "导出时间",
                            beijing_now().strftime("%Y-%m-%d %H:%M（北京时间）"),
                        ),
                        (
                            "面积单位",
                            "亩（1 亩 = 10000/15 平方米），保留 2 位小数；面积为 CGCS2000 椭球面积",
                        ),
                        ("金额单位", "万元"),
                        ("比例", "百分数（供地率、投资比例、完成进度等）"),
                        ("工作表", "、".join(sheets)),
                    ],
                )
                # Each parcel sheet holds a row per supplied or idle parcel: both count as progress.
                per_sheet = min(idle["scanned"], MAX_ROWS)
                total = per_sheet * len(streams)
                done = 0
                for title, cols in sheets.items():
                    if progress is not None:
                        progress(title, done, total)
                    if title in streams:
                        # closed here, also when writing fails: its connection is the session's
                        with closing(streams[title]()) as batches:
                            rows: Iterable[Sequence[Any]] = islice(_rows(cols, batches), MAX_ROWS)
                            if progress is not None:
                                rows = _counted(rows, title, done, total, progress)
                            write_sheet(wb, title, Table(_columns(cols), rows, count=per_sheet))
                        done += per_sheet
                        continue
                    listed = from_idle[title] if title in from_idle else others()[title]
                    write_sheet(wb, title, _table(cols, listed[:MAX_ROWS]))
                if progress is not None:
                    progress("保存文件", done, total)
            except BaseException:
                discard(wb)  # its row files go with the directory now, not at the next collection
                raise
            wb.close()
        return city


@contextmanager
def _small_sheets(
    session: Session, principal: Principal, as_of: dt.date, city: str | None
) -> Iterator[Callable[[], dict[str, list[dict[str, Any]]]]]:
    """The rows of the sheets that neither stream nor come from the idle report, as a call:
    read meanwhile on a second connection of the session's engine when its pool has one to
    spare at once (:func:`_spare_connection`); by the session itself otherwise, and when that
    connection fails. Leaving does not wait for the other connection's reads."""
    bind = session.get_bind()
    pool = ThreadPoolExecutor(1, thread_name_prefix="lm-export-tables")
    try:
        later = (
            pool.submit(_other_tables, bind, principal, as_of, city)
            if isinstance(bind, Engine) and _spare_connection(bind)
            else None
        )

        @cache
        def others() -> dict[str, list[dict[str, Any]]]:
            if later is not None:
                try:
                    return later.result()
                except Exception:  # noqa: BLE001 - read here instead (a failure again is raised)
                    log.warning(
                        "the small sheets' connection failed; reading them here", exc_info=True
                    )
            return _tables(session, principal, as_of, city)

        yield others
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _spare_connection(engine: Engine) -> bool:
    """Whether ``engine``'s pool hands out one more connection at once (one waits idle in it,
    or it holds fewer than its size): the small sheets take a second connection only then,
    never waiting for one that requests or other jobs hold. Deliberately cautious: a pool's
    overflow is left to the requests, and other pool kinds read inline."""
    pool = engine.pool
    return isinstance(pool, QueuePool) and (pool.checkedin() > 0 or pool.checkedout() < pool.size())


def _other_tables(
    engine: Engine, principal: Principal, as_of: dt.date, city: str | None
) -> dict[str, list[dict[str, Any]]]:
    with Session(engine) as session:
        tune(session)
        return _tables(session, principal, as_of, city)


def _tables(
    session: Session, principal: Principal, as_of: dt.date, city: str | None
) -> dict[str, list[dict[str, Any]]]:
    """The rows of the sheets that neither stream nor come from the idle report."""
    ages = unsupplied.age_bands(session, principal, as_of, city)
    return {
        "批而未供账龄": ages["rows"],
        "批而未供按城市": ages["by_city"],
        "供地率": unsupplied.supply_rates(session, principal, as_of, city)["rows"],
        "批次空间核算": unsupplied.batches(session, principal, as_of, city)["rows"],
        "处置案件": cases.list_cases(session, principal, city=city, limit=MAX_ROWS),
        "处置步骤": cases.list_steps(session, principal, city=city),
        "逾期提醒": cases.overdue(session, principal, as_of, city),
        "年度处置目标": targets.progress(session, principal, as_of, city=city)["targets"],
        "开发区指标排名": zones.zone_kpis(session, principal, as_of, city)["zones"],
    }
