"""The dashboard's inventory figures kept across workers and restarts (``monitoring_figures``)
and answered at once while newer ones are computed (``summary.Figures``, issue #20 item 3).
On committed data: the refresh runs on a thread with its own connection, as in the server."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.monitoring import summary
from landmatch.monitoring.idle import IdleRule

DAY = dt.date(2026, 10, 15)  # a day no other test asks the dashboard for (nor the day before)
EVE = DAY - dt.timedelta(days=1)
CITY = "130100"
ADMIN = Principal(name="t-admin", role="admin")
WAIT_S = 120  # a bound on the background refresh, never an assertion on speed


@pytest.fixture
def clean(engine: Engine) -> Iterator[None]:
    def drop() -> None:
        with engine.begin() as c:
            c.execute(
                # the day and the week before it, whose figures an answer may fall back on
                text(
                    "DELETE FROM landmatch.monitoring_figures "
                    "WHERE as_of > CAST(:d AS date) - 8 AND as_of <= :d"
                ),
                {"d": DAY},
            )

    drop()
    summary._cache.clear()
    yield
    drop()


def _bump(engine: Engine) -> None:
    """A committed change of the inventory's state (its parcel data version)."""
    with engine.begin() as c:
        c.execute(
            text("UPDATE landmatch.data_state SET version = version + 1 WHERE name = 'parcel'")
        )


def _refreshed(
    engine: Engine, worker: summary.Figures, rule: IdleRule
) -> tuple[dict[str, Any], str]:
    """Ask until the background refresh is done: the figures and when they were computed."""
    deadline = time.monotonic() + WAIT_S
    while True:
        with Session(engine) as s:
            figures, at, updating, day = worker.get(s, ADMIN, DAY, rule, CITY)
        if not updating:
            assert day == DAY
            return figures, at
        assert time.monotonic() < deadline, "the figures were not refreshed"
        time.sleep(0.1)


def test_latest_figures_while_the_current_ones_are_computed(engine: Engine, clean: None) -> None:
    rule = IdleRule()
    worker = summary.Figures(engine)
    with Session(engine) as s:
        first, at, updating, _ = worker.get(s, ADMIN, DAY, rule, CITY)
        s.commit()
    assert not updating and first["area_by_city_status"]
    # Nothing changed: the same figures, computed once.
    with Session(engine) as s:
        assert worker.get(s, ADMIN, DAY, rule, CITY) == (first, at, False, DAY)
    # Another worker (or this one restarted) reads them from the table: same time stamp.
    summary._cache.clear()
    with Session(engine) as s:
        assert summary.Figures(engine).get(s, ADMIN, DAY, rule, CITY) == (first, at, False, DAY)

    _bump(engine)
    with Session(engine) as s:
        assert worker.get(s, ADMIN, DAY, rule, CITY) == (first, at, True, DAY)  # at once, marked
    figures, fresh_at = _refreshed(engine, worker, rule)
    assert fresh_at > at and figures == first  # the data are the same; only the state moved
    with engine.connect() as c:
        stored = c.execute(
            text(
                "SELECT computed_at FROM landmatch.monitoring_figures "
                "WHERE as_of = :d AND city_code = :c"
            ),
            {"d": DAY, "c": CITY},
        ).scalar_one()
    assert stored.isoformat() == fresh_at


def test_another_worker_answers_at_once_with_the_stored_figures(
    engine: Engine, clean: None
) -> None:
    """After a change, a worker that never computed the figures (another one, or this one
    restarted) answers with the last stored ones at once, marked, and refreshes them."""
    rule = IdleRule()
    with Session(engine) as s:
        first, at, _, _ = summary.Figures(engine).get(s, ADMIN, DAY, rule, CITY)
        s.commit()
    _bump(engine)
    summary._cache.clear()
    other = summary.Figures(engine)
    with Session(engine) as s:
        assert other.get(s, ADMIN, DAY, rule, CITY) == (first, at, True, DAY)
    figures, fresh_at = _refreshed(engine, other, rule)
    assert fresh_at > at and figures == first


