"""idle-land thresholds in calendar months (满一年 / 满两年 are anniversaries, not 365 / 730 days)

Revision ID: 0015_calendar_months
Revises: 0014_generated_geometry

``monitoring_rule``'s periods (``idle_after``, ``recover_after``, ``at_risk_window``,
``stall_min``, ``start_fallback``) become ``*_months``: the idle scan draws its lines on
anniversaries (``landmatch.dates``, ``monitoring_idle.sql``). Stored values are converted to
the nearest whole month (365 → 12, 730 → 24, 180 → 6, 90 → 3) and back to days on downgrade
(12 → 365, 24 → 730); the recovery line stays after the idle line either way.
"""

from __future__ import annotations

from alembic import op

revision = "0015_calendar_months"
down_revision = "0014_generated_geometry"
branch_labels = None
depends_on = None

# column stem → (default in months, default in days, CHECK on the column)
PERIODS = {
    "idle_after": (12, 365, "> 0"),
    "recover_after": (24, 730, None),
    "at_risk_window": (12, 365, ">= 0"),
    "stall_min": (12, 365, "> 0"),
    "start_fallback": (12, 365, ">= 0"),
}
T = "landmatch.monitoring_rule"


def _switch(old: str, new: str, convert: str) -> None:
    """Rename every period column from suffix ``old`` to ``new``, converting its value with
    ``convert`` (a format string over the column name), constraints and defaults included."""
    drops = ["DROP CONSTRAINT ck_monitoring_rule_order"] + [
        f"DROP CONSTRAINT monitoring_rule_{stem}_{old}_check"
        for stem, (_m, _d, check) in PERIODS.items()
        if check
    ]
    op.execute(f"ALTER TABLE {T} {', '.join(drops)}")
    for stem in PERIODS:
        op.execute(f"ALTER TABLE {T} RENAME COLUMN {stem}_{old} TO {stem}_{new}")

    def value(stem: str) -> str:
        v = convert.format(f"{stem}_{new}")
        return f"GREATEST({v}, 1)" if PERIODS[stem][2] == "> 0" else v

    sets = [f"{stem}_{new} = {value(stem)}" for stem in PERIODS]
    # The recovery line stays after the idle line (two short periods may round alike).
    sets[1] = f"recover_after_{new} = GREATEST({value('recover_after')}, {value('idle_after')} + 1)"
    op.execute(f"UPDATE {T} SET {', '.join(sets)}")
    index = 0 if new == "months" else 1
    alters = [
        f"ALTER COLUMN {stem}_{new} SET DEFAULT {defaults[index]}"
        for stem, defaults in PERIODS.items()
    ]
    adds = [
        f"ADD CONSTRAINT monitoring_rule_{stem}_{new}_check CHECK ({stem}_{new} {check})"
        for stem, (_m, _d, check) in PERIODS.items()
        if check
    ]
    adds.append(
        f"ADD CONSTRAINT ck_monitoring_rule_order CHECK (recover_after_{new} > idle_after_{new})"
    )
    op.execute(f"ALTER TABLE {T} {', '.join(alters + adds)}")


def upgrade() -> None:
    _switch("days", "months", "GREATEST(round({} * 12 / 365.25), 0)::integer")


def downgrade() -> None:
    _switch("months", "days", "floor({} * 365.25 / 12)::integer")
