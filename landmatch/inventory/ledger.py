"""The 熟地清单 as an xlsx workbook: one row per parcel (Chinese headers, codes with their names
beside, labels, 亩 and 公顷), a summary by city, each city's summary by county and by land
use, and a 说明 sheet — laid out by :mod:`landmatch.spreadsheets` like every product workbook.

It imports back unchanged: codes stay codes (城市代码, 县区代码), labels are read as their
codes, the name columns, 序号, the staff's 预留 column and the computed areas are ignored on import.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from landmatch import vocab
from landmatch.dates import beijing_now
from landmatch.geo.measure import M2_PER_HA, M2_PER_MU
from landmatch.inventory.fields import BY_NAME, Field
from landmatch.numbers import ha, mu
from landmatch.spreadsheets import Column, Table, new_workbook, save, write_notes, write_sheet

SHEET = "熟地清单"
#: Decimal places shown for numbers (the stored scale); others show two.
DIGITS = {"energy_per_value_max": 4, "developed_ratio": 4, "invest_ratio": 4, "height_max_m": 1}
#: A code column and the name written beside it.
NAMED = {"city_code": "城市名称", "county_code": "县区名称"}
#: Longest WKT written into a cell (Excel holds 32,767 characters).
MAX_WKT = 32000


#: The 预留 column of a staff export (an import ignores it: ``fields.IGNORED_HEADERS``).
HOLD_HEADER = "预留"


def _column(f: Field) -> Column:
    if f.kind == "int":
        return Column(f.label, "int")
    if f.kind == "num":
        return Column(f.label, "num", DIGITS.get(f.name, 2))
    if f.kind == "date":
        return Column(f.label, "date")
    if f.kind == "bool":
        return Column(f.label, "bool")
    return Column(f.label)


def _value(f: Field, v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if f.name in NAMED:
        return v  # the code itself; its name goes beside it
    if f.kind == "code" and f.vocab:
        words = vocab.PARCEL_LAND_USE if f.name == "land_use" else f.vocab
        return words.get(v, v)
    if f.kind == "list" and isinstance(v, list):
        return "、".join(str(f.vocab.get(x, x)) for x in v) if f.vocab else "、".join(v)
    return v


def _list_table(
    frame: pd.DataFrame,
    geoms: np.ndarray,
    county_names: dict[str, str],
    holds: dict[str, str] | None,
) -> tuple[Table, int]:
    names = [c for c in frame.columns if c != "area_m2"]
    columns: list[Column] = []
    for n in names:
        columns.append(_column(BY_NAME[n]))
        if n in NAMED:
            columns.append(Column(NAMED[n]))
    if holds is not None:
        columns.append(Column(HOLD_HEADER))
    columns += [
        Column("计算面积(亩)", "mu"),
        Column("计算面积(公顷)", "ha"),
        Column("几何(WKT)"),
    ]
    wkts = shapely.to_wkt(geoms, rounding_precision=-1) if len(geoms) else []
    rows: list[list[Any]] = []
    for rec, wkt in zip(frame.to_dict("records"), wkts, strict=True):
        row: list[Any] = []
        for n in names:
            v = rec[n]
            row.append(_value(BY_NAME[n], v))
            if n == "city_code":
                row.append(vocab.CITIES.get(v) if v else None)
            elif n == "county_code":
                row.append(county_names.get(v) if v else None)
        if holds is not None:
            row.append(holds.get(rec["code"]) or None)
        area = rec["area_m2"]
        row += [area / M2_PER_MU, area / M2_PER_HA, wkt if len(wkt) < MAX_WKT else None]
        rows.append(row)
    return Table(columns, rows), 1  # 地块编号 stays in view with the header


STATUSES = list(vocab.PARCEL_STATUS)
TALLY = [
    Column("地块数", "int"),
    Column("面积(亩)", "mu"),
    Column("面积(公顷)", "ha"),
    *(Column(f"{vocab.PARCEL_STATUS[s]}(宗)", "int") for s in STATUSES),
    *(Column(f"{vocab.PARCEL_STATUS[s]}(亩)", "mu") for s in STATUSES),
]


def _tally(part: pd.DataFrame) -> list[Any]:
    counts = part["status"].value_counts() if "status" in part else pd.Series(dtype=int)
    areas = part.groupby("status")["area_m2"].sum() if "status" in part else pd.Series()
    total = float(part["area_m2"].sum())
    return [
        len(part),
        total / M2_PER_MU,
        total / M2_PER_HA,
        *(int(counts.get(s, 0)) for s in STATUSES),
        *(float(areas.get(s, 0)) / M2_PER_MU for s in STATUSES),
    ]


def _city_sheets(
    frame: pd.DataFrame, county_names: dict[str, str]
) -> list[tuple[str, list[Table]]]:
    sheets: list[tuple[str, list[Table]]] = []
    cities = [
        [city, vocab.CITIES.get(city, city), *_tally(part)]
        for city, part in frame.groupby("city_code")
    ]
    totals = [["合计", "", *_tally(frame)]] if len(frame) else []
    head = [Column("城市代码"), Column("城市")]
    sheets.append(("按城市汇总", [Table([*head, *TALLY], cities, totals)]))
    for city, part in frame.groupby("city_code"):
        by_county = []
        if "county_code" in part:
            counties = part.assign(county=part["county_code"].fillna(""))
            for county, sub in counties.groupby("county"):
                by_county.append(
                    [county or "—", county_names.get(county, "未填区县"), *_tally(sub)]
                )
        by_use = [
            [use, vocab.PARCEL_LAND_USE.get(use, use), *_tally(sub)[:3]]
            for use, sub in part.groupby("land_use")
        ]
        sheets.append(
            (
                f"{vocab.CITIES.get(city, city)}汇总",
                [
                    Table(
                        [Column("区县代码"), Column("区县"), *TALLY],
                        by_county,
                        [["合计", "", *_tally(part)]],
                    ),
                    Table([Column("用途代码"), Column("用途"), *TALLY[:3]], by_use),
                ],
            )
        )
    return sheets


def ledger_xlsx(
    frame: pd.DataFrame,
    geoms: np.ndarray,
    county_names: dict[str, str],
    *,
    scope: str,
    fields: str,
    holds: dict[str, str] | None = None,
) -> bytes:
    """The workbook. ``scope`` says which parcels (the filters), ``fields`` which fields
    (public or all), both for the 说明 sheet; ``holds`` (staff only), each held parcel's
    预留 as the reader may see it (``landmatch.db.holds.hold_text``), by code."""
    wb = new_workbook()
    table, freeze = _list_table(frame, geoms, county_names, holds)
    write_sheet(wb, SHEET, table, freeze_cols=freeze)
    for title, tables in _city_sheets(frame, county_names):
        write_sheet(wb, title, *tables)
    now = beijing_now()
    total = float(frame["area_m2"].sum()) if len(frame) else 0.0
    write_notes(
        wb,
        [
            ("数据来源", "landmatch 河北省熟地清单“一张图”地块库（导出时的现状数据）"),
            ("导出范围", scope),
            ("字段", fields),
            ("导出时间", now.strftime("%Y-%m-%d %H:%M（北京时间）")),
            ("地块数", f"{len(frame):,} 宗"),
            (
                "计算面积合计",
                f"{mu(total / M2_PER_MU, fixed=True)} 亩（{ha(total / M2_PER_HA, fixed=True)} 公顷）",
            ),
            (
                "面积单位",
                "计算面积为 CGCS2000 椭球面积；1 亩 = 10000/15 平方米，1 公顷 = 10000 平方米；"
                "亩保留 2 位小数，公顷保留 4 位小数",
            ),
            ("金额单位", "万元；价格、投资强度、亩均税收为 万元/亩"),
            ("坐标系", "几何(WKT) 为 CGCS2000 经纬度（EPSG:4490），经度在前"),
            ("代码", "城市代码、县区代码为行政区划代码，名称列在其旁；用途、状态等写为中文名称"),
            ("重新导入", "本表可直接导入（序号、名称列、预留列和计算面积列导入时忽略）"),
        ],
    )
    return save(wb)
