"""Demo monitoring data: approval batches around seeded parcels, city targets for the year,
and a few disposal cases at different points of their procedure (some overdue, a few closed).

Batches: parcels sharing an ``approval_batch`` name that hold at least one unsupplied and one
supplied parcel become a stored batch whose polygon is the union of its member parcels — it
contains them exactly, so approved − supplied geometry equals the members not yet supplied.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.geometry import normalised_sql
from landmatch.db.locking import ANY
from landmatch.monitoring import cases

SEED_ACTOR = Principal(name="seed", role="admin")
DEMO_SOURCE = "演示数据：按存量比例生成，非正式下达任务"


@dataclass
class MonitoringSeed:
    batches: int
    targets: int
    cases: int


def seed_batches(conn: Connection, limit: int = 12) -> int:
    return conn.execute(
        text(f"""
        WITH pick AS (
          SELECT approval_batch AS name
            FROM landmatch.parcel
           WHERE deleted_at IS NULL AND approval_batch IS NOT NULL AND status <> 'withdrawn'
           GROUP BY approval_batch
          HAVING bool_or(status = 'unsupplied') AND bool_or(status IN ('supplied', 'idle'))
             AND count(DISTINCT city_code) = 1
           ORDER BY count(*) DESC, approval_batch
           LIMIT :limit
        ), g AS (  -- the union only for the picked batches, not for every batch
          SELECT approval_batch AS name, min(approval_date) AS approval_date,
                 min(approval_doc_no) AS doc_no, min(city_code) AS city_code,
                 min(county_code) AS county_code, count(*) AS n,
                 {normalised_sql("ST_Multi(ST_Union(geom))")} AS geom
            FROM landmatch.parcel
           WHERE deleted_at IS NULL AND status <> 'withdrawn'
             AND approval_batch IN (SELECT name FROM pick)
           GROUP BY approval_batch)
        INSERT INTO landmatch.approval_batch (code, name, doc_no, approval_date, city_code,
                                              county_code, source, geom)
        SELECT 'PC-' || county_code || '-' || row_number() OVER (ORDER BY name), name, doc_no,
               approval_date, city_code, county_code,
               '演示数据：由同批次地块合并生成的批次范围', geom
          FROM g"""),
        {"limit": limit},
    ).rowcount


def seed_targets(conn: Connection, as_of: dt.date) -> int:
    """Per city: 20 % of the unsupplied stock older than two years, 30 % of the idle stock."""
    return conn.execute(
        text("""
        INSERT INTO landmatch.disposal_target (city_code, year, kind, target_area_m2, deadline, source)
        SELECT city_code, :y, kind, round(area * share), make_date(:y, 9, 30), :src FROM (
          SELECT city_code, 'unsupplied' AS kind, 0.2 AS share, sum(area_m2) AS area
            FROM landmatch.parcel WHERE deleted_at IS NULL AND status = 'unsupplied'
             AND approval_date <= CAST(CAST(:as_of AS date) - interval '2 years' AS date)
           GROUP BY city_code
          UNION ALL
          SELECT city_code, 'idle', 0.3, sum(area_m2)
            FROM landmatch.parcel WHERE deleted_at IS NULL AND status = 'idle' GROUP BY city_code
        ) s WHERE area > 0 AND city_code = ANY(:cities)"""),
        {"y": as_of.year, "as_of": as_of, "src": DEMO_SOURCE, "cities": list(vocab.CITIES)},
    ).rowcount


def seed_cases(conn: Connection, as_of: dt.date, fee_rate: float = 0.20) -> int:
    """Two idle and one unsupplied parcel per city get a case; the procedure has advanced
    differently for each, some decisions made this year so targets show progress."""
    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    picks = conn.execute(
        text("""
        SELECT code, status, rn FROM (
          SELECT code, status, city_code,
                 row_number() OVER (PARTITION BY city_code, status ORDER BY area_m2 DESC) AS rn
            FROM landmatch.parcel WHERE deleted_at IS NULL AND status IN ('idle', 'unsupplied')
        ) s WHERE (status = 'idle' AND rn <= 2) OR (status = 'unsupplied' AND rn <= 1)
        ORDER BY city_code, status, rn""")
    ).all()
    n = 0
    year_start = dt.date(as_of.year, 1, 1)
    for i, (code, _status, _rn) in enumerate(picks):
        plan = i % 4
        opened = year_start + dt.timedelta(days=20 + 13 * i % 120)
        c = cases.open_case(
            session, SEED_ACTOR, code, opened_on=opened, fee_rate=fee_rate, note="演示案件"
        )
        n += 1
        day = opened
        steps = [s["kind"] for s in c["steps"] if s["kind"] != "decision"]
        todo = steps if plan in (0, 1) else steps[: plan - 1]
        for k in todo:
            day = day + dt.timedelta(days=12)
            cases.complete_step(session, SEED_ACTOR, c["id"], k, done_on=day, if_match=ANY)
        decided = day + dt.timedelta(days=20)
        if plan in (0, 1) and decided < as_of:
            # A decision the parcel's stage allows on the day (Order 53), a recovery first.
            prefer = ("recovery", "negotiated_recovery", "fee", "supply", "withdraw")
            if plan == 1:
                prefer = ("negotiated_recovery", "recovery", "fee", "withdraw", "supply")
            _stage, allowed = cases.decisions_allowed(
                session, SEED_ACTOR, c["id"], decided, fee_rate
            )
            decision = next((d for d in prefer if d in allowed), None)
            if decision is None:  # not idle yet on the day: the case waits for its decision
                continue
            cases.decide(
                session,
                SEED_ACTOR,
                c["id"],
                decision,
                decided_on=decided,
                fee_rate=fee_rate,
                doc_no=f"演示处置决定〔{as_of.year}〕{i + 1}号",
                if_match=ANY,
            )
    session.flush()
    return n


def seed_monitoring(conn: Connection, as_of: dt.date) -> MonitoringSeed:
    b = seed_batches(conn)
    t = seed_targets(conn, as_of)
    c = seed_cases(conn, as_of)
    return MonitoringSeed(batches=b, targets=t, cases=c)


def reset_monitoring(conn: Connection) -> None:
    conn.execute(
        text(
            "TRUNCATE landmatch.disposal_step, landmatch.disposal_case, "
            "landmatch.disposal_target, landmatch.approval_batch RESTART IDENTITY"
        )
    )
