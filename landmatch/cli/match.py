"""``landmatch match project.json``: rank parcels from the command line (the service of
``landmatch.api.routes.match``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from landmatch import vocab
from landmatch.cli.common import console, print_json, settings, transaction
from landmatch.errors import InvalidInput
from landmatch.numbers import mu


def _requirement(path: Path, top: int | None) -> Any:
    from landmatch.match.requirements import Requirement

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"找不到文件 {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} 不是有效的 UTF-8 JSON：{exc}") from None
    if isinstance(data, dict) and "requirement" in data:  # a saved project
        data = data["requirement"]
    if top is not None:
        data = {**data, "top": top}
    try:
        return Requirement.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or '(根)'}：{e['msg']}" for e in exc.errors()
        ]
        raise InvalidInput("项目需求无效：\n" + "\n".join(lines)) from None


def render_table(result: dict[str, Any], console: Console) -> None:
    req = result["requirement"]
    title = f"选址匹配结果：{req.get('name') or '未命名项目'}（前 {req['top']} 名）"
    table = Table(title=title, show_lines=False, header_style="bold")
    for col, kw in (
        ("排名", {"justify": "right"}),
        ("地块编号", {}),
        ("名称", {"max_width": 22}),
        ("城市", {}),
        ("开发区", {"max_width": 16}),
        ("面积(亩)", {"justify": "right"}),
        ("地价(万元/亩)", {"justify": "right"}),
        ("得分", {"justify": "right"}),
        ("预计开工(天)", {"justify": "right"}),
        ("主要得分项", {"max_width": 28}),
        ("提示", {"max_width": 30}),
    ):
        table.add_column(col, **kw)
    for f in result["features"]:
        p = f["properties"]
        top3 = sorted(p["breakdown"], key=lambda b: -b["contribution"])[:3]
        strengths = "、".join(f"{b['label']}{b['contribution']:.1f}" for b in top3)
        if p["kind"] == "assembly":
            table.add_row(
                f"组{p['rank']}",
                "+".join(p["members"]),
                "相邻地块组合",
                vocab.label(vocab.CITIES, p["city_code"]) or "",
                "",
                mu(p["area_mu"], fixed=True),
                "",
                f"{p['score']:.1f}",
                "",
                strengths,
                "；".join(p["warnings"]),
            )
            continue
        price = p.get("ref_price_wan_per_mu")
        table.add_row(
            str(p["rank"]),
            p["code"],
            p["name"],
            vocab.label(vocab.CITIES, p["city_code"]) or "",
            p.get("zone_name") or "—",
            mu(p["area_mu"], fixed=True),
            "未公开" if price is None else f"{price:.1f}",
            f"{p['score']:.1f}",
            str(p["time_to_start"]["days"]),
            strengths,
            "；".join(p["warnings"][:2]) + ("（即将可供）" if p["coming_available"] else ""),
        )
    console.print(table)
    wn = result["why_not"]
    console.print(f"共考察 {wn['considered']} 宗，{wn['passed']} 宗满足全部硬性条件。")
    if wn["failed"]:
        console.print(
            "未入选原因：" + "；".join(f"{x['label']} {x['count']} 宗" for x in wn["failed"])
        )
    if wn["near_misses"]:
        near = Table(title="差一点入选（调整需求即可纳入）", header_style="bold")
        near.add_column("地块编号")
        near.add_column("原因")
        near.add_column("最小调整")
        for n in wn["near_misses"]:
            near.add_row(n["code"], n["label"], n["change"])
        console.print(near)
    for w in result["warnings"]:
        console.print(f"[yellow]注意[/yellow]：{w}")
    console.print(f"匹配编号 {result['match_id']}（可用 GET /api/match/{{id}} 复查）")


def match_command(
    project: Annotated[Path, typer.Argument(help="Requirement (or saved project) JSON file.")],
    top: Annotated[
        int | None, typer.Option("--top", min=1, max=200, help="How many to list.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    public: Annotated[bool, typer.Option("--public", help="Match as the public would.")] = False,
) -> None:
    """Rank parcels for a project's requirement (中文结果表)."""
    from landmatch.auth import PUBLIC, Principal
    from landmatch.match.engine import run_match

    if fmt not in ("table", "json"):
        raise typer.BadParameter("应为 table 或 json", param_hint="--format")
    req = _requirement(project, top)
    principal = PUBLIC if public else Principal(name="cli", role="promoter")
    with transaction() as session:
        result = run_match(session, req, principal, stale_after_days=settings().stale_after_days)
    if fmt == "json":
        print_json(result)
    else:
        render_table(result, console)