def test_a_new_day_answers_at_once_with_the_day_befores_figures(
    engine: Engine, clean: None
) -> None:
    """A day no figures are kept for yet (a server started on a new day, before its warm-up)
    is answered at once with the latest earlier day's, marked with that day, while its own
    are computed; figures of a day after the one asked for are never shown."""
    rule = IdleRule()
    with Session(engine) as s:
        eve, eve_at, _, _ = summary.Figures(engine).get(s, ADMIN, EVE, rule, CITY)
        s.commit()
    worker = summary.Figures(engine)
    with Session(engine) as s:
        assert worker.get(s, ADMIN, DAY, rule, CITY) == (eve, eve_at, True, EVE)
    figures, at = _refreshed(engine, worker, rule)
    assert at > eve_at and figures["area_by_city_status"] == eve["area_by_city_status"]
    # The day before still has its own figures, not the later day's.
    with Session(engine) as s:
        assert summary.Figures(engine).get(s, ADMIN, EVE, rule, CITY) == (eve, eve_at, False, EVE)


def test_a_later_days_figures_never_answer_an_earlier_day(engine: Engine, clean: None) -> None:
    rule = IdleRule()
    with Session(engine) as s:
        summary.Figures(engine).get(s, ADMIN, DAY, rule, CITY)  # the later day's kept
        s.commit()
    _bump(engine)  # the day before has no figures for the new inventory state (nor any)
    summary._cache.clear()
    with Session(engine) as s:
        answer = summary.Figures(engine).get(s, ADMIN, EVE, rule, CITY)
    assert answer.as_of == EVE and not answer.updating  # computed for the day asked, not DAY's


def test_a_failing_refresh_is_tried_again_later_not_on_every_request(
    engine: Engine, clean: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = IdleRule()
    with Session(engine) as s:
        eve, eve_at, _, _ = summary.Figures(engine).get(s, ADMIN, EVE, rule, CITY)
        s.commit()
    tries: list[dt.date] = []

    def failing(session: Session, principal: Principal, as_of: dt.date, *args: Any) -> Any:
        tries.append(as_of)
        raise RuntimeError("the database went away")

    computed = summary.inventory_figures
    monkeypatch.setattr(summary, "inventory_figures", failing)
    worker = summary.Figures(engine)

    def ask() -> summary.Answer:
        with Session(engine) as s:
            answer = worker.get(s, ADMIN, DAY, rule, CITY)
        deadline = time.monotonic() + WAIT_S
        while worker._refreshing:  # the background try ends
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return answer

    assert ask() == (eve, eve_at, True, EVE) and tries == [DAY]
    assert ask() == (eve, eve_at, True, EVE) and tries == [DAY]  # not again at once
    monkeypatch.setattr(summary, "RETRY_SECONDS", 0.0)
    assert ask() == (eve, eve_at, True, EVE) and tries == [DAY, DAY]  # later, again
    # The day's figures come another way (another worker computes them): this worker reads
    # them, and after the next change refreshes at once, no failure left to wait out.
    monkeypatch.setattr(summary, "RETRY_SECONDS", 60.0)
    with Session(engine) as s:
        day, day_at = computed(s, ADMIN, DAY, rule, CITY)
        s.commit()
    assert ask() == (day, day_at, False, DAY) and tries == [DAY, DAY]
    _bump(engine)
    assert ask() == (day, day_at, True, DAY) and tries == [DAY, DAY, DAY]


def test_without_latest_figures_the_first_answer_is_computed(engine: Engine, clean: None) -> None:
    _bump(engine)
    with Session(engine) as s:
        figures, _, updating, _ = summary.Figures(engine).get(s, ADMIN, DAY, IdleRule(), None)
        assert not updating
        assert figures["area_by_city_status"] == summary.area_by_city_status(s, ADMIN, None)


def test_the_days_figures_are_warmed_before_anyone_asks(engine: Engine, clean: None) -> None:
    """``summary.warm`` (the server's daily task) keeps the day's figures of the province and
    every city; a worker's first view then reads them; a second warm-up computes nothing; while
    another process warms (holds the lock), this one leaves it to it."""
    rule = IdleRule()
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": summary._WARM})
        assert summary.warm(engine, DAY, rule) == 0
        other.rollback()
    assert summary.warm(engine, DAY, rule) == 1 + len(vocab.CITIES)
    with engine.connect() as c:
        kept: dict[str, dt.datetime] = dict(
            c.execute(
                text(
                    "SELECT city_code, computed_at FROM landmatch.monitoring_figures "
                    "WHERE as_of = :d"
                ),
                {"d": DAY},
            ).all()
        )
    assert set(kept) == {vocab.PROVINCE_CODE, *vocab.CITIES}
    assert summary.warm(engine, DAY, rule) == 0
    summary._cache.clear()
    with Session(engine) as s:
        _, at, updating, _ = summary.Figures(engine).get(s, ADMIN, DAY, rule, CITY)
    assert not updating and at == kept[CITY].isoformat()
