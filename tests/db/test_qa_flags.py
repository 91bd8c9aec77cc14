"""The QA flags' SQL (landmatch/db/qa_flags.py) covers the field table's utility dates."""

from __future__ import annotations

from landmatch.db import qa_flags
from landmatch.inventory.fields import UTILITY_DATES


def test_every_utility_date_has_its_value_and_label() -> None:
    assert tuple(qa_flags.UTILITY_VALUES) == UTILITY_DATES
    assert tuple(qa_flags.UTILITY_LABELS) == UTILITY_DATES


def test_each_stale_and_undated_flag_names_every_utility() -> None:
    stale, undated = qa_flags.flag_sql("stale_utilities"), qa_flags.flag_sql("undated_utilities")
    assert all(f"p.{c} < :stale" in stale for c in UTILITY_DATES)
    assert all(f"p.{c} IS NULL" in undated for c in UTILITY_DATES)
