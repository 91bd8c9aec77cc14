"""The demo inventory: geography, coherence and determinism."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from landmatch.seed import parcels as gen
from landmatch.seed.run import DEMO_AS_OF


def test_every_seeded_parcel_lies_inside_its_city(conn: Connection) -> None:
    outside = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel p JOIN landmatch.admin_division a "
            "ON a.code = p.city_code WHERE NOT ST_Within(p.geom, a.geom)"
        )
    ).scalar()
    orphans = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel p LEFT JOIN landmatch.admin_division a "
            "ON a.code = p.city_code WHERE a.code IS NULL"
        )
    ).scalar()
    assert conn.execute(text("SELECT count(*) FROM landmatch.parcel")).scalar_one() >= 3000
    assert (outside, orphans) == (0, 0)


def test_no_two_seeded_parcels_overlap(conn: Connection) -> None:
    overlaps = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel a JOIN landmatch.parcel b "
            "ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)"
        )
    ).scalar()
    assert overlaps == 0


def test_statuses_areas_and_zones_are_mixed(conn: Connection) -> None:
    by_status: dict[str, int] = dict(
        conn.execute(text("SELECT status, count(*) FROM landmatch.parcel GROUP BY 1")).all()
    )
    # The demo disposal cases (landmatch.seed.monitoring) withdraw a few approvals.
    assert {"ready", "unsupplied", "idle", "supplied"} <= set(by_status)
    assert set(by_status) <= {"ready", "unsupplied", "idle", "supplied", "withdrawn"}
    lo, hi, in_zone = conn.execute(
        text("SELECT min(area_m2), max(area_m2), count(zone_id) FROM landmatch.parcel")
    ).one()
    assert lo >= 5 * 10000 / 15 and hi <= 505 * 10000 / 15
    assert in_zone > 0
    cities = conn.execute(text("SELECT count(DISTINCT city_code) FROM landmatch.parcel")).scalar()
    assert cities == 13


def test_idle_land_is_more_than_a_year_past_its_start_date(conn: Connection) -> None:
    bad = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel WHERE status = 'idle' AND "
            "(agreed_start_date IS NULL OR agreed_start_date > :d - 365)"
        ),
        {"d": DEMO_AS_OF},
    ).scalar()
    assert bad == 0
    no_contract = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel WHERE status IN ('idle', 'supplied') "
            "AND contract_date IS NULL"
        )
    ).scalar()
    assert no_contract == 0


def test_lease_years_within_the_ceiling_of_each_use(conn: Connection) -> None:
    """The demo passes the inventory's own rule (docs/domain.md §10: 商业 40 years)."""
    from landmatch.inventory.land_use import lease_ceiling

    longest: dict[str, int | None] = dict(
        conn.execute(
            text("SELECT land_use, max(lease_years) FROM landmatch.parcel GROUP BY 1")
        ).all()
    )
    assert "0901" in longest
    over = {u: y for u, y in longest.items() if y is not None and y > lease_ceiling(u).years}  # type: ignore[union-attr]
    assert over == {}


def test_prices_and_indicators_vary_by_city(conn: Connection) -> None:
    rows = conn.execute(
        text(
            "SELECT city_code, avg(ref_price_wan_per_mu), avg(invest_intensity_min) "
            "FROM landmatch.parcel GROUP BY 1"
        )
    ).all()
    prices = {r[0]: float(r[1]) for r in rows}
    assert prices["131000"] > 1.8 * prices["130700"]  # 廊坊 near Beijing vs 张家口


def test_plan_policies_are_seeded_with_the_plans_numbers(conn: Connection) -> None:
    rate, cap = conn.execute(
        text(
            "SELECT benefit_rate, benefit_cap_wan FROM landmatch.policy "
            "WHERE code = 'hb2024-rd-post-subsidy'"
        )
    ).one()
    assert (float(rate), float(cap)) == (0.10, 100.0)
    rate, cap = conn.execute(
        text(
            "SELECT benefit_rate, benefit_cap_wan FROM landmatch.policy "
            "WHERE code = 'hb2024-equipment-subsidy'"
        )
    ).one()
    assert (float(rate), float(cap)) == (0.20, 500.0)
    kinds = set(conn.execute(text("SELECT scope_level FROM landmatch.policy")).scalars())
    assert kinds == {"province", "city", "zone"}


def test_constraints_and_facilities_are_loaded(conn: Connection) -> None:
    kinds = set(conn.execute(text("SELECT kind FROM landmatch.constraint_area")).scalars())
    assert {"eco_redline", "water_source"} <= kinds
    fac: dict[str, int] = dict(
        conn.execute(text("SELECT kind, count(*) FROM landmatch.facility GROUP BY 1")).all()
    )
    assert fac["port"] >= 3 and fac["airport"] >= 5


def _frame(seed: int) -> pd.DataFrame:
    import shapely

    from landmatch.layers import read_layer

    gdf = read_layer("admin_divisions")
    counties = [
        gen.County(r.code, r.name, r.parent_code, r.geometry)
        for r in gdf.itertuples()
        if r.level == "county" and r.code.startswith("1301")
    ]
    rng = np.random.default_rng(seed)
    df = gen.place_parcels(300, counties, [], rng)
    df = gen.fill_attributes(df, [], rng, dt.date(2026, 11, 1))
    return df.assign(wkb=shapely.to_wkb(df["geometry"].to_numpy(), hex=True)).drop(
        columns="geometry"
    )


def test_the_generator_is_deterministic() -> None:
    a, b, c = _frame(5), _frame(5), _frame(6)
    assert a.to_json() == b.to_json()
    assert a.to_json() != c.to_json()


def test_seeded_dates_follow_approval_supply_start(conn: Connection) -> None:
    bad = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel WHERE "
            "(supply_date < approval_date) OR (contract_date < approval_date) "
            "OR (actual_start_date < contract_date) OR (stopped_since < actual_start_date)"
        )
    ).scalar()
    assert bad == 0
