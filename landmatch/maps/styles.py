"""Colours of the map layers and the legend built from them (one place for both)."""

from __future__ import annotations

import json

from landmatch import vocab

LAND_USE_COLOURS: dict[str, str] = {
    "100101": "#c9a0dc",
    "100102": "#9b59b6",
    "100103": "#6c3483",
    "110101": "#85c1e9",
    "110102": "#3498db",
    "110103": "#1f618d",
    "1102": "#117a65",
    "0802": "#f39c12",
    "0901": "#e74c3c",
    "0902": "#b03a2e",
    "1303": "#7d8c3a",
    "1304": "#7d8c3a",
    "1305": "#7d8c3a",
    "1306": "#7d8c3a",
    "16": "#aab7b8",
}
STATUS_COLOURS: dict[str, str] = {
    "ready": "#1e8449",
    "unsupplied": "#f5a623",
    "idle": "#d0312d",
    "supplied": "#7f8c8d",
    "withdrawn": "#34495e",
}
ZONE_COLOURS: dict[str, str] = {"national": "#1f5fbf", "provincial": "#8e44ad"}
CONSTRAINT_COLOURS: dict[str, str] = {"excludes": "#c0392b", "penalises": "#e67e22"}
# The offline basemap's water (landmatch.basemap): a quiet blue, under zones and parcels.
WATER_FILL = "#cfe3f2"
WATER_LINE = "#6fa8d6"
COAST_LINE = "#5b93c4"
# Line width in px of each kind of water line, at zoom 7 and from zoom 12 (between: linear).
WATER_WIDTHS: dict[str, tuple[float, float]] = {
    "coast": (1.0, 1.6),
    "river_major": (1.0, 2.6),
    "river": (0.6, 1.6),
    "river_intermittent": (0.5, 1.2),
    "canal": (0.5, 1.2),
}


def water_style() -> str:
    """The water layer's VectorGrid style function (JS source): areas (sea, lakes, wide rivers)
    filled without an outline, lines (coast, rivers, canals) widening with the zoom."""
    widths = json.dumps(WATER_WIDTHS)
    return (
        "function (p, z) {"
        f" var w = {widths}[p.kind];"
        f" if (!w) return {{fill: true, fillColor: {json.dumps(WATER_FILL)}, fillOpacity: 1,"
        " stroke: false, weight: 0};"
        " var t = Math.max(0, Math.min(1, (z - 7) / 5));"
        f" return {{fill: false, color: p.kind === 'coast' ? {json.dumps(COAST_LINE)}"
        f" : {json.dumps(WATER_LINE)}, weight: w[0] + (w[1] - w[0]) * t, opacity: 0.9,"
        " dashArray: p.kind === 'river_intermittent' ? '4 3' : null}; }"
    )


def legend_items(
    *, staff: bool, water: bool = False
) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Legend sections: (title, [(colour, label, shape)])."""
    sections: list[tuple[str, list[tuple[str, str, str]]]] = []
    if staff:
        sections.append(
            (
                "地块状态",
                [
                    (STATUS_COLOURS[k], v, "fill")
                    for k, v in vocab.PARCEL_STATUS.items()
                    if k != "withdrawn"
                ],
            )
        )
    else:
        seen: dict[str, str] = {}
        for code, colour in LAND_USE_COLOURS.items():
            name = vocab.LAND_USE[code]
            if code.startswith("130"):
                name = "公用设施用地"
            seen.setdefault(name, colour)
        sections.append(("熟地（按用途）", [(c, n, "fill") for n, c in seen.items()]))
    sections.append(
        ("开发区", [(ZONE_COLOURS[k], v, "line") for k, v in vocab.ZONE_LEVELS.items()])
    )
    if staff:
        sections.append(
            (
                "管控区",
                [
                    (CONSTRAINT_COLOURS[k], v + "类", "hatch")
                    for k, v in vocab.CONSTRAINT_SEVERITY.items()
                ],
            )
        )
    sections.append(
        (
            "其他",
            [
                ("#1e8449", "各市熟地（圆越大面积越大，点击查看清单）", "dot"),
                ("#1e8449", "地块密度（12 级以下按网格汇总）", "dot"),
                ("#555555", "行政区界", "line"),
                (
                    "#2c7a8c",
                    "港口、机场、铁路货场、物流枢纽等（10 级起另显示高速互通、变电站）",
                    "dot",
                ),
            ]
            + ([(WATER_LINE, "海岸线、河流、湖泊（离线底图，GSHHG）", "line")] if water else []),
        )
    )
    return sections
