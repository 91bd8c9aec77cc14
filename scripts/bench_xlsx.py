"""Memory and time of the shared xlsx layout (``landmatch.spreadsheets.write_sheet``, write-only)
beside a baseline measured in the same run: the same rows and styles in an ordinary openpyxl
workbook (every cell kept in memory until saved), as the exports were written before.

    PYTHONPATH=. .venv/bin/python scripts/bench_xlsx.py [--rows 200000]

Rows look like the monitoring export's idle-land sheet (24 columns: text, dates, 亩, %)."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import multiprocessing
import random
import resource
import time
from collections.abc import Callable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font, PatternFill

from landmatch.spreadsheets import Column, Table, new_workbook, safe_cell, save, write_sheet

COLUMNS = [
    Column("地块编号"),
    Column("地块名称"),
    Column("城市"),
    Column("县区代码"),
    Column("县区"),
    Column("状态"),
    Column("用地单位"),
    Column("面积(亩)", "mu"),
    Column("出让价款(万元)", "num"),
    *(Column(f"日期{k}", "date") for k in range(5)),
    Column("已开发比例", "pct"),
    Column("已投资比例", "pct"),
    Column("政府原因", "bool"),
    Column("政府原因说明"),
    Column("闲置阶段"),
    Column("认定情形"),
    Column("闲置天数", "int"),
    Column("距满一年天数", "int"),
    Column("闲置费(万元)", "num"),
    Column("提示"),
]


def rows(n: int) -> list[list[Any]]:
    rnd = random.Random(7)
    day = dt.date(2022, 1, 1)
    return [
        [
            f"130100-2023-{i:07d}",
            f"高邑县科技大街{i % 97}号地块",
            "石家庄市",
            "130127",
            "高邑县",
            "已供应",
            "渤海精细化工有限公司",
            rnd.uniform(1000, 200000),
            rnd.uniform(100, 9000),
            *(day + dt.timedelta(days=rnd.randrange(1500)) for _ in range(5)),
            rnd.random(),
            rnd.random(),
            rnd.random() < 0.1,
            None,
            "正常",
            None,
            rnd.randrange(900),
            rnd.randrange(365),
            None,
            "",
        ]
        for i in range(n)
    ]


def shared(data: list[list[Any]]) -> bytes:
    wb = new_workbook()
    write_sheet(wb, "闲置土地", Table(COLUMNS, data))
    return save(wb)


def ordinary(data: list[list[Any]]) -> bytes:
    """The baseline: an ordinary workbook, header styled, number formats per cell."""
    wb = Workbook()
    ws = wb.active
    ws.append([safe_cell(h, Cell(ws)) for h in ["序号", *(c.header for c in COLUMNS)]])
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    formats = ["#,##0", *(c.number_format for c in COLUMNS)]
    for i, row in enumerate(data, start=1):
        values = [i, *(c.value(v) for c, v in zip(COLUMNS, row, strict=True))]
        cells = [safe_cell(v, Cell(ws)) for v in values]
        for cell, fmt in zip(cells, formats, strict=True):
            cell.number_format = fmt
        ws.append(cells)
    ws.freeze_panes = "B2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


WRITERS: dict[str, Callable[[list[list[Any]]], bytes]] = {
    "write_sheet (write-only, shared layout)": shared,
    "baseline: ordinary openpyxl workbook": ordinary,
}


def _child(name: str, n: int, out: Any) -> None:
    """In a process of its own: build the rows, then measure the writer alone."""
    data = rows(n)
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, the peak so far
    t0 = time.process_time()
    size = len(WRITERS[name](data))
    seconds = time.process_time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put((seconds, (peak - before) / 1024, size))


def measure(name: str, n: int) -> tuple[float, float, int]:
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(name, n, q))
    p.start()
    result = q.get()
    p.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    print(f"{args.rows:,} rows × {len(COLUMNS) + 1} columns; memory: the process's peak RSS")
    print("growth while writing (the rows themselves, built before, not counted)")
    print(f"{'writer':<44}{'CPU s':>9}{'peak MB':>10}{'file MB':>9}")
    for name in WRITERS:
        s, mb, size = measure(name, args.rows)
        print(f"{name:<44}{s:>9.1f}{mb:>10.1f}{size / 2**20:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
