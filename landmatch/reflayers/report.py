"""The change report of a reference-layer write (records, facts moved, hits, alerts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from landmatch.reflayers import facts


@dataclass
class ChangeReport:
    layer: str
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    affected_parcels: int = 0
    facts_changed: dict[str, int] = field(default_factory=dict)
    hits_gained: list[dict[str, Any]] = field(default_factory=list)
    hits_lost: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    refreshed_by: str = ""
    warnings: list[str] = field(default_factory=list)
    # Coverage declarations written with the change (landmatch.reflayers.coverage.summary).
    coverage: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hit_keys(hits: list[dict[str, Any]] | None) -> set[tuple[str, str]]:
    return {(h["code"], h.get("severity", "")) for h in hits or []}


def describe(
    conn: Connection, report: ChangeReport, ids: list[int], before: dict[int, dict[str, Any]]
) -> None:
    """Fill ``report`` with what moved in the facts of ``ids`` since the ``before`` snapshot."""
    after = facts.snapshot(conn, ids)
    report.affected_parcels = len(ids)
    codes: dict[int, str] = dict(
        conn.execute(
            text("SELECT id, code FROM landmatch.parcel WHERE id = ANY(:ids)"), {"ids": ids}
        ).all()
    )
    changed: dict[str, int] = {}
    for pid in ids:
        b, a = before.get(pid, {}), after.get(pid, {})
        for col in facts.FACT_COLUMNS:
            if col == "constraint_hits":
                continue
            bv, av = b.get(col), a.get(col)
            if isinstance(bv, float) and isinstance(av, float):
                moved = abs(bv - av) > 1e-6
            else:
                moved = bv != av
            if moved:
                changed[col] = changed.get(col, 0) + 1
        gained = _hit_keys(a.get("constraint_hits")) - _hit_keys(b.get("constraint_hits"))
        lost = _hit_keys(b.get("constraint_hits")) - _hit_keys(a.get("constraint_hits"))
        for code, sev in sorted(gained):
            report.hits_gained.append(
                {
                    "parcel_id": pid,
                    "parcel_code": codes.get(pid),
                    "constraint": code,
                    "severity": sev,
                }
            )
        for code, sev in sorted(lost):
            report.hits_lost.append(
                {
                    "parcel_id": pid,
                    "parcel_code": codes.get(pid),
                    "constraint": code,
                    "severity": sev,
                }
            )
        if gained or lost:
            changed["constraint_hits"] = changed.get("constraint_hits", 0) + 1
    report.facts_changed = changed
