"""Everything the dashboard draws, in one call (live from the database)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Any, NamedTuple, cast

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.monitoring import cases, scan, targets, unsupplied, zones
from landmatch.monitoring.idle import IdleRule
from landmatch.monitoring.scope import city_scope

log = logging.getLogger("landmatch.monitoring")


def area_by_city_status(
    session: Session, principal: Principal, city: str | None = None
) -> list[dict[str, Any]]:
    city = city_scope(principal, city)
    rows = session.execute(
        text(
            "SELECT city_code, status, count(*) AS parcels, sum(area_m2) AS area_m2 "
            "FROM landmatch.parcel WHERE deleted_at IS NULL "
            "AND (CAST(:city AS text) IS NULL OR city_code = :city) GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"city": city},
    ).mappings()
    return [
        {
            **dict(r),
            "city_name": vocab.CITIES.get(r["city_code"], r["city_code"]),
            "status_label": vocab.PARCEL_STATUS[r["status"]],
        }
        for r in rows
    ]


# The inventory's part of the summary (every parcel read: seconds at a million parcels) is kept
# for the inventory state it was computed from: in this worker's memory, and in the table
# ``monitoring_figures`` for the other workers and after a restart. Targets and alerts (small
# tables) are read live.
CACHE_ENTRIES = 32
KEPT = "interval '7 days'"
_cache: OrderedDict[tuple[Any, ...], tuple[dict[str, Any], str]] = OrderedDict()
_cache_lock = threading.Lock()


def inventory_state(session: Session) -> tuple[Any, ...]:
    """What the inventory figures depend on, as this session sees it: the database, the parcel
    and zone data versions (each with the transaction that bumped it: a rolled-back write
    leaves the number, not the transaction id) and the idle thresholds of every city."""
    versions = session.execute(
        text(
            "SELECT name, version, xmin::text FROM landmatch.data_state "
            "WHERE name IN ('parcel', 'dev_zone') ORDER BY name"
        )
    ).all()
    thresholds = session.execute(
        text("SELECT * FROM landmatch.monitoring_rule ORDER BY city_code")
    ).all()
    return (
        str(session.get_bind().engine.url),
        tuple(tuple(r) for r in versions),
        tuple(tuple(r) for r in thresholds),
    )


def _digest(state: tuple[Any, ...]) -> str:
    """The state as stored beside the figures (the database's own part left out)."""
    return hashlib.sha256(repr(state[1:]).encode()).hexdigest()[:32]


def _rule_key(defaults: IdleRule) -> str:
    return json.dumps(dataclasses.asdict(defaults), sort_keys=True)


def _compute(
    session: Session, principal: Principal, as_of: dt.date, defaults: IdleRule, city: str | None
) -> dict[str, Any]:
    idle = scan.idle_report(session, principal, as_of, defaults, city=city, limit=0)
    ages = unsupplied.age_bands(session, principal, as_of, city)
    out = {
        "area_by_city_status": area_by_city_status(session, principal, city),
        "idle_stages": idle["stages"],
        "idle_fee_total_wan": idle["fee_total_wan"],
        "unsupplied_age": ages["by_city"],
        "unsupplied_bands": ages["bands"],
        "zones": zones.zone_kpis(session, principal, as_of, city)["zones"][:20],
    }
    # As JSON, as stored: the same values whether computed here or read back.
    return cast(dict[str, Any], json.loads(json.dumps(out, default=str)))


def _remember(key: tuple[Any, ...], found: tuple[dict[str, Any], str]) -> None:
    with _cache_lock:
        _cache[key] = found
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)


def kept_figures(
    session: Session, as_of: dt.date, defaults: IdleRule, city: str | None = None
) -> tuple[dict[str, Any], str] | None:
    """The figures kept for the inventory state this session sees (in memory, else in the
    table), with when they were computed; None when none are kept for it."""
    state = inventory_state(session)
    key = (state, as_of, city, defaults)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    row = session.execute(
        text(
            "SELECT figures, computed_at FROM landmatch.monitoring_figures "
            "WHERE as_of = :d AND city_code = :c AND rule = :r AND state = :s"
        ),
        {
            "d": as_of,
            "c": city or vocab.PROVINCE_CODE,
            "r": _rule_key(defaults),
            "s": _digest(state),
        },
    ).first()
    if row is None:
        return None
    found = (dict(row.figures), row.computed_at.isoformat())
    _remember(key, found)
    return found


