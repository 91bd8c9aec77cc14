"""A policy's recorded states (``layer_version``, kept by the history trigger): the state a
form was opened at, and each save as the fields it changed, old → new, in words. The words
are the workbook's headers (:data:`landmatch.policies.excel.FIELD_LABELS`), so the history,
the form, the conflict screen and the import report name a field the same way."""

from __future__ import annotations

import datetime as dt
from typing import Any

from landmatch import vocab
from landmatch.policies.excel import FIELD_LABELS
from landmatch.policies.library import COLUMNS

# The fields a person edits, in the form's order; conditions are flattened into their keys.
CONDITIONS = (
    "min_investment_wan",
    "enterprise_types",
    "rd_intensity_min",
    "zone_levels",
    "max_energy_per_value",
    "requires",
)
FIELDS = tuple(c for c in COLUMNS if c != "conditions") + CONDITIONS
LABELS: dict[str, str] = {
    **FIELD_LABELS,
    "zone_levels": "适用开发区级别",
    "max_energy_per_value": "单位增加值能耗上限（吨标煤/万元）",
}
PERCENT = ("benefit_rate", "rd_intensity_min")
BELOW_AVERAGE = "below_local_average"
BELOW_AVERAGE_LABEL = "低于当地平均"
OPS = {"insert": "新增", "update": "修改", "delete": "删除"}


def flat(state: dict[str, Any]) -> dict[str, Any]:
    """A policy (a row of ``get_policy`` or of the history) as one value per field."""
    out = {f: state.get(f) for f in FIELDS if f not in CONDITIONS}
    conditions = state.get("conditions") or {}
    out |= {f: conditions.get(f) for f in CONDITIONS}
    return out


def _number(value: Any) -> str:
    return f"{float(value):,.4f}".rstrip("0").rstrip(".")


def display(field: str, value: Any) -> str:
    """A field's value in words (blank as —): names for codes, % for rates, dates as
    YYYY-MM-DD, lists joined with 、."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        names = {
            "statuses": vocab.PARCEL_STATUS,
            "enterprise_types": vocab.ENTERPRISE_TYPES,
            "zone_levels": vocab.ZONE_LEVELS,
        }.get(field)
        return "、".join((vocab.label(names, str(v)) if names else None) or str(v) for v in value)
    vocabulary = {
        "benefit_kind": vocab.BENEFIT_KINDS,
        "scope_level": vocab.POLICY_SCOPES,
        "visibility": vocab.VISIBILITY,
    }.get(field)
    if vocabulary is not None:
        return vocab.label(vocabulary, str(value)) or str(value)
    if field == "max_energy_per_value" and value == BELOW_AVERAGE:
        return BELOW_AVERAGE_LABEL
    if field in PERCENT:
        return _number(float(value) * 100) + "%"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, str]]:
    """The fields whose words differ between two states (``before`` None: every field set)."""
    old = flat(before) if before is not None else {}
    new = flat(after)
    out = []
    for f in FIELDS:
        a, b = display(f, old.get(f)), display(f, new.get(f))
        if a != b:
            out.append({"field": f, "label": LABELS.get(f, f), "old": a, "new": b})
    return out


def timeline(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history (oldest first, as ``policy_history`` gives it), newest first, each save
    with who, when, why, its version and the fields it changed."""
    out = []
    before: dict[str, Any] | None = None
    for h in history:
        row = h["row"] or {}
        out.append(
            {
                "at": h["at"],
                "actor": h["actor"],
                "reason": h["reason"],
                "op": OPS.get(h["op"], h["op"]),
                "version": row.get("version"),
                "changes": [] if h["op"] == "delete" else changes(before, row),
            }
        )
        before = row
    return out[::-1]


def state_at(history: list[dict[str, Any]], version: int) -> dict[str, Any] | None:
    """The policy as it was at ``version`` (the last recorded row of that version)."""
    found = None
    for h in history:
        if h["op"] != "delete" and (h["row"] or {}).get("version") == version:
            found = h["row"]
    return found
