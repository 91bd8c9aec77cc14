"""``landmatch policies|zones|layers|alerts``: the library and layers kept by their owners.

CLI calls act as an admin-equivalent local operator (``--actor`` names them in the history);
the reference-layer writes take ``--user NAME`` to act as that stored user instead, with its
role and city scope (``landmatch.reflayers.scope``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
policies_app = typer.Typer(help="Policy library (政策库).", no_args_is_help=True)
zones_app = typer.Typer(help="Development zones (开发区).", no_args_is_help=True)
layers_app = typer.Typer(help="Facilities and constraint layers, alerts.", no_args_is_help=True)
coverage_app = typer.Typer(
    help="Declared coverage of the constraint layers (管控数据覆盖范围): for which cities a "
    "kind's data is complete. Without it a parcel reads 'not checked', never 'clear'.",
    no_args_is_help=True,
)
layers_app.add_typer(coverage_app, name="coverage")

ActorOpt = Annotated[str, typer.Option("--actor", help="Name recorded in the history.")]
UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="Act as this stored user (its role and city scope) instead of the local operator.",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(policies_app, name="policies")
    app.add_typer(zones_app, name="zones")
    app.add_typer(layers_app, name="layers")


def _session():  # type: ignore[no-untyped-def]
    from landmatch.db.engine import job_engine, session_factory
    from landmatch.settings import get_settings

    return session_factory(job_engine(get_settings())).begin()


def _operator(actor: str):  # type: ignore[no-untyped-def]
    from landmatch.auth import Principal

    return Principal(name=actor, role="admin")


def _caller(session, user: str | None, actor: str):  # type: ignore[no-untyped-def]
    """The stored user ``user`` (``--user``), else the local operator named ``actor``."""
    from landmatch.auth import principal_for_user

    return _operator(actor) if user is None else principal_for_user(session, user)


def _print_json(obj: Any) -> None:
    console.print_json(json.dumps(obj, ensure_ascii=False, default=str))


@policies_app.command("list")
def policies_list(
    q: Annotated[str | None, typer.Option("--q", help="Search text.")] = None,
    industry: Annotated[str | None, typer.Option(help="GB/T 4754 code.")] = None,
    scope: Annotated[str | None, typer.Option(help="province, city, county or zone.")] = None,
    include_expired: Annotated[bool, typer.Option("--include-expired")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
) -> None:
    """Search the policy library."""
    from landmatch.policies.library import search_policies

    day = dt.date.fromisoformat(as_of) if as_of else None
    with _session() as s:
        res = search_policies(
            s,
            _operator("cli"),
            q=q,
            industry=industry,
            scope_level=scope,
            include_expired=include_expired,
            as_of=day,
            limit=1000,
        )
    t = Table("编码", "标题", "范围", "类型", "比例", "上限/金额(万元)", "有效期至", "有效")
    for p in res["items"]:
        t.add_row(
            p["code"],
            p["title"],
            f"{p['scope_label']} {p['scope_code']}",
            p["benefit_label"],
            "" if p["benefit_rate"] is None else f"{p['benefit_rate']:g}",
            str(p["benefit_cap_wan"] or p["benefit_amount_wan"] or ""),
            str(p["valid_until"] or ""),
            "是" if p["active"] else "否",
        )
    console.print(t)
    console.print(f"共 {res['total']} 条")


@policies_app.command("show")
def policies_show(code: str) -> None:
    """Show one policy."""
    from landmatch.policies.library import get_policy

    with _session() as s:
        _print_json(get_policy(s, _operator("cli"), code))


@policies_app.command("add")
def policies_add(
    file: Annotated[Path, typer.Argument(help="JSON file with the policy's fields.")],
    actor: ActorOpt = "cli",
) -> None:
    """Create a policy from a JSON file."""
    from landmatch.policies.library import create_policy

    with _session() as s:
        _print_json(create_policy(s, _operator(actor), json.loads(file.read_text("utf-8"))))


@policies_app.command("update")
def policies_update(
    code: str,
    set_: Annotated[list[str], typer.Option("--set", help="field=value (JSON values allowed).")],
    actor: ActorOpt = "cli",
) -> None:
    """Change fields of a policy: ``--set valid_until=2025-12-31 --set benefit_rate=0.2``."""
    from landmatch.db.locking import ANY
    from landmatch.errors import InvalidInput
    from landmatch.policies.library import update_policy

    changes: dict[str, Any] = {}
    for item in set_:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InvalidInput(f"--set 应为 字段=值：{item}")
        try:
            changes[key] = json.loads(raw)
        except json.JSONDecodeError:
            changes[key] = raw
    with _session() as s:
        _print_json(update_policy(s, _operator(actor), code, changes, if_match=ANY))


@policies_app.command("delete")
def policies_delete(code: str, actor: ActorOpt = "cli") -> None:
    """Delete a policy (its history stays in layer_version)."""
    from landmatch.db.locking import ANY
    from landmatch.policies.library import delete_policy

    with _session() as s:
        delete_policy(s, _operator(actor), code, if_match=ANY)
    console.print(f"已删除政策 {code}")


@policies_app.command("import")
def policies_import(
    file: Annotated[Path, typer.Argument(help=".xlsx with Chinese headers.")],
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    actor: ActorOpt = "cli",
) -> None:
    """Import policies from Excel (all rows or none)."""
    from landmatch.policies.excel import import_policies, summary

    with _session() as s:
        from landmatch.inventory.uploads import EXCEL_FILES, read_file
        from landmatch.settings import get_settings

        data = read_file(file, EXCEL_FILES, get_settings().max_unpacked_mb).data
        res = import_policies(s, _operator(actor), data, dry_run=dry_run)
    console.print(summary(res))


@zones_app.command("list")
def zones_list(city: Annotated[str | None, typer.Option()] = None) -> None:
    """List zones with their currently valid assessments."""
    from landmatch.zones.records import list_zones

    with _session() as s:
        rows = list_zones(s, _operator("cli"), city=city)
    t = Table("编码", "名称", "城市", "级别", "类型", "主导产业", "面积(公顷)", "有效区域评估")
    for z in rows:
        t.add_row(
            z["code"],
            z["name"],
            z["city_code"],
            z["level_label"],
            z["kind"],
            ",".join(z["leading_industries"]),
            f"{z['area_ha']:.1f}",
            ",".join(z["assessments_valid_kinds"]),
        )
    console.print(t)


@zones_app.command("membership")
def zones_membership() -> None:
    """Recompute which zone every parcel is in (after changing LANDMATCH_ZONE_MIN_SHARE)."""
    from sqlalchemy import text

    from landmatch.db.membership import assign_zones
    from landmatch.settings import get_settings

    with _session() as s:
        before = s.execute(
            text(
                "SELECT count(*) FILTER (WHERE zone_id IS NOT NULL), count(*) "
                "FROM landmatch.parcel WHERE deleted_at IS NULL"
            )
        ).one()
        changed = assign_zones(s.connection())
        after = s.execute(
            text(
                "SELECT count(*) FILTER (WHERE zone_id IS NOT NULL) FROM landmatch.parcel "
                "WHERE deleted_at IS NULL"
            )
        ).scalar_one()
    share = round(get_settings().zone_min_share * 100)
    console.print(
        f"按面积占比 ≥ {share} % 重新认定开发区：{before[1]} 宗地块中 {after} 宗位于开发区内"
        f"（此前 {before[0]} 宗；{changed} 宗的开发区或占比有变化）"
    )


@zones_app.command("boundary")
def zones_boundary(
    code: str,
    file: Annotated[Path, typer.Argument(help="GeoJSON, GPKG or zipped Shapefile.")],
    crs: Annotated[str | None, typer.Option(help="CRS if the file has none, or GCJ02.")] = None,
    actor: ActorOpt = "cli",
) -> None:
    """Replace a zone's boundary from a file (checked like parcels; overlaps refused)."""
    from landmatch.db.locking import ANY
    from landmatch.inventory.uploads import LAYER_FILES, read_file
    from landmatch.settings import get_settings
    from landmatch.zones.records import boundary_from_file, update_zone

    up = read_file(file, LAYER_FILES, get_settings().max_unpacked_mb)
    geom, warnings = boundary_from_file(up.data, up.filename, crs)
    with _session() as s:
        out = update_zone(
            s, _operator(actor), code, {}, geom, reason="导入开发区边界", if_match=ANY
        )
    for w in warnings:
        console.print(f"[yellow]提示[/yellow]：{w}")
    console.print(f"{code} 边界已更新，面积 {out['area_ha']:.2f} 公顷；{out.get('facts')}")