def _latest_stored(
    session: Session, as_of: dt.date, defaults: IdleRule, city: str | None
) -> tuple[tuple[dict[str, Any], str], dt.date] | None:
    """The figures last stored for the city and rule, of the day or else of the latest day
    before it (within :data:`KEPT`), whatever inventory state they came from (another
    worker's, or this one's before a restart): the figures with when computed, and their
    day."""
    row = session.execute(
        text(
            "SELECT as_of, figures, computed_at FROM landmatch.monitoring_figures "
            f"WHERE as_of <= :d AND as_of > CAST(:d AS date) - {KEPT} "
            "AND city_code = :c AND rule = :r ORDER BY as_of DESC LIMIT 1"
        ),
        {"d": as_of, "c": city or vocab.PROVINCE_CODE, "r": _rule_key(defaults)},
    ).first()
    if row is None:
        return None
    return (dict(row.figures), row.computed_at.isoformat()), row.as_of


def inventory_figures(
    session: Session,
    principal: Principal,
    as_of: dt.date,
    defaults: IdleRule,
    city: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The summary's figures read from the inventory — area by city and status, idle stages
    (counted set-wise: ``scan.stage_groups``), the 批而未供 stock by age, the zone KPIs — and
    when they were computed: those kept for this inventory state (:func:`inventory_state`),
    day, city and rule, else computed now and kept (the caller commits the session). In the
    caller's scope (:func:`~landmatch.monitoring.scope.city_scope`)."""
    city = city_scope(principal, city)
    kept = kept_figures(session, as_of, defaults, city)
    if kept is not None:
        return kept
    state = inventory_state(session)
    figures = _compute(session, principal, as_of, defaults, city)
    session.execute(  # figures computed over a week ago go (asked again, they are recomputed)
        text(f"DELETE FROM landmatch.monitoring_figures WHERE computed_at < now() - {KEPT}")
    )
    computed_at = session.execute(
        text(
            "INSERT INTO landmatch.monitoring_figures (as_of, city_code, rule, state, figures) "
            "VALUES (:d, :c, :r, :s, CAST(:f AS jsonb)) ON CONFLICT (as_of, city_code, rule) "
            "DO UPDATE SET state = EXCLUDED.state, figures = EXCLUDED.figures, "
            "computed_at = EXCLUDED.computed_at RETURNING computed_at"
        ),
        {
            "d": as_of,
            "c": city or vocab.PROVINCE_CODE,
            "r": _rule_key(defaults),
            "s": _digest(state),
            "f": json.dumps(figures, ensure_ascii=False),
        },
    ).scalar_one()
    found = (figures, computed_at.isoformat())
    _remember((state, as_of, city, defaults), found)
    return found


#: A background refresh that failed is tried again by a request this many seconds later.
RETRY_SECONDS = 60.0

#: pg_try_advisory_xact_lock key: one process warms the day's figures at a time.
_WARM = 0x1A4D_F16E


def warm(engine: Engine, as_of: dt.date, defaults: IdleRule) -> int:
    """Compute and keep the figures of ``as_of`` for the province and every city where none
    are kept for the current inventory, so that the first view of the day answers at once;
    how many were computed. One process at a time: while another holds the lock, it is doing
    this very work and this one stops. Run on the long-jobs engine (the province scans every
    parcel)."""
    system = Principal(name="landmatch", role="admin")
    computed = 0
    for city in (None, *vocab.CITIES):
        with Session(engine) as session:
            if not session.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _WARM}
            ).scalar():
                return computed
            if kept_figures(session, as_of, defaults, city) is None:
                inventory_figures(session, system, as_of, defaults, city)
                computed += 1
            session.commit()
    return computed


class Answer(NamedTuple):
    """The dashboard's inventory figures as :meth:`Figures.get` answers: when they were
    computed, whether newer ones are being computed, and the day they are of (the day asked
    for, or an earlier one while the asked day's are computed)."""

    figures: dict[str, Any]
    computed_at: str
    updating: bool
    as_of: dt.date


