"""``landmatch idle-scan``: the idle-land scan from the command line (the services of
``landmatch.api.routes.monitoring``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from landmatch.cli.common import console, operator, parse_date, reading, settings
from landmatch.dates import beijing_today
from landmatch.numbers import mu


def idle_scan(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="统计日期 YYYY-MM-DD（默认今天）.")
    ] = None,
    city: Annotated[str | None, typer.Option("--city", help="只扫描一个城市（代码）.")] = None,
    show: Annotated[int, typer.Option("--show", min=0, help="列出多少宗闲置/临近闲置地块.")] = 10,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="同时导出全部监测表到 Excel.")] = None,
) -> None:
    """Scan supplied land for idle stages (Order 53) and print the summary."""
    from landmatch.monitoring import cases, export, scan
    from landmatch.monitoring.rules import default_rule

    day = parse_date(as_of) or beijing_today()
    defaults = default_rule(settings().idle_fee_rate)
    by = operator()
    with reading() as session:
        r = scan.idle_report(session, by, day, defaults, city=city, limit=100_000)
        alerts = cases.overdue(session, by, day, city)
        if xlsx:
            export.write_workbook(session, by, day, defaults, city, xlsx)
    t = Table(title=f"闲置土地扫描 {r['as_of']}（共 {r['scanned']} 宗已供应土地）")
    for col in ("阶段", "宗数", "面积（亩）"):
        t.add_column(col, justify="right" if col != "阶段" else "left")
    for s in r["stages"]:
        t.add_row(s["label"], f"{s['count']:,}", mu(s["area_mu"], fixed=True))
    console.print(t)
    console.print(
        f"应征闲置费合计：{r['fee_total_wan']:.2f} 万元（默认费率 {defaults.fee_rate:.0%}）；"
        f"按合同日期推定开工日期的：{r['flagged_fallback']} 宗；逾期处置步骤：{len(alerts)} 个"
    )
    worst = [
        i for i in r["items"] if i["stage"] in ("recoverable", "idle_fee", "gov_caused", "at_risk")
    ]
    worst.sort(key=lambda i: -(i["days"] or 0))
    if show and worst:
        lt = Table(title=f"闲置天数最长的 {min(show, len(worst))} 宗")
        for col in ("地块编码", "城市", "阶段", "天数", "闲置费（万元）", "标记"):
            lt.add_column(col)
        for i in worst[:show]:
            lt.add_row(
                i["code"],
                i["city_code"],
                i["stage_label"],
                str(i["days"]),
                "" if i["fee_wan"] is None else f"{i['fee_wan']:.2f}",
                "；".join(i["flags"]),
            )
        console.print(lt)
    if xlsx:
        console.print(f"已导出：{xlsx}")
