"""Comparisons printed to PDF: the workbench's 地块对比 (up to 5 sites) and the investor's
选址建议书. Self-contained HTML (``printed_table.html``: inline CSS, no script, no network) that
the brochure's path prints with headless Chromium (``brochure.html_to_pdf``); every value is
text, escaped by the template."""

from __future__ import annotations

from typing import Any

from landmatch.dates import BEIJING, beijing_today
from landmatch.maps.elements import render


def _today() -> str:
    return beijing_today().isoformat()


def compare_html(
    title: str, sites: list[dict[str, Any]], table: list[tuple[str, list[str]]]
) -> str:
    """The workbench comparison (``landmatch.match.compare.rows``) as a printable page."""
    heads = [f"#{s.get('rank', '')} {s.get('code') or ''}".strip() for s in sites]
    return render(
        "printed_table.html",
        title=f"{title} · 地块对比",
        subtitle=[f"对比 {len(sites)} 宗地块 · 打印于 {_today()}（内部资料）"],
        heads=heads,
        table=table,
        sites=[],
        landscape=len(sites) > 3,
        footer="本表由 landmatch 招商工作台生成，数据以各地自然资源主管部门核实为准。",
    )


def proposal_dates(data: dict[str, Any]) -> dict[str, str]:
    """A 选址建议书's dates as its reader counts them (Beijing time), for its page and its PDF
    alike: when it was made and the last day its link opens."""
    return {
        "created_on": data["created_at"].astimezone(BEIJING).strftime("%Y-%m-%d"),
        "expires_on": data["expires_at"].astimezone(BEIJING).strftime("%Y-%m-%d"),
    }


def proposal_html(data: dict[str, Any]) -> str:
    """A 选址建议书 (``landmatch.match.proposals.open_public``: public cards only) as a
    printable page: the comparison, then each site's public card in a few lines."""
    cards = data["cards"]
    sites = []
    for c in cards:
        p = c["parcel"]
        lines = [f"位置：{p.get('city_name') or ''} {p.get('address') or ''}".strip()]
        contact = c.get("contact") or {}
        if contact.get("name"):
            lines.append(f"联系：{contact['name']} {contact.get('phone') or ''}".strip())
        titles = [q["title"] for q in c.get("policies") or []]
        if titles:
            more = f" 等 {len(titles)} 项" if len(titles) > 5 else ""
            lines.append("可享政策：" + "、".join(titles[:5]) + more)
        lines.append(f"地块推介书：{c.get('brochure_url', '')}")
        sites.append({"name": p.get("name") or p["code"], "code": p["code"], "lines": lines})
    dates = proposal_dates(data)
    subtitle = [f"编制于 {dates['created_on']}，链接有效至 {dates['expires_on']}。"]
    if data.get("withdrawn_note"):
        subtitle.append(data["withdrawn_note"])
    return render(
        "printed_table.html",
        title=data["title"],
        subtitle=subtitle,
        heads=[c["parcel"].get("name") or c["parcel"]["code"] for c in cards],
        table=data["rows"],
        sites=sites,
        landscape=len(cards) > 3,
        footer="地块信息以各地自然资源主管部门公开发布为准。",
    )
