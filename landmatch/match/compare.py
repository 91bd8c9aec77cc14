"""Up to five sites of a match run side by side: price, area, distances, utilities with their
as-of dates, days to start, policy total, constraints and warnings — as table rows for the page
and its print view, and as an xlsx workbook. Figures come from the stored run."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font

from landmatch import vocab
from landmatch.errors import InvalidInput
from landmatch.numbers import ha, mu, num
from landmatch.spreadsheets import safe_cell

MAX_SITES = 5
UTILITIES = (
    ("power_kva", "power_as_of", "供电", "kVA"),
    ("water_m3d", "water_as_of", "供水", "m³/日"),
    ("gas_m3d", "gas_as_of", "供气", "m³/日"),
    ("heat_mw", "heat_as_of", "供热", "MW"),
)


def pick(run: dict[str, Any], codes: list[str]) -> list[dict[str, Any]]:
    """The run's parcel sites with these codes, in rank order (1 to 5 of them)."""
    codes = list(dict.fromkeys(c for c in codes if c))
    if not codes:
        raise InvalidInput("请至少选择一宗地块进行对比")
    if len(codes) > MAX_SITES:
        raise InvalidInput(f"最多对比 {MAX_SITES} 宗地块（选了 {len(codes)} 宗）")
    by_code = {
        f["properties"]["code"]: f["properties"]
        for f in run.get("features") or []
        if f["properties"].get("kind") == "parcel"
    }
    missing = [c for c in codes if c not in by_code]
    if missing:
        raise InvalidInput(f"本次匹配结果中没有地块 {'、'.join(missing)}")
    return sorted((by_code[c] for c in codes), key=lambda p: p["rank"])


def rows(run: dict[str, Any], sites: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(label, one value per site) rows, every value in words with its unit."""
    out: list[tuple[str, list[str]]] = [
        ("名次", [f"第 {p['rank']} 名" for p in sites]),
        ("地块", [f"{p.get('name') or ''} {p['code']}".strip() for p in sites]),
        ("总分", [f"{num(p.get('score'))} 分" for p in sites]),
        (
            "城市 / 开发区",
            [
                f"{p.get('city_name') or ''} {p.get('zone_name') or ''}".strip() or "—"
                for p in sites
            ],
        ),
        ("状态", [p.get("status_label") or "—" for p in sites]),
        ("用途", [vocab.label(vocab.PARCEL_LAND_USE, p.get("land_use")) or "—" for p in sites]),
        ("面积", [f"{mu(p.get('area_mu'))} 亩（{ha(p.get('area_ha'))} 公顷）" for p in sites]),
        (
            "参考地价",
            [
                f"{num(p['ref_price_wan_per_mu'])} 万元/亩"
                if p.get("ref_price_wan_per_mu") is not None
                else "未公开"
                for p in sites
            ],
        ),
        (
            "土地总价（估）",
            [
                f"{num(p['ref_price_wan_per_mu'] * p['area_mu'], 0)} 万元"
                if p.get("ref_price_wan_per_mu") is not None
                else "—"
                for p in sites
            ],
        ),
    ]
    kinds = [
        k
        for k in vocab.FACILITY_KINDS
        if any((p.get("distances_km") or {}).get(k) is not None for p in sites)
    ]
    for k in kinds:
        out.append(
            (
                f"距{vocab.FACILITY_KINDS[k]}",
                [
                    f"{num((p.get('distances_km') or {}).get(k))} 公里"
                    if (p.get("distances_km") or {}).get(k) is not None
                    else "无数据"
                    for p in sites
                ],
            )
        )
    for col, as_of, label, unit in UTILITIES:
        out.append(
            (
                label,
                [
                    (f"{num(p[col], 0)} {unit}" + (f"（{p[as_of]} 核实）" if p.get(as_of) else ""))
                    if p.get(col) is not None
                    else "未知"
                    for p in sites
                ],
            )
        )
    out += [
        ("预计开工", [f"约 {p['time_to_start']['days']} 天" for p in sites]),
        ("政策估算合计", [f"{num(p.get('policy_value_wan'), 2)} 万元" for p in sites]),
        (
            "管控区",
            [
                "、".join(h.get("name") or "" for h in p.get("constraint_hits") or []) or "无"
                for p in sites
            ],
        ),
        ("提示", ["；".join(p.get("warnings") or []) or "—" for p in sites]),
    ]
    return out


def workbook(title: str, table: list[tuple[str, list[str]]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "地块对比"
    safe_cell(title, ws.cell(1, 1)).font = Font(bold=True, size=14)
    for i, (label, values) in enumerate(table, start=3):
        safe_cell(label, ws.cell(i, 1)).font = Font(bold=True)
        for j, v in enumerate(values, start=2):
            safe_cell(v, ws.cell(i, j)).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 16
    for j in range(2, 2 + MAX_SITES):
        ws.column_dimensions[Cell(ws, row=1, column=j).column_letter].width = 30
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
