"""The Excel template of the 熟地清单 import: the standard headers (the field table's labels,
with their units), a 说明 sheet saying what each column holds, and data-validation dropdowns
for the vocabularies (status, visibility, land use, city, yes/no), read from a 词表 sheet.

Every header is one the import recognises (``landmatch.inventory.fields.read_header``) and
every dropdown value one it reads, so a filled-in template imports without a column mapping.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from landmatch import vocab
from landmatch.inventory import fields as F
from landmatch.spreadsheets import safe_cell

SHEET = "熟地清单"  # the sheet the import prefers (landmatch.inventory.sheets)
AREA_HEADER = "面积(亩)"
GEOMETRY_HEADER = "几何(WKT)"
ROWS = 2000  # rows the dropdowns cover
KINDS = {
    "text": "文本",
    "int": "整数",
    "num": "数字",
    "date": "日期（如 2025-03-18）",
    "bool": "是 / 否",
    "code": "代码或名称（下拉选择）",
    "list": "多个值用顿号“、”分隔",
}
# The template's columns: the field table's, the declared area in 亩 instead of m², and the
# boundary as WKT (or joined from a boundary file by code).
_SKIP = ("zone_code", "declared_area_m2")


def _columns() -> list[tuple[str, F.Field | None]]:
    out: list[tuple[str, F.Field | None]] = []
    for f in F.FIELDS:
        if f.name in _SKIP:
            continue
        out.append((f.label, f))
        if f.name == "visibility":
            out.append((AREA_HEADER, None))
    out.append((GEOMETRY_HEADER, None))
    return out


def _explain(header: str, f: F.Field | None) -> tuple[str, str]:
    if header == AREA_HEADER:
        return "数字（亩）", "申报面积；系统另按边界计算面积，相差超过 1% 时在报告中提示"
    if header == GEOMETRY_HEADER:
        return "WKT 文本", (
            "地块边界（EPSG:4490 经纬度）；也可以不填，另附界址点 TXT、Shapefile 或 GeoJSON "
            "边界文件，按地块编号对应"
        )
    assert f is not None
    kind = KINDS.get(f.kind, f.kind)
    notes = []
    if f.name == "code":
        notes.append("必填；同一编号再次导入即为更新")
    if f.name in ("land_use", "status", "visibility"):
        notes.append("空白时取导入向导中设置的默认值")
    if f.lo is not None or f.hi is not None:
        notes.append(
            f"取值范围 {f.lo if f.lo is not None else '—'}～{f.hi if f.hi is not None else '—'}"
        )
    if f.vocab and f.kind == "list":
        notes.append("可选：" + "、".join(list(f.vocab.values())[:12]))
    if f.aliases:
        notes.append("也可写作：" + "、".join(a for a in f.aliases[:4] if not a.isascii()))
    return kind, "；".join(n for n in notes if n)


def _lists() -> dict[str, list[str]]:
    """Dropdown lists by header (labels: the import reads a vocabulary's labels)."""
    out: dict[str, list[str]] = {}
    for f in F.FIELDS:
        if f.kind == "bool":
            out[f.label] = ["是", "否"]
        elif f.kind == "code" and f.vocab:
            words = vocab.PARCEL_LAND_USE if f.name == "land_use" else f.vocab
            out[f.label] = [f"{label}" for label in words.values()]
    return out


def template_xlsx() -> bytes:
    """The template as xlsx bytes."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    cols = _columns()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for j, (header, _) in enumerate(cols, start=1):
        cell = safe_cell(header, ws.cell(1, j))
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(j)].width = max(10, min(24, len(header) * 2 + 2))
    ws.freeze_panes = "B2"

    words = wb.create_sheet("词表")
    lists = _lists()
    validations: list[tuple[int, str, int]] = []
    for k, (header, values) in enumerate(lists.items(), start=1):
        safe_cell(header, words.cell(1, k)).font = bold
        for i, v in enumerate(values, start=2):
            safe_cell(v, words.cell(i, k))
        validations.append((k, header, len(values)))
    by_header = {h: j for j, (h, _) in enumerate(cols, start=1)}
    for k, header, n in validations:
        if header not in by_header:
            continue
        letter = get_column_letter(k)
        dv = DataValidation(
            type="list",
            formula1=f"=词表!${letter}$2:${letter}${n + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="取值无效",
            error=f"请从下拉列表中选择“{header}”的值",
            promptTitle=header,
            prompt="从下拉列表中选择",
        )
        col = get_column_letter(by_header[header])
        dv.add(f"{col}2:{col}{ROWS + 1}")
        ws.add_data_validation(dv)

    notes = wb.create_sheet("说明", 0)
    rows: list[list[Any]] = [
        ["熟地清单导入模板"],
        [
            "在“熟地清单”工作表中每行填写一宗地块；表头请勿修改。导入时在工作台“数据导入”中上传本文件，"
            "先试运行查看报告，确认无误后再正式导入。"
        ],
        [
            "面积以亩填写；金额以万元填写；日期写作 2025-03-18；带单位的数值（如 8000kVA、1.2万）也可识别。"
        ],
        [],
        ["列名", "类型", "说明"],
    ]
    for header, f in cols:
        kind, note = _explain(header, f)
        rows.append([header, kind, note])
    for i, values in enumerate(rows, start=1):
        for j, v in enumerate(values, start=1):
            safe_cell(v, notes.cell(i, j))
    notes["A1"].font = Font(bold=True, size=14)
    for j in range(1, 4):
        notes.cell(5, j).font = bold
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 26
    notes.column_dimensions["C"].width = 90
    wb.active = wb.index(ws)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def headers() -> list[str]:
    """The template's headers, in order."""
    return [h for h, _ in _columns()]
