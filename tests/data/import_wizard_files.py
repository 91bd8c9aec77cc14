"""A bureau's Excel 清单 for the import wizard's tests and journey, made as
``tests/data/office_files.py`` makes office files: a title, a 填报单位 line, a two-level
header — with two headers the import does not know (宗地坐落位置, 地块四至), boundaries as WKT,
and one row whose 用地性质 (U15) the import refuses until it is corrected."""

from __future__ import annotations

from typing import Any

from tests.data import office_files as office

GROUPS = [
    (None, ["序号"]),
    (None, ["地块编号"]),
    (None, ["地块名称"]),
    (None, ["宗地坐落位置"]),
    (None, ["用地性质"]),
    ("规划条件", ["容积率", "建筑密度（%）"]),
    (None, ["供电能力（kVA）"]),
    (None, ["地块四至"]),
    (None, ["状态"]),
    (None, ["几何(WKT)"]),
]
# Header mapping the wizard's user chooses: 宗地坐落位置 → 坐落, 地块四至 ignored.
MAPPING = {"宗地坐落位置": "坐落", "地块四至": None}
BAD_ROW = 2  # index of the row whose land use is refused (file row 7)
FIRST_ROW = 5  # file row of the first parcel (title, 填报单位, two header rows above)


def codes(tag: str, n: int = 4) -> list[str]:
    return [f"石经开{tag}-{i + 1}号" for i in range(n)]


def bureau_rows(
    tag: str, *, fixed: bool, n: int = 4, lon: float = 114.52, lat: float = 38.12
) -> list[list[Any]]:
    rows = []
    for i, code in enumerate(codes(tag, n)):
        use = "M1" if fixed or i != BAD_ROW else "U15"
        x = lon + 0.004 * i
        rows.append(
            [
                i + 1,
                code,
                f"经开区{i + 1}号地",
                f"石家庄经济技术开发区{'东西南北'[i % 4]}区",
                use,
                "1.0-2.0",
                "≤40",
                "8000kVA",
                "东至规划路，西至河",
                "熟地",
                office.square_wkt(x, lat),
            ]
        )
    return rows


def bureau_xlsx(tag: str, *, fixed: bool, n: int = 4) -> bytes:
    return office.bureau_xlsx(
        bureau_rows(tag, fixed=fixed, n=n),
        groups=GROUPS,
        title="石家庄市2026年第一批熟地清单",
        footer=False,
    )
