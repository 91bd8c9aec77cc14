"""parcel_fact: nearest facility per kind on the ellipsoid, containing zone, constraint hits."""

from __future__ import annotations

from sqlalchemy import text

from landmatch import vocab
from landmatch.db.facts import missing_facts, refresh_facts, refresh_missing


def test_seed_filled_the_facts(conn):
    assert missing_facts(conn) == 0


def test_distances_are_the_true_nearest_on_the_ellipsoid(conn):
    # Brute force over every facility of the kind, for a sample of parcels.
    for kind in vocab.FACILITY_KINDS:
        rows = conn.execute(text(f"""
            SELECT f.dist_{kind}_km AS got,
                   (SELECT min(ST_Distance(fc.geom::geography, p.geom::geography)) / 1000
                    FROM landmatch.facility fc WHERE fc.kind = :k) AS want
            FROM landmatch.parcel p JOIN landmatch.parcel_fact f ON f.parcel_id = p.id
            ORDER BY p.id LIMIT 40"""), {"k": kind}).all()
        has_kind = conn.execute(text("SELECT count(*) FROM landmatch.facility WHERE kind = :k"),
                                {"k": kind}).scalar_one()
        for got, want in rows:
            if not has_kind:
                assert got is None
            else:
                assert abs(got - want) < 1e-6, (kind, got, want)


def test_containing_zone_and_constraint_hits(conn, make_parcel):
    zone = conn.execute(text(
        "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        "FROM landmatch.dev_zone ORDER BY id LIMIT 1")).one()
    from tests.match.conftest import square

    pid = make_parcel(wkt=square(zone[1] - 0.0002, zone[2] - 0.0002, 0.0004, 0.0004))
    assert conn.execute(text("SELECT zone_id FROM landmatch.parcel_fact WHERE parcel_id = :p"),
                        {"p": pid}).scalar_one() == zone.id
    c = conn.execute(text(
        "SELECT code, severity, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        "FROM landmatch.constraint_area WHERE severity = 'excludes' ORDER BY code LIMIT 1")).one()
    inside = make_parcel(wkt=square(c[2] - 0.0002, c[3] - 0.0002, 0.0004, 0.0004))
    row = conn.execute(text(
        "SELECT excluded, constraint_hits FROM landmatch.parcel_fact WHERE parcel_id = :p"),
        {"p": inside}).one()
    assert row.excluded is True and c.code in [h["code"] for h in row.constraint_hits]
    clear = conn.execute(text(
        "SELECT excluded, constraint_hits FROM landmatch.parcel_fact WHERE parcel_id = :p"),
        {"p": pid}).one()
    assert clear.excluded in (True, False)  # checked: never NULL after a refresh


def test_geometry_edit_invalidates_then_refresh_restores(conn, make_parcel):
    pid = make_parcel()
    before = conn.execute(text(
        "SELECT dist_substation_km FROM landmatch.parcel_fact WHERE parcel_id = :p"),
        {"p": pid}).scalar_one()
    conn.execute(text("UPDATE landmatch.parcel SET geom = ST_Translate(geom, 0.5, 0.3) "
                      "WHERE id = :p"), {"p": pid})
    row = conn.execute(text(
        "SELECT excluded, zone_id, dist_substation_km, code FROM landmatch.parcel_fact "
        "WHERE parcel_id = :p"), {"p": pid}).one()
    assert row.excluded is None and row.dist_substation_km is None  # not checked
    assert row.code is not None  # the copied columns stay
    # An attribute edit keeps the spatial facts and updates the copy.
    other = make_parcel()
    conn.execute(text("UPDATE landmatch.parcel SET ref_price_wan_per_mu = 77, status = 'idle' "
                      "WHERE id = :p"), {"p": other})
    row = conn.execute(text(
        "SELECT excluded, ref_price_wan_per_mu, status FROM landmatch.parcel_fact "
        "WHERE parcel_id = :p"), {"p": other}).one()
    assert row.excluded is not None and float(row.ref_price_wan_per_mu) == 77
    assert row.status == "idle"
    assert missing_facts(conn) == 1
    assert refresh_missing(conn) == 1
    after = conn.execute(text(
        "SELECT dist_substation_km FROM landmatch.parcel_fact WHERE parcel_id = :p"),
        {"p": pid}).scalar_one()
    assert after is not None and abs(after - before) > 1  # moved ~50 km
    assert refresh_facts(conn, []) == 0


def test_copied_columns_match_the_parcel(conn):
    from landmatch.db.facts import COPIED

    for col in COPIED:
        src = "zone_id" if col == "parcel_zone_id" else col
        bad = conn.execute(text(
            f"SELECT count(*) FROM landmatch.parcel p JOIN landmatch.parcel_fact f "
            f"ON f.parcel_id = p.id WHERE p.{src} IS DISTINCT FROM f.{col}")).scalar_one()
        assert bad == 0, col


def test_new_parcel_is_matchable_but_unchecked_until_refreshed(conn, make_parcel):
    pid = make_parcel(facts=False)
    row = conn.execute(text(
        "SELECT status, excluded FROM landmatch.parcel_fact WHERE parcel_id = :p"),
        {"p": pid}).one()
    assert row.status == "ready" and row.excluded is None
