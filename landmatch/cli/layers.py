"""``landmatch layers …``: facilities, constraint areas, their declared coverage and the alerts
their changes raise (the services of ``landmatch.api.routes.layers``).

Writes act as the local operator (``--actor`` names it in the history), or with ``--user NAME``
as that stored user, with its role and city scope (``landmatch.reflayers.scope``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from landmatch.cli.common import (
    ActorOpt,
    UserOpt,
    caller,
    console,
    operator,
    parse_date,
    print_json,
    settings,
    transaction,
)

app = typer.Typer(help="Facilities and constraint layers, alerts.", no_args_is_help=True)
coverage_app = typer.Typer(
    help="Declared coverage of the constraint layers (管控数据覆盖范围): for which cities a "
    "kind's data is complete. Without it a parcel reads 'not checked', never 'clear'.",
    no_args_is_help=True,
)
app.add_typer(coverage_app, name="coverage")


@app.command("import")
def layers_import(
    layer: Annotated[str, typer.Argument(help="facility or constraint_area")],
    file: Annotated[Path, typer.Argument(help="GeoJSON, GPKG or zipped Shapefile.")],
    crs: Annotated[str | None, typer.Option()] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete records not in the file.")
    ] = False,
    other_kinds: Annotated[
        bool,
        typer.Option(
            "--other-kinds",
            help="With --replace: delete the kinds the file holds none of too (without it, "
            "such a replace is refused, naming them).",
        ),
    ] = False,
    reason: Annotated[str | None, typer.Option()] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Report what the import would do; write nothing."),
    ] = False,
    covers: Annotated[
        list[str] | None,
        typer.Option(
            "--covers",
            help="constraint_area only: a city code the file's data is complete for, for every "
            "kind in the file (repeat for several cities). Needs --as-of.",
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="With --covers: the data's as-of date.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="With --covers: where the data comes from (file name)."),
    ] = None,
    actor: ActorOpt = "cli",
    user: UserOpt = None,
) -> None:
    """Import/update a reference layer and print the change report."""
    from landmatch.reflayers.changes import Covers, import_file

    if (as_of or source) and not covers:
        raise typer.BadParameter("--as-of / --source 只与 --covers 一起使用", param_hint="--covers")
    cover = Covers(tuple(covers), parse_date(as_of), source) if covers else None
    from landmatch.inventory.uploads import LAYER_FILES, read_file

    up = read_file(file, LAYER_FILES, settings().max_unpacked_mb)
    with transaction() as s:
        report = import_file(
            s,
            caller(s, user, actor),
            layer,
            up.data,
            up.filename,
            crs=crs,
            replace=replace,
            reason=reason,
            covers=cover,
            dry_run=dry_run,
            other_kinds=other_kinds,
        )
    print_json(report.to_dict())


@app.command("delete")
def layers_delete(
    layer: Annotated[str, typer.Argument(help="facility or constraint_area")],
    code: Annotated[str, typer.Argument(help="The feature's code.")],
    reason: Annotated[str | None, typer.Option()] = None,
    actor: ActorOpt = "cli",
    user: UserOpt = None,
) -> None:
    """Delete one feature (its history stays in layer_version) and print the change report."""
    from landmatch.db.locking import ANY
    from landmatch.reflayers.changes import delete_record

    with transaction() as s:
        report = delete_record(s, caller(s, user, actor), layer, code, reason, if_match=ANY)
    print_json(report.to_dict())


KindsArg = Annotated[
    list[str], typer.Option("--kind", help="Constraint kind (code or Chinese name); repeatable.")
]
CitiesArg = Annotated[list[str], typer.Option("--city", help="City code; repeatable.")]


@coverage_app.command("list")
def coverage_list(
    city: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List the coverage declarations."""
    from landmatch.reflayers.coverage import list_coverage

    with transaction() as s:
        rows = list_coverage(s, operator("cli"), city=city, kind=kind)
    t = Table("城市", "管控类型", "数据来源", "现势日期", "声明人", "声明时间")
    for r in rows:
        t.add_row(
            f"{r['city_name']} {r['city_code']}",
            r["kind_label"],
            r["source"],
            r["as_of"].isoformat(),
            r["declared_by"],
            f"{r['declared_at']:%Y-%m-%d %H:%M}",
        )
    console.print(t)
    console.print(f"共 {len(rows)} 条；未声明的城市与类型在质量检查中为“未核查”")


@coverage_app.command("declare")
def coverage_declare(
    kind: KindsArg,
    city: CitiesArg,
    source: Annotated[str, typer.Option("--source", help="Where the complete data comes from.")],
    as_of: Annotated[str, typer.Option("--as-of", help="The data's as-of date, YYYY-MM-DD.")],
    reason: Annotated[str | None, typer.Option()] = None,
    actor: ActorOpt = "cli",
    user: UserOpt = None,
) -> None:
    """Declare the stored areas of each --kind complete for each --city; the facts of the
    parcels concerned are recomputed. Prints the change report."""
    from landmatch.reflayers.coverage import change

    with transaction() as s:
        report = change(
            s,
            caller(s, user, actor),
            kind,
            city,
            source=source,
            as_of=parse_date(as_of),
            reason=reason,
        )
    print_json(report.to_dict())


@coverage_app.command("withdraw")
def coverage_withdraw(
    kind: KindsArg,
    city: CitiesArg,
    reason: Annotated[str | None, typer.Option()] = None,
    actor: ActorOpt = "cli",
    user: UserOpt = None,
) -> None:
    """Withdraw coverage declarations (their parcels read "not checked" again)."""
    from landmatch.reflayers.coverage import change

    with transaction() as s:
        report = change(s, caller(s, user, actor), kind, city, withdraw=True, reason=reason)
    print_json(report.to_dict())


@app.command("alerts")
def layers_alerts(
    city: Annotated[str | None, typer.Option()] = None,
    open_only: Annotated[bool, typer.Option("--open")] = False,
) -> None:
    """List alerts raised by layer changes."""
    from landmatch.reflayers.alerts import list_alerts

    with transaction() as s:
        rows = list_alerts(s, operator("cli"), city=city, open_only=open_only)
    for a in rows:
        console.print(
            f"#{a['id']} {a['created_at']:%Y-%m-%d %H:%M} {a['city_code']} {a['message']}"
        )
