"""Calendar arithmetic for legal periods counted in months and years (pure).

A period "of one year" (满一年) ends on the anniversary, not after 365 days: counting days puts a
29 February on the wrong side of the line. The rule is 《民法典》 Art. 202: a period counted in
years or months ends on the corresponding day of the final month, and where that month has no
corresponding day, on its last day. So 29 February + 1 year is 28 February of a common year,
and 31 January + 1 month is 28 (or 29) February.

That is exactly PostgreSQL's ``date + interval 'n months'`` (the day is clamped to the end of
the target month, in one step for any ``n``): the SQL twins use
``CAST(d + make_interval(months => n) AS date)`` and agree with :func:`add_months` on every
date, which the tests check across leap years.
"""

from __future__ import annotations

import calendar
import datetime as dt

#: China Standard Time (UTC+8, no daylight saving): the time staff and investors read.
BEIJING = dt.timezone(dt.timedelta(hours=8))
#: The same zone as PostgreSQL names it: every connection's session ``TimeZone``
#: (:mod:`landmatch.db.engine`), so that SQL's ``current_date`` is Beijing's too.
BEIJING_ZONE_NAME = "Asia/Shanghai"


def beijing_now() -> dt.datetime:
    """The present instant in Beijing time (aware), whatever the server's own time zone."""
    return dt.datetime.now(BEIJING)


def beijing_today() -> dt.date:
    """The application's "today": the Beijing calendar date, which a UTC server's
    ``date.today()`` is not from 00:00 to 08:00. Every legal period, deadline, validity and
    dated file name counts from it; SQL takes it as a parameter rather than ``current_date``."""
    return beijing_now().date()


def beijing_minute(at: dt.datetime) -> str:
    """A stored timestamp as staff read it: Beijing time to the minute, ``2026-11-01 14:03``
    (a naive one is taken as already local)."""
    if at.tzinfo is not None:
        at = at.astimezone(BEIJING)
    return at.strftime("%Y-%m-%d %H:%M")


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` moved by ``months`` calendar months, the day clamped to the target month's end.

    >>> add_months(dt.date(2024, 2, 29), 12), add_months(dt.date(2024, 1, 31), 1)
    (datetime.date(2025, 2, 28), datetime.date(2024, 2, 29))
    >>> add_months(dt.date(2023, 10, 2), 12), add_months(dt.date(2024, 3, 31), -1)
    (datetime.date(2024, 10, 2), datetime.date(2024, 2, 29))
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(d.day, last))


def add_years(d: dt.date, years: int) -> dt.date:
    """The ``years``-th anniversary of ``d`` (29 February → 28 February in a common year).

    >>> add_years(dt.date(2024, 2, 29), 1), add_years(dt.date(2024, 2, 29), 4)
    (datetime.date(2025, 2, 28), datetime.date(2028, 2, 29))
    """
    return add_months(d, 12 * years)


def in_force(start: dt.date | None, end: dt.date | None, day: dt.date) -> bool:
    """Whether ``day`` lies in the period from ``start`` to ``end``, both days included,
    either end open (None): a policy in force, a regional assessment that counts.

    The SQL twins are ``landmatch.policy_active(p, day)`` and
    ``landmatch.valid_assessments(zone, day)`` (migration 0002_zones); the tests tie each to
    this function over generated cases.

    >>> in_force(dt.date(2025, 1, 1), None, dt.date(2025, 1, 1))
    True
    >>> in_force(None, dt.date(2024, 12, 31), dt.date(2025, 1, 1))
    False
    """
    return (start is None or start <= day) and (end is None or end >= day)
