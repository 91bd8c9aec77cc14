"""The import report: what the import did with each row and what it decided, in Chinese.

One report for a dry run, a committed import and a rejected one (as the rejection's
``detail``): totals; each row's action (created, updated, unchanged, rejected) with its
problems, warnings (declared area off the measured one, an overlap with a stored parcel) and,
for an update, the fields it changes (old → new); the decisions taken for many rows at once
(defaults applied, old land-use codes read, values read with their units), each once with the
rows it applies to; and every message as a flat list of text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from landmatch.inventory import fields as F

# Rows a decision lists by number in the report (the count is always complete).
DECISION_ROWS = 50


@dataclass
class Findings:
    """What the reading, the validation and the write found, for :func:`build_report`."""

    problems: list[dict[str, Any]] = field(default_factory=list)  # row, code, field, reason
    warnings: list[dict[str, Any]] = field(default_factory=list)  # row, code, field, message
    decisions: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # → rows
    changes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # row → changes
    notes: list[str] = field(default_factory=list)  # about the whole file
    columns: list[dict[str, Any]] = field(default_factory=list)  # how each column was read


def row_number(v: Any) -> Any:
    """A row label as the report shows it (an int where it is one)."""
    try:
        return int(v)
    except (TypeError, ValueError):
        return v


def where(row: Any) -> str:
    """A row as a message names it: 第 12 行, or the header."""
    return f"第 {row} 行" if isinstance(row, int | np.integer) else str(row)


def _code(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    return str(v)


def _rows_text(rows: list[Any]) -> str:
    shown = "、".join(str(r) for r in rows[:10])
    more = f" 等 {len(rows)} 行" if len(rows) > 10 else ""
    return f"第 {shown} 行{more}"


def warning_text(w: dict[str, Any]) -> str:
    code = f"（{w['code']}）" if w.get("code") else ""
    return f"{where(w['row'])}{code}{F.label_of(w['field'])}：{w['message']}"


def build_report(
    frame: pd.DataFrame, actions: dict[str, str], found: Findings, **head: Any
) -> dict[str, Any]:
    """The report of an import of ``frame`` (rows labelled as in the file), ``actions`` by
    row label; ``head`` (filename, format, crs …) leads the report."""
    by_row: dict[str, list[dict[str, Any]]] = {}
    for p in found.problems:
        by_row.setdefault(str(p["row"]), []).append({"field": p["field"], "reason": p["reason"]})
    warned: dict[str, list[dict[str, Any]]] = {}
    for w in found.warnings:
        warned.setdefault(str(w["row"]), []).append({"field": w["field"], "message": w["message"]})
    row_codes = frame["code"].to_numpy() if "code" in frame else [None] * len(frame)
    out_rows = []
    totals = {"rows": len(frame), "created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    for label, code in zip(frame.index, row_codes, strict=True):
        key = str(label)
        row: dict[str, Any] = {"row": row_number(label), "code": _code(code)}
        if key in by_row:
            row["action"] = "rejected"
            row["problems"] = by_row[key]
            totals["rejected"] += 1
        else:
            row["action"] = actions.get(key, "checked")
            if row["action"] in totals:
                totals[row["action"]] += 1
            if key in found.changes:
                row["changes"] = found.changes[key]
        if key in warned:
            row["warnings"] = warned[key]
        out_rows.append(row)
    decisions: list[dict[str, Any]] = []
    for (fld, message), rows in found.decisions.items():
        kept = [r for r in rows if str(r) not in by_row]  # a rejected row is not written
        if kept:
            decisions.append(
                {
                    "field": fld,
                    "label": F.label_of(fld),
                    "message": message,
                    "count": len(kept),
                    "rows": kept[:DECISION_ROWS],
                }
            )
    rejected = [
        {
            "row": row_number(p["row"]),
            "code": p.get("code"),
            "field": p["field"],
            "reason": p["reason"],
        }
        for p in found.problems
    ]
    texts = [
        *found.notes,
        *(
            f"{d['label']}：{d['message']}（{_rows_text(d['rows'])}）"
            if d["count"] <= DECISION_ROWS
            else f"{d['label']}：{d['message']}（共 {d['count']} 行）"
            for d in decisions
        ),
        *(warning_text(w) for w in found.warnings),
    ]
    report: dict[str, Any] = {
        **head,
        "totals": totals,
        "rows": out_rows,
        "rejected": rejected,
        "decisions": decisions,
        "warnings": texts,
    }
    if found.columns:
        report["columns"] = found.columns
    return report


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """What the import batch keeps of its report: everything but the rows."""
    return {k: v for k, v in report.items() if k != "rows"}