class Figures:
    """One app's latest figures per day, city and rule, whatever inventory state they came
    from, and their refreshes: when the inventory has changed since, or the day has none yet
    (a new day before the warm-up), the dashboard answers at once with the latest figures, this
    worker's or else the last stored by any worker for the day or an earlier one (``updating``:
    true, with when they were computed and their day) while a
    background thread (on ``engine``, one at a time per worker; a request meanwhile gets the
    latest and asks again) computes the current ones. At most :data:`CACHE_ENTRIES` keys."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._latest: OrderedDict[tuple[Any, ...], tuple[dict[str, Any], str]] = OrderedDict()
        self._refreshing = False  # one refresh at a time per worker
        self._failed: dict[tuple[Any, ...], float] = {}  # key → when its refresh last failed
        self._lock = threading.Lock()

    def _keep(self, key: tuple[Any, ...], found: tuple[dict[str, Any], str]) -> None:
        with self._lock:
            self._failed.pop(key, None)  # figures came, whichever way: no need to wait
            self._latest[key] = found
            self._latest.move_to_end(key)
            while len(self._latest) > CACHE_ENTRIES:
                self._latest.popitem(last=False)

    def get(
        self,
        session: Session,
        principal: Principal,
        as_of: dt.date,
        defaults: IdleRule,
        city: str | None,
    ) -> Answer:
        """Figures, when computed, whether newer ones are being computed and their day (in
        the caller's scope)."""
        city = city_scope(principal, city)
        key = (as_of, city, defaults)
        kept = kept_figures(session, as_of, defaults, city)
        if kept is None:
            with self._lock:
                latest = self._latest.get(key)
            day = as_of
            if latest is None:
                stored = _latest_stored(session, as_of, defaults, city)
                if stored is not None:
                    latest, day = stored
            if latest is not None:
                self._refresh(key, principal)
                return Answer(*latest, True, day)
        found = kept or inventory_figures(session, principal, as_of, defaults, city)
        self._keep(key, found)
        return Answer(*found, False, as_of)

    def _refresh(self, key: tuple[Any, ...], principal: Principal) -> None:
        with self._lock:
            if self._refreshing:  # the next request asks again
                return
            failed = self._failed.get(key)
            if failed is not None and time.monotonic() - failed < RETRY_SECONDS:
                return  # not a province's scan every few seconds while it keeps failing
            self._refreshing = True

        def work() -> None:
            try:
                as_of, city, defaults = key
                with Session(self.engine) as session:
                    found = inventory_figures(session, principal, as_of, defaults, city)
                    session.commit()
                self._keep(key, found)
            except Exception:  # noqa: BLE001 - a request after RETRY_SECONDS tries again
                log.exception("refreshing the dashboard figures failed")
                now = time.monotonic()
                with self._lock:
                    self._failed = {
                        k: t for k, t in self._failed.items() if now - t < RETRY_SECONDS
                    }
                    self._failed[key] = now
            finally:
                with self._lock:
                    self._refreshing = False

        try:
            threading.Thread(target=work, name="dashboard-figures", daemon=True).start()
        except BaseException:  # no thread: the next request tries again
            with self._lock:
                self._refreshing = False
            raise


def dashboard_data(
    session: Session,
    principal: Principal,
    as_of: dt.date,
    defaults: IdleRule,
    city: str | None = None,
    figures: Figures | None = None,
) -> dict[str, Any]:
    """Every figure of the dashboard, for one city (``city``) or the whole province (None): a
    city bureau sees its own city (asking for another is refused), everyone else the city
    asked for (:func:`~landmatch.monitoring.scope.city_scope`). The inventory's figures are
    those kept for the current state (computed when none are), or, through ``figures``, the
    latest while the current ones are computed in the background."""
    city = city_scope(principal, city)
    if figures is None:
        inv, computed_at = inventory_figures(session, principal, as_of, defaults, city)
        updating, figures_as_of = False, as_of
    else:
        inv, computed_at, updating, figures_as_of = figures.get(
            session, principal, as_of, defaults, city
        )
    inv = copy.deepcopy(inv)
    return {
        "as_of": as_of.isoformat(),
        "figures_as_of": figures_as_of.isoformat(),
        "city": city,
        "city_name": vocab.CITIES.get(city) if city else "全省",
        "computed_at": computed_at,
        "updating": updating,
        "statuses": vocab.PARCEL_STATUS,
        "cities": {city: vocab.CITIES[city]} if city else vocab.CITIES,
        "area_by_city_status": inv["area_by_city_status"],
        "idle_stages": inv["idle_stages"],
        "idle_fee_total_wan": inv["idle_fee_total_wan"],
        "unsupplied_age": inv["unsupplied_age"],
        "unsupplied_bands": inv["unsupplied_bands"],
        "targets": targets.progress(session, principal, as_of, None, city)["targets"],
        "zones": inv["zones"],
        "alerts": cases.overdue(session, principal, as_of, city)[:20],
    }
