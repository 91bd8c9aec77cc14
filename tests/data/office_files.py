"""Files made the way Hebei land offices make them, built in the tests (nothing to keep in sync).

- 界址点 TXT from a survey delivery: GBK, CRLF, 地块用途 left empty, Chinese parcel codes.
- The bureau's Excel 清单: a title row merged across the sheet, a 填报单位 line, a two-level
  header with merged group cells (面积 → 亩/公顷, 规划条件 → 容积率 …), values with units
  (8000kVA, 50年, 1.2万, 面议, 七通一平), a 合计 row and a 注 line at the bottom.
- GeoJSON saved by Windows tools: with a UTF-8 byte-order mark, or in UTF-16.

Run ``python tests/data/office_files.py DIR`` to write examples into DIR for a look in Excel or
a text editor.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyproj import Transformer

TXT_HEAD = (
    "[属性描述]\r\n格式版本号=1.01版本\r\n数据产生单位=石家庄市勘测院\r\n"
    "数据产生日期=2025-3-18\r\n坐标系=2000国家大地坐标系\r\n几度分带=3\r\n"
    "投影类型=高斯克吕格\r\n计量单位=米\r\n带号={zone}\r\n精度=0.001\r\n转换参数=,,,,,,\r\n"
    "[地块坐标]\r\n"
)


def gk_square(lon: float, lat: float, side_m: float = 100.0, zone: int = 38) -> list:  # type: ignore[type-arg]
    """(north, east) corners of a square (side in metres) at lon/lat, in a prefixed 3° zone."""
    tr = Transformer.from_crs(4490, 4488 + zone, always_xy=True)
    e, n = tr.transform(lon, lat)
    return [(n, e), (n, e + side_m), (n + side_m, e + side_m), (n + side_m, e)]


def survey_txt(
    parcels: Sequence[dict[str, Any]], *, zone: int = 38, encoding: str = "gbk"
) -> bytes:
    """A 界址点 TXT as a survey tool writes it. Each parcel: ``code``, ``name``, ``corners``
    ((north, east) pairs), optional ``use``, ``land_class`` and ``area_ha`` (as written)."""
    lines = [TXT_HEAD.format(zone=zone)]
    for p in parcels:
        corners = p["corners"]
        area = p.get("area_ha")
        if area is None:
            area = _shoelace([(e, n) for n, e in corners]) / 10000
        head = [
            str(len(corners) + 1),
            f"{area:.4f}",
            p["code"],
            p["name"],
            "面",
            "",
            p.get("use", ""),
            p.get("land_class", ""),
            "@",
        ]
        lines.append(",".join(head) + "\r\n")
        for k, (n, e) in enumerate([*corners, corners[0]]):
            number = k % len(corners) + 1
            lines.append(f"J{number},1,{n:.3f},{e:.3f}\r\n")
    return "".join(lines).encode(encoding)


def _shoelace(xy: Sequence[tuple[float, float]]) -> float:
    pts = [*xy, xy[0]]
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False))) / 2


def square_wkt(lon: float, lat: float, d: float = 0.002) -> str:
    return (
        f"POLYGON(({lon} {lat}, {lon + d} {lat}, {lon + d} {lat + d}, {lon} {lat + d}, "
        f"{lon} {lat}))"
    )


def geojson(features: Sequence[dict[str, Any]], encoding: str = "utf-8-sig") -> bytes:
    """A FeatureCollection as a Windows tool saves it (``utf-8-sig``: with a BOM)."""
    text = json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False)
    return text.encode(encoding)


# The bureau's list: a title, a line of who filled it in, a two-level header.
BUREAU_TITLE = "石家庄市2025年第一批熟地清单"
BUREAU_GROUPS = [  # (group header or None, sub headers): one column per sub header
    (None, ["序号"]),
    (None, ["地块编号"]),
    (None, ["地块名称"]),
    (None, ["县（市、区）"]),
    ("面积", ["亩", "公顷"]),
    (None, ["用地性质"]),
    ("规划条件", ["容积率", "建筑密度（%）", "绿地率（%）"]),
    (None, ["七通一平情况"]),
    (None, ["供电能力（kVA）"]),
    (None, ["供水能力（m³/d）"]),
    (None, ["出让年限"]),
    (None, ["参考价格（万元/亩）"]),
    (None, ["中心点经度", "中心点纬度"]),
    (None, ["状态"]),
]


def bureau_xlsx(
    rows: Sequence[Sequence[Any]],
    *,
    groups: Sequence[tuple[str | None, list[str]]] = BUREAU_GROUPS,
    title: str = BUREAU_TITLE,
    footer: bool = True,
) -> bytes:
    """The 清单 as a bureau keeps it: title rows, merged two-level header, rows, 合计 and 注."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    width = sum(len(subs) for _, subs in groups)
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(
        ["填报单位：石家庄市自然资源和规划局（盖章）", None, None, None, "填报日期：2025年3月"]
    )
    top: list[Any] = []
    sub: list[Any] = []
    merges: list[tuple[int, int, int, int]] = []
    col = 1
    for group, subs in groups:
        if group is None and len(subs) == 1:
            top.append(subs[0])
            sub.append(None)
            merges.append((3, col, 4, col))  # one header over two rows
        elif group is None:
            for s in subs:
                top.append(s)
                sub.append(None)
                merges.append((3, col, 4, col))
                col += 1
            continue
        else:
            top += [group] + [None] * (len(subs) - 1)
            sub += subs
            if len(subs) > 1:
                merges.append((3, col, 3, col + len(subs) - 1))
        col += len(subs)
    ws.append(top)
    ws.append(sub)
    for r0, c0, r1, c1 in merges:
        if (r0, c0) != (r1, c1):
            ws.merge_cells(start_row=r0, start_column=c0, end_row=r1, end_column=c1)
    for r in rows:
        ws.append(list(r))
    if footer:
        ws.append([None, "合计", None, None, 999.99, 66.6666])
        ws.append(["注：面积以勘测定界成果为准。"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / "勘测定界_无用途.txt").write_bytes(
        survey_txt(
            [
                {
                    "code": "石经开2025-31号",
                    "name": "经开区31号地",
                    "corners": gk_square(114.71, 38.01),
                },
                {
                    "code": "石经开2025-32号",
                    "name": "经开区32号地",
                    "corners": gk_square(114.72, 38.01),
                },
            ]
        )
    )
    (out / "熟地清单.xlsx").write_bytes(
        bureau_xlsx(
            [
                [
                    1,
                    "石经开2025-31号",
                    "经开区31号地",
                    "藁城区",
                    15.0,
                    1.0,
                    "M2",
                    "1.0-2.0",
                    "≤40",
                    "≤15",
                    "七通一平",
                    "8000kVA",
                    "1.2万",
                    "50年",
                    "面议",
                    114.7105,
                    38.0105,
                    "熟地",
                ],
            ]
        )
    )
    print(f"wrote examples to {out}")
