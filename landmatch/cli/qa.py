"""``landmatch check``: the data-quality checks (the service of ``landmatch.api.routes.qa``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from landmatch.cli.common import console, operator, print_json, reading, settings


def check_cmd(
    city: Annotated[str | None, typer.Option("--city")] = None,
    stale_days: Annotated[
        int | None, typer.Option("--stale-days", help="Utility data age limit.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Items shown per check.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
) -> None:
    """Data-quality checks: overlaps, outside city, exclusion zones, slivers, stale data, checklist."""
    from landmatch.inventory.qa import run_checks

    with reading() as session:
        res = run_checks(
            session,
            operator(),
            city=city,
            stale_days=stale_days or settings().stale_after_days,
            limit=limit if not as_json else 100_000,
        )
    if as_json:
        print_json(res)
        return
    for c in res["checks"]:
        if c["id"] == "constraints":
            continue
        console.print(f"[bold]{c['title']}[/bold]：{c['count']}")
        for item in c["items"][:limit]:
            console.print("   " + ", ".join(f"{k}={v}" for k, v in item.items()))
    states = next((c for c in res["checks"] if c["id"] == "constraints"), None)
    if states is None:
        return
    # Every (city, kind): how many parcels are inside, checked and clear, or not checked, and
    # the coverage declaration "clear" rests on (none: "not checked", never "clear").
    labels = states["states"]
    table = Table(title=states["title"])
    table.add_column("城市", no_wrap=True)
    table.add_column("管控类型", no_wrap=True)
    table.add_column("覆盖声明（现势日期，来源）", overflow="fold")
    for head in ("在内", "无冲突", "未核查"):
        table.add_column(head, justify="right", no_wrap=True)
    for row in states["by_city"]:
        cov = row["coverage"]
        table.add_row(
            row["city_name"],
            row["label"],
            f"已声明 {cov['as_of']}，{cov['source']}" if cov else "[yellow]未声明[/yellow]",
            str(row["inside"]) if not row["inside"] else f"[red]{row['inside']}[/red]",
            str(row["clear"]),
            str(row["not_checked"])
            if not row["not_checked"]
            else f"[yellow]{row['not_checked']}[/yellow]",
        )
    console.print(table)
    console.print("合计：")
    for i in states["items"]:
        console.print(
            f"   {i['label']}：在内 {i['inside']} / 无冲突 {i['clear']} / 未核查 {i['not_checked']}"
        )
    console.print(
        f"说明：{labels['not_checked']}。“在内”指与管控区内部重叠不少于 "
        f"{states['min_overlap_m2']:g} 平方米，仅边界相接不计。"
    )