@layers_app.command("import")
def layers_import(
    layer: Annotated[str, typer.Argument(help="facility or constraint_area")],
    file: Annotated[Path, typer.Argument(help="GeoJSON, GPKG or zipped Shapefile.")],
    crs: Annotated[str | None, typer.Option()] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete records not in the file.")
    ] = False,
    reason: Annotated[str | None, typer.Option()] = None,
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
    cover = Covers(tuple(covers), _date(as_of), source) if covers else None
    from landmatch.inventory.uploads import LAYER_FILES, read_file
    from landmatch.settings import get_settings

    up = read_file(file, LAYER_FILES, get_settings().max_unpacked_mb)
    with _session() as s:
        report = import_file(
            s,
            _caller(s, user, actor),
            layer,
            up.data,
            up.filename,
            crs=crs,
            replace=replace,
            reason=reason,
            covers=cover,
        )
    _print_json(report.to_dict())


@layers_app.command("delete")
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

    with _session() as s:
        report = delete_record(s, _caller(s, user, actor), layer, code, reason, if_match=ANY)
    _print_json(report.to_dict())


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"日期格式应为 YYYY-MM-DD：{value}", param_hint="--as-of"
        ) from None


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

    with _session() as s:
        rows = list_coverage(s, _operator("cli"), city=city, kind=kind)
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

    with _session() as s:
        report = change(
            s,
            _caller(s, user, actor),
            kind,
            city,
            source=source,
            as_of=_date(as_of),
            reason=reason,
        )
    _print_json(report.to_dict())


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

    with _session() as s:
        report = change(s, _caller(s, user, actor), kind, city, withdraw=True, reason=reason)
    _print_json(report.to_dict())


@layers_app.command("alerts")
def layers_alerts(
    city: Annotated[str | None, typer.Option()] = None,
    open_only: Annotated[bool, typer.Option("--open")] = False,
) -> None:
    """List alerts raised by layer changes."""
    from landmatch.reflayers.alerts import list_alerts

    with _session() as s:
        rows = list_alerts(s, _operator("cli"), city=city, open_only=open_only)
    for a in rows:
        console.print(
            f"#{a['id']} {a['created_at']:%Y-%m-%d %H:%M} {a['city_code']} {a['message']}"
        )
