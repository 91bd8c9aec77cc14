"""From a file's columns to parcel fields: each header recognised (with the unit it names), the
declared area collected, 容积率 split into its bounds — and every unrecognised header reported
at once, with the closest known one suggested, as a problem of the import (not a refusal of
the file), so that the report names all that is wrong in one attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from landmatch.inventory import fields as F
from landmatch.inventory import quantities


@dataclass
class Mapped:
    frame: pd.DataFrame  # columns named by field; index = the file's row labels
    area: np.ndarray | None = None  # a declared area column, in m²
    units: dict[str, str] = field(default_factory=dict)  # field → the unit its header names
    columns: list[dict[str, Any]] = field(default_factory=list)  # how each column was read
    problems: list[dict[str, Any]] = field(default_factory=list)
    decisions: dict[tuple[str, str], list[Any]] = field(default_factory=dict)


def _problem(row: Any, fld: str, reason: str, code: Any = None) -> dict[str, Any]:
    return {"row": row, "code": code, "field": fld, "reason": reason}


def map_columns(frame: pd.DataFrame, header_row: Any = 1) -> Mapped:
    """Recognise the headers of ``frame`` (the file's own); ``header_row`` is where problems
    with a header are reported (the row of the header in the file)."""
    out = Mapped(frame=pd.DataFrame(index=frame.index))
    taken: dict[str, str] = {}
    far_column: str | None = None
    for h in frame.columns:
        head = F.read_header(h)
        entry: dict[str, Any] = {"header": str(h)}
        name = head.field
        if name is not None:
            if name in taken:
                out.problems.append(
                    _problem(
                        header_row,
                        str(h),
                        f"列“{h}”与列“{taken[name]}”对应同一字段“{F.BY_NAME[name].label}”；"
                        "请删除其中一列",
                    )
                )
                continue
            taken[name] = str(h)
            out.frame[name] = frame[h].to_numpy()
            entry |= {"field": name, "label": F.BY_NAME[name].label}
            if head.unit is not None:
                out.units[name] = head.unit
                entry["unit"] = head.unit
        elif head.area_factor is not None and "declared_area_m2" in taken:
            entry |= {
                "ignored": True,
                "note": f"已有面积列“{taken['declared_area_m2']}”，此列未使用",
            }
        elif head.area_factor is not None:
            out.area = _area(frame[h], head.area_factor, h, out)
            taken["declared_area_m2"] = str(h)
            entry |= {
                "field": "declared_area_m2",
                "label": "申报面积",
                "factor_to_m2": head.area_factor,
            }
        elif head.far:
            far_column = str(h)
            entry |= {"field": "far_min,far_max", "label": "容积率（下限、上限）"}
        elif head.ignored:
            entry["ignored"] = True
        else:
            hint = F.suggest(h)
            near = f"；最接近的已知字段：“{hint}”" if hint else ""
            out.problems.append(_problem(header_row, str(h), f"无法识别的列“{h}”{near}"))
            entry |= {"field": None, "suggestion": hint}
        out.columns.append(entry)
    if far_column is not None:
        if "far_min" in taken or "far_max" in taken:
            out.problems.append(
                _problem(
                    header_row,
                    far_column,
                    f"列“{far_column}”与容积率下限/上限列重复；请只保留一种写法",
                )
            )
        else:
            _split_far(frame[far_column], far_column, out)
    return out


def _area(col: pd.Series, factor: float, header: Any, out: Mapped) -> np.ndarray:
    """A declared-area column in m² (values may carry their own unit: 1.2万平方米, 15亩)."""
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float) * factor
    values = np.full(len(col), np.nan)
    for i, (label, v) in enumerate(col.items()):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, int | float):
            values[i] = float(v) * factor
            continue
        value, why = quantities.read(str(v), "m2")
        if why is not None:
            out.problems.append(_problem(label, "declared_area_m2", f"{header}：{why}"))
        elif value is not None:
            has_unit = not str(v).strip().replace(".", "", 1).isdigit()
            values[i] = value if has_unit else value * factor
    return values


def _split_far(col: pd.Series, header: str, out: Mapped) -> None:
    """容积率 written as one column (1.0-2.0, ≥1.0, ≤2.0, 1.2) → 容积率下限 and 容积率上限."""
    lo = np.full(len(col), None, dtype=object)
    hi = np.full(len(col), None, dtype=object)
    for i, (label, v) in enumerate(col.items()):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        bounds, note = quantities.far(str(v) if not isinstance(v, float) else f"{v:g}")
        if bounds is None:
            out.problems.append(_problem(label, "far_min", note or f"容积率“{v}”无法识别"))
            continue
        lo[i], hi[i] = bounds
        if note:
            message = f"{header}只写了一个数字（如“{v}”），{note}（≥）"
            key = next((k for k in out.decisions if k[0] == "far_min"), ("far_min", message))
            out.decisions.setdefault(key, []).append(label)
    out.frame["far_min"] = lo
    out.frame["far_max"] = hi


# Known headers a file's unrecognised header may be mapped to (besides every field's label):
# a declared area with its unit and 容积率 written as one column.
EXTRA_TARGETS = (
    ("面积(亩)", "面积（亩）"),
    ("面积(公顷)", "面积（公顷）"),
    ("面积(平方米)", "面积（平方米）"),
    ("容积率", "容积率（一列，如 1.0-2.0）"),
)


def mapping_targets() -> list[tuple[str, str]]:
    """(known header, label) pairs a column may be mapped to, in the field table's order."""
    out = [(f.label, f.label) for f in F.FIELDS if f.name != "declared_area_m2"]
    return out + list(EXTRA_TARGETS)


def check_mapping(columns: dict[str, str | None]) -> dict[str, str | None]:
    """A column mapping (file header → known header, or None to ignore) checked: every target
    must be a header the import recognises; :class:`InvalidInput` names the first that is not."""
    from landmatch.errors import InvalidInput

    out: dict[str, str | None] = {}
    for header, target in columns.items():
        header = str(header)[:200]
        if target is None or not str(target).strip():
            out[header] = None
            continue
        head = F.read_header(target)
        if head.field is None and head.area_factor is None and not head.far:
            raise InvalidInput(
                f"列“{header}”对应的字段“{str(target)[:40]}”无法识别",
                detail=[{"field": header, "reason": "无法识别的字段"}],
            )
        out[header] = str(target)
    return out


def parse_mapping(text: str | None) -> dict[str, str | None] | None:
    """A column mapping sent as JSON (``{"header": "known header" | null}``), checked."""
    import json

    from landmatch.errors import InvalidInput

    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInput("列映射 columns 不是有效的 JSON") from None
    if not isinstance(value, dict) or not all(isinstance(v, str | None) for v in value.values()):
        raise InvalidInput('列映射 columns 应为对象：{"文件表头": "字段" 或 null}')
    return check_mapping(value)


def check_collisions(headers: list[Any], mapping: dict[str, str | None]) -> None:
    """Refuse a mapping that gives two of the file's columns the same header (a column mapped
    to a header the file already has, or two columns mapped to one): :class:`InvalidInput`
    naming both columns, with the mapped one as the detail's field."""
    from landmatch.errors import InvalidInput

    named: dict[str, str] = {}  # header after the mapping → the file's header
    for h in map(str, headers):
        if h in mapping and mapping[h] is None:
            continue
        new = mapping.get(h) or h
        first = named.setdefault(new, h)
        if first == h:
            continue
        if new == first:
            message = (
                f"列“{h}”映射为“{new}”，而文件中已有列“{first}”；"
                "请为其中一列选择其他字段，或忽略其中一列"
            )
        elif new == h:
            message = (
                f"列“{first}”映射为“{new}”，而文件中已有列“{h}”；"
                "请为其中一列选择其他字段，或忽略其中一列"
            )
        else:
            message = f"列“{first}”和列“{h}”都映射为“{new}”；一个字段只能对应一列，请忽略其中一列"
        mapped = h if mapping.get(h) else first
        raise InvalidInput(message, detail=[{"field": mapped, "reason": message}])


def apply_mapping(frame: pd.DataFrame, columns: dict[str, str | None]) -> pd.DataFrame:
    """``frame`` with its headers renamed as ``columns`` says (a header mapped to None is
    dropped); headers the mapping does not name stay as they are. Two columns may not end up
    with one header (:func:`check_collisions`)."""
    mapping = check_mapping(columns)
    check_collisions(list(frame.columns), mapping)
    drop = [h for h in frame.columns if mapping.get(str(h), "") is None]
    renamed = {h: mapping[str(h)] for h in frame.columns if mapping.get(str(h))}
    return frame.drop(columns=drop).rename(columns=renamed)


def unknown_headers(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The headers of ``frame`` the import does not recognise, each with the closest known one."""
    return [
        {"header": c["header"], "suggestion": c.get("suggestion")}
        for c in map_columns(frame).columns
        if c.get("field") is None and not c.get("ignored")
    ]
