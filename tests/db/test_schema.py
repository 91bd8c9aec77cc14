"""The schema against real PostGIS: constraints, derived geometry, history, data versions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from landmatch.db.engine import audited

SQUARE = "ST_Multi(ST_MakeEnvelope(114.5091900, 38.0394600, 114.5103300, 38.0403600, 4490))"


def _insert(
    conn: Connection, code: str = "T-0001", status: str = "ready", **extra: object
) -> tuple[Any, ...]:
    cols = {
        "code": code,
        "name": "测试地块",
        "city_code": "130100",
        "status": status,
        "land_use": "100102",
        **extra,
    }
    names = ", ".join(cols)
    values = ", ".join(f":{k}" for k in cols)
    return conn.execute(
        text(
            f"INSERT INTO landmatch.parcel ({names}, geom) VALUES ({values}, {SQUARE}) "
            "RETURNING id, area_m2, ST_SRID(geom_3857), ST_SRID(geom)"
        ),
        cols,
    ).one()


def test_area_is_ellipsoidal_and_web_mercator_copy_is_kept(conn: Connection) -> None:
    _pid, area, srid3857, srid = _insert(conn)
    assert srid == 4490 and srid3857 == 3857
    # The same polygon measured independently on the GRS80 ellipsoid with pyproj.
    from shapely.geometry import box

    from landmatch.geo.measure import area_m2

    expected = area_m2(box(114.50919, 38.03946, 114.51033, 38.04036))
    assert area == pytest.approx(expected, rel=1e-6)
    planar_3857 = conn.execute(text(f"SELECT ST_Area(ST_Transform({SQUARE}, 3857))")).scalar()
    assert abs(planar_3857 - area) / area > 0.5  # Web Mercator would be ~1.6x off here


@pytest.mark.parametrize(
    "column,value",
    [
        ("status", "sold"),
        ("visibility", "secret"),
        ("land_use", "999999"),
        ("supply_modes", ["auction", "barter"]),
        ("readiness", ["wifi"]),
        ("code", "bad code!"),
    ],
)
def test_enumerations_are_constrained_in_the_database(
    conn: Connection, column: str, value: str | list[str]
) -> None:
    with pytest.raises(IntegrityError), conn.begin_nested():
        bad: dict[str, Any] = {column: value}
        _insert(conn, **bad)


def test_parcel_codes_are_unique(conn: Connection) -> None:
    _insert(conn, code="T-DUP")
    with pytest.raises(IntegrityError), conn.begin_nested():
        _insert(conn, code="T-DUP")


def test_dates_must_be_coherent(conn: Connection) -> None:
    with pytest.raises(IntegrityError), conn.begin_nested():
        _insert(conn, contract_date="2024-05-01", agreed_start_date="2024-01-01")


def test_every_write_leaves_a_version_with_who_and_why(session: Session) -> None:
    with audited(session, "王工", "新增熟地"):
        pid = _insert(session.connection())[0]
    with audited(session, "李工", "更新电力容量"):
        session.execute(
            text("UPDATE landmatch.parcel SET power_kva = 2500, name = '改名' WHERE id = :id"),
            {"id": pid},
        )
    with audited(session, "李工", "撤下"):
        session.execute(
            text("UPDATE landmatch.parcel SET deleted_at = now() WHERE id = :id"), {"id": pid}
        )
    rows = session.execute(
        text(
            "SELECT version, op, actor, reason, changed, row->>'power_kva' FROM "
            "landmatch.parcel_version_full WHERE parcel_id = :id ORDER BY id"
        ),
        {"id": pid},
    ).all()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (1, "insert", "王工", "新增熟地"),
        (2, "update", "李工", "更新电力容量"),
        (3, "delete", "李工", "撤下"),
    ]
    assert rows[1][4] == ["name", "power_kva"]
    assert float(rows[1][5]) == 2500
    assert rows[2][4] == ["deleted_at"]


def test_each_state_is_stored_once_current_in_parcel_superseded_in_versions(
    session: Session,
) -> None:
    pid = _insert(session.connection(), code="T-STATES", power_kva=100)[0]
    for kva in (200, 300):
        session.execute(
            text("UPDATE landmatch.parcel SET power_kva = :k WHERE id = :id"), {"k": kva, "id": pid}
        )
    raw = session.execute(
        text(
            "SELECT version, row->>'power_kva', geom IS NOT NULL FROM landmatch.parcel_version "
            "WHERE parcel_id = :id ORDER BY version"
        ),
        {"id": pid},
    ).all()
    # The superseded versions hold their states; the current one is the parcel row itself.
    assert [(v, k, g) for v, k, g in raw] == [(1, "100", True), (2, "200", True), (3, None, False)]
    full = session.execute(
        text(
            "SELECT version, (row->>'power_kva')::float, ST_Equals(geom, (SELECT geom FROM "
            "landmatch.parcel WHERE id = :id)) FROM landmatch.parcel_version_full "
            "WHERE parcel_id = :id ORDER BY version"
        ),
        {"id": pid},
    ).all()
    assert [tuple(r) for r in full] == [(1, 100.0, True), (2, 200.0, True), (3, 300.0, True)]
    current = session.execute(
        text(
            "SELECT v.row = to_jsonb(p) - 'geom' - 'geom_3857' FROM landmatch.parcel_version_full v "
            "JOIN landmatch.parcel p ON p.id = v.parcel_id WHERE v.parcel_id = :id AND v.version = 3"
        ),
        {"id": pid},
    ).scalar()
    assert current is True


def test_hard_delete_is_kept_in_history(session: Session) -> None:
    pid = _insert(session.connection(), code="T-GONE")[0]
    session.execute(text("DELETE FROM landmatch.parcel WHERE id = :id"), {"id": pid})
    op, geom_ok = session.execute(
        text(
            "SELECT op, geom IS NOT NULL FROM landmatch.parcel_version WHERE parcel_id = :id "
            "ORDER BY id DESC LIMIT 1"
        ),
        {"id": pid},
    ).one()
    assert (op, geom_ok) == ("delete", True)


def test_writes_bump_the_data_version(conn: Connection) -> None:
    before = conn.execute(
        text("SELECT version FROM landmatch.data_state WHERE name = 'parcel'")
    ).scalar_one()
    _insert(conn, code="T-BUMP")
    after = conn.execute(
        text("SELECT version FROM landmatch.data_state WHERE name = 'parcel'")
    ).scalar()
    assert after == before + 1


def test_spatial_indexes_exist(conn: Connection) -> None:
    names = set(
        conn.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'landmatch' "
                "AND indexdef ILIKE '%USING gist%'"
            )
        ).scalars()
    )
    assert {
        "ix_parcel_geom",
        "ix_dev_zone_geom",
        "ix_admin_division_geom",
    } <= names
