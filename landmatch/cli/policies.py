"""``landmatch policies …``: the policy library (the service of ``landmatch.api.routes.policies``).

The local operator writes as ``--actor`` (default ``cli``), an admin."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from landmatch.cli.common import ActorOpt, console, operator, print_json, settings, transaction

app = typer.Typer(help="Policy library (政策库).", no_args_is_help=True)


@app.command("list")
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
    with transaction() as s:
        res = search_policies(
            s,
            operator("cli"),
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


@app.command("show")
def policies_show(code: str) -> None:
    """Show one policy."""
    from landmatch.policies.library import get_policy

    with transaction() as s:
        print_json(get_policy(s, operator("cli"), code))


@app.command("add")
def policies_add(
    file: Annotated[Path, typer.Argument(help="JSON file with the policy's fields.")],
    actor: ActorOpt = "cli",
) -> None:
    """Create a policy from a JSON file."""
    from landmatch.policies.library import create_policy

    with transaction() as s:
        print_json(create_policy(s, operator(actor), json.loads(file.read_text("utf-8"))))


@app.command("update")
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
    with transaction() as s:
        print_json(update_policy(s, operator(actor), code, changes, if_match=ANY))


@app.command("delete")
def policies_delete(code: str, actor: ActorOpt = "cli") -> None:
    """Delete a policy (its history stays in layer_version)."""
    from landmatch.db.locking import ANY
    from landmatch.policies.library import delete_policy

    with transaction() as s:
        delete_policy(s, operator(actor), code, if_match=ANY)
    console.print(f"已删除政策 {code}")


@app.command("import")
def policies_import(
    file: Annotated[Path, typer.Argument(help=".xlsx with Chinese headers.")],
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    actor: ActorOpt = "cli",
) -> None:
    """Import policies from Excel (all rows or none)."""
    from landmatch.inventory.uploads import EXCEL_FILES, read_file
    from landmatch.policies.excel import import_policies, summary

    data = read_file(file, EXCEL_FILES, settings().max_unpacked_mb).data
    with transaction() as s:
        res = import_policies(s, operator(actor), data, dry_run=dry_run)
    console.print(summary(res))
