"""Import policies from an Excel workbook with Chinese headers (first sheet, header row 1).

All rows are checked first; one bad row refuses the whole file with the row and field named.
Rows whose 编码 exists update that policy, others are created.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.locking import ANY
from landmatch.errors import FormatError, UnprocessableInput
from landmatch.policies.library import create_policy, update_policy
from landmatch.spreadsheets import xlsx_unescape

# Header (as written in the workbook) → field. Several spellings are accepted.
HEADERS: dict[str, str] = {
    "编码": "code",
    "政策编码": "code",
    "标题": "title",
    "政策名称": "title",
    "名称": "title",
    "发布机关": "issuer",
    "发文机关": "issuer",
    "文号": "doc_no",
    "发文字号": "doc_no",
    "发布日期": "issued_on",
    "发文日期": "issued_on",
    "生效日期": "valid_from",
    "有效期起": "valid_from",
    "失效日期": "valid_until",
    "有效期至": "valid_until",
    "范围级别": "scope_level",
    "适用范围": "scope_level",
    "范围代码": "scope_code",
    "适用范围代码": "scope_code",
    "适用行业": "industries",
    "行业代码": "industries",
    "适用地块状态": "statuses",
    "地块状态": "statuses",
    "适用用途": "land_uses",
    "用地用途": "land_uses",
    "优惠类型": "benefit_kind",
    "政策类型": "benefit_kind",
    "优惠比例": "benefit_rate",
    "比例": "benefit_rate",
    "上限（万元）": "benefit_cap_wan",
    "上限(万元)": "benefit_cap_wan",
    "金额（万元）": "benefit_amount_wan",
    "金额(万元)": "benefit_amount_wan",
    "计算基数": "benefit_basis",
    "最低投资（万元）": "min_investment_wan",
    "最低投资(万元)": "min_investment_wan",
    "企业类型": "enterprise_types",
    "研发投入强度": "rd_intensity_min",
    "研发投入强度下限": "rd_intensity_min",
    "其他条件": "requires",
    "摘要": "summary",
    "政策摘要": "summary",
    "内容摘要": "summary",
    "来源": "source",
    "出处": "source",
    "公开": "visibility",
    "是否公开": "visibility",
}
# Field → the header the template writes (the first spelling above), for reports.
FIELD_LABELS: dict[str, str] = {}
for _header, _field in HEADERS.items():
    FIELD_LABELS.setdefault(_field, _header)

LISTS = {"industries", "statuses", "land_uses", "enterprise_types"}
DATES = {"issued_on", "valid_from", "valid_until"}
NUMBERS = {
    "benefit_rate",
    "benefit_cap_wan",
    "benefit_amount_wan",
    "min_investment_wan",
    "rd_intensity_min",
}
PERCENT = {"benefit_rate", "rd_intensity_min"}
CONDITION_FIELDS = {"min_investment_wan", "enterprise_types", "rd_intensity_min", "requires"}
# A workbook's data rows at most (a city's policies fit in one, a province's library in two); the
# import is checked and written in the request (bench_workbench.py times a file this size),
# so a larger file is refused while it is read, before any row is checked.
MAX_ROWS = 500
SPLIT = re.compile(r"[,，、;；\s]+")


def _bad(row: int | None, field: str, reason: str) -> UnprocessableInput:
    if row is None:  # a form's field
        return UnprocessableInput(f"{field} {reason}", detail=[{"field": field, "reason": reason}])
    return UnprocessableInput(
        f"第 {row} 行：{field} {reason}", detail=[{"row": row, "field": field, "reason": reason}]
    )


def _by_label(value: str, vocabulary: dict[str, str]) -> str:
    for code, label in vocabulary.items():
        if value == label:
            return code
    return value


def cell_value(field: str, value: Any, row: int | None = None) -> Any:
    """A cell (or a form field's text) as the field's value: lists split on commas, 、 and
    spaces (statuses also by their Chinese names), dates in the usual spellings, numbers (a
    rate or intensity above 1, or written with %, as a percentage), scope and visibility by
    their Chinese names; blank is None. Refused with the row (when given) and field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field in LISTS:
        items = [s for s in SPLIT.split(str(value).strip()) if s]
        if field == "statuses":
            items = [_by_label(s, vocab.PARCEL_STATUS) for s in items]
        return items
    if field in DATES:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        s = str(value).strip().replace("/", "-").replace(".", "-")
        m = re.match(r"^(\d{4})[-年](\d{1,2})[-月](\d{1,2})日?$", s)
        if not m:
            raise _bad(row, field, f"日期格式无法识别：{value}")
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise _bad(row, field, f"日期无效：{value}") from None
    if field in NUMBERS:
        s = str(value).strip()
        pct = s.endswith("%")
        try:
            num = float(s.rstrip("%"))
        except ValueError:
            raise _bad(row, field, f"应为数字：{value}") from None
        if field in PERCENT and (pct or num > 1):
            num /= 100
        return num
    if field == "scope_level":
        return _by_label(str(value).strip(), vocab.POLICY_SCOPES)
    if field == "visibility":
        return (
            "internal" if str(value).strip() in ("否", "内部", "internal", "N", "n") else "public"
        )
    if field == "scope_code":
        return str(value).strip().removesuffix(".0")
    return str(value).strip()


def read_rows(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - anything unreadable is a format problem for the user
        raise FormatError("无法读取 Excel 文件（需要 .xlsx）") from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = next(it, None)
    if not header:
        raise FormatError("Excel 第一行应为表头")
    fields: list[str | None] = []
    for h in header:
        name = str(h).strip() if h is not None else ""
        fields.append(HEADERS.get(name))
    missing = [
        h
        for h, f in (
            ("编码", "code"),
            ("标题", "title"),
            ("发布机关", "issuer"),
            ("优惠类型", "benefit_kind"),
            ("摘要", "summary"),
        )
        if f not in fields
    ]
    if missing:
        raise FormatError(
            f"缺少必需的列：{', '.join(missing)}",
            detail=[{"row": 1, "field": m, "reason": "缺少列"} for m in missing],
        )
    out: list[tuple[int, dict[str, Any]]] = []
    for n, values in enumerate(it, start=2):
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        if len(out) == MAX_ROWS:
            raise FormatError(
                f"政策 Excel 最多 {MAX_ROWS:,} 行数据（第 {n} 行超出）；请分成几个文件导入",
                detail=[{"row": n, "field": "", "reason": f"超过 {MAX_ROWS:,} 行"}],
            )
        rec: dict[str, Any] = {}
        cond: dict[str, Any] = {}
        for f, v in zip(fields, values, strict=False):
            if f is None:
                continue
            val = cell_value(f, xlsx_unescape(v) if isinstance(v, str) else v, n)
            if val is None:
                continue
            (cond if f in CONDITION_FIELDS else rec)[f] = val
        if cond:
            rec["conditions"] = cond
        out.append((n, rec))
    return out


def import_policies(
    session: Session, principal: Principal, data: bytes, *, dry_run: bool = False
) -> dict[str, Any]:
    """Create or update every row; all or nothing (the caller's transaction)."""
    principal.require("admin", "bureau", "zone")
    rows = read_rows(data)
    if not rows:
        raise FormatError("Excel 中没有数据行")
    created, updated = [], []
    known = set(
        session.execute(
            text("SELECT code FROM landmatch.policy WHERE code = ANY(:c)"),
            {"c": [str(rec["code"]) for _, rec in rows if rec.get("code")]},
        ).scalars()
    )
    sp = session.begin_nested()
    try:
        for n, rec in rows:
            code = rec.get("code")
            if not code:
                raise _bad(n, "code", "缺少编码")
            if code in known:
                changes = {k: v for k, v in rec.items() if k != "code"}
                update_policy(session, principal, code, changes, row=n, if_match=ANY)
                updated.append(code)
            else:
                create_policy(session, principal, rec, row=n)
                created.append(code)
                known.add(code)  # a second row of the same code updates it
    except BaseException:
        sp.rollback()
        raise
    if dry_run:
        sp.rollback()
    else:
        sp.commit()
    return {"rows": len(rows), "created": created, "updated": updated, "dry_run": dry_run}


def field_label(field: str) -> str:
    """A report's field in the workbook's words (a missing column is named by its header)."""
    return FIELD_LABELS.get(field, field)


def summary(result: dict[str, Any]) -> str:
    """The one-line report of :func:`import_policies` (the CLI prints it; the page shows it)."""
    return f"{result['rows']} 行：新增 {len(result['created'])}，更新 {len(result['updated'])}" + (
        "（试运行，未写入）" if result["dry_run"] else ""
    )
