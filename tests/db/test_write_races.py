"""Check-then-act races, each made deterministic (``tests.locks``): a concurrent write holds its
locks, uncommitted, while the write under test starts; the test waits until that write waits for
a lock, then lets the other commit. The scope or state check must be made under the lock inside
the write, so it sees the other write's result; read before the lock, it passed on the old state
and the write went through anyway (the reviewer's lost updates)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import shapely.geometry
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.accounts import sessions, tokens, users
from landmatch.auth import Principal
from landmatch.db.locking import ANY
from landmatch.errors import Conflict, Forbidden, NotFound, UnprocessableInput
from landmatch.inventory.edits import delete_parcel, update_parcel
from landmatch.inventory.imports import ImportOptions, rollback_import, run_import
from landmatch.match import projects
from landmatch.reflayers import changes
from landmatch.zones import records
from tests.inventory.conftest import feature, geojson_bytes, square
from tests.locks import blocked_write

ADMIN = Principal(name="t-races-admin", role="admin")
BUREAU = Principal(name="t-races-bureau", role="bureau", city_code="130100")


def _tag() -> str:
    return uuid.uuid4().hex[:6].upper()


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[list[str]]:
    """SQL statements run (committed) after the test, to remove what it committed."""
    statements: list[str] = []
    yield statements
    with engine.begin() as c:
        for sql in statements:
            c.execute(text(sql))


@pytest.fixture
def removed(engine: Engine) -> Iterator[list[tuple[str, str]]]:
    """Reference features (layer, code) the test committed, deleted after it through the
    services, so that the parcels' facts and zones are brought level again (a plain DELETE
    left later tests of the shared database distances to a facility that is gone)."""
    features: list[tuple[str, str]] = []
    yield features
    with Session(engine) as s, s.begin():
        for layer, code in features:
            if layer == "dev_zone":
                if s.execute(
                    text("SELECT 1 FROM landmatch.dev_zone WHERE code = :c"), {"c": code}
                ).first():
                    records.delete_zone(s, ADMIN, code, if_match=ANY)
            elif s.execute(
                text(f"SELECT 1 FROM landmatch.{layer} WHERE code = :c"), {"c": code}
            ).first():
                changes.delete_record(s, ADMIN, layer, code, if_match=ANY)


# 1. Reference layers: a bureau's import against an admin's concurrent change of scope --------


def test_a_layer_import_checks_scope_on_the_rows_it_locks(
    engine: Engine, removed: list[tuple[str, str]]
) -> None:
    """An admin makes a 石家庄 facility province-wide while a 石家庄 bureau imports a file with
    the same code: the import waits for the admin's write and is then refused (the feature is
    no longer the bureau's), instead of overwriting it with its own name and city."""
    code = f"t-race-hub-{_tag().lower()}"
    hub = {
        "code": code,
        "name": "石家庄测试物流枢纽",
        "kind": "logistics_hub",
        "city_code": "130100",
        "geometry": shapely.geometry.Point(114.51, 38.04),
    }
    with Session(engine) as s, s.begin():
        changes.apply_changes(s, ADMIN, "facility", [hub])
    removed.append(("facility", code))
    with Session(engine) as admin:
        changes.update_record(admin, ADMIN, "facility", code, {"city_code": "130000"}, if_match=ANY)
        bureau_file = [hub | {"name": "市局文件中的名称"}]
        result = blocked_write(
            engine,
            lambda s: changes.apply_changes(s, BUREAU, "facility", bureau_file),
            admin.commit,
        )
    assert isinstance(result, Forbidden), result
    assert "全省" in str(result)
    with engine.connect() as c:
        stored = c.execute(
            text("SELECT name, city_code FROM landmatch.facility WHERE code = :c"), {"c": code}
        ).one()
    assert tuple(stored) == ("石家庄测试物流枢纽", None)


def test_a_replacing_layer_import_deletes_only_what_is_still_the_bureaus(
    engine: Engine, removed: list[tuple[str, str]]
) -> None:
    """With ``replace``, a bureau's import deletes its city's features absent from its file; an
    admin makes one of them province-wide meanwhile: the import waits for that write and then
    leaves the feature (no longer the bureau's), instead of deleting it on the old state."""
    tag = _tag().lower()
    kept, absent = f"t-race-keep-{tag}", f"t-race-gone-{tag}"
    hubs = [
        {
            "code": c,
            "name": f"测试物流枢纽{c}",
            "kind": "logistics_hub",
            "city_code": "130100",
            "geometry": shapely.geometry.Point(114.51 + 0.01 * i, 38.04),
        }
        for i, c in enumerate((kept, absent))
    ]
    removed.extend([("facility", kept), ("facility", absent)])
    with Session(engine) as s, s.begin():
        changes.apply_changes(s, ADMIN, "facility", hubs)
    # The bureau's file: its city's features exactly as stored (unchanged), without ``absent``.
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT code, name, kind, city_code, source, ST_AsBinary(geom) AS wkb "
                "FROM landmatch.facility WHERE city_code = '130100' AND code <> :a"
            ),
            {"a": absent},
        ).mappings()
        current = [
            {k: r[k] for k in changes.FIELDS["facility"]}
            | {"geometry": shapely.from_wkb(bytes(r["wkb"]))}
            for r in rows
        ]
    with Session(engine) as admin:
        changes.update_record(
            admin, ADMIN, "facility", absent, {"city_code": "130000"}, if_match=ANY
        )
        result = blocked_write(
            engine,
            lambda s: changes.apply_changes(s, BUREAU, "facility", current, replace=True),
            admin.commit,
        )
    assert not isinstance(result, BaseException), result
    assert result.deleted == [] and result.updated == []
    with engine.connect() as c:
        stored = c.execute(
            text("SELECT city_code FROM landmatch.facility WHERE code = :c"), {"c": absent}
        ).one()
    assert stored[0] is None


# 2. Zones: two boundaries written at once over the same ground ---------------------------------


def _zone(code: str, dx: float) -> tuple[dict[str, Any], Any]:
    x, y, d = 114.70902 + dx, 38.12773, 0.01
    values = {
        "code": code,
        "name": f"测试开发区{code}",
        "city_code": "130100",
        "level": "provincial",
        "kind": vocab.ZONE_KINDS[0],
    }
    return values, shapely.geometry.box(x, y, x + d, y + d)


def test_zones_created_at_once_over_the_same_ground_do_not_both_pass(
    engine: Engine, removed: list[tuple[str, str]]
) -> None:
    """A zone is created while another, overlapping it, is being created: the second waits for
    the first's commit (the zone-geometry lock) and is refused as overlapping, instead of
    checking against the committed zones only and storing both."""
    tag = _tag().lower()
    first, second = f"t-race-za-{tag}", f"t-race-zb-{tag}"
    removed.extend([("dev_zone", first), ("dev_zone", second)])
    with Session(engine) as other:
        records.create_zone(other, ADMIN, *_zone(first, 0.0))
        result = blocked_write(
            engine, lambda s: records.create_zone(s, BUREAU, *_zone(second, 0.004)), other.commit
        )
    assert isinstance(result, UnprocessableInput), result
    assert first in str(result) and "重叠" in str(result)
    with engine.connect() as c:
        stored = c.execute(
            text("SELECT code FROM landmatch.dev_zone WHERE code IN (:a, :b)"),
            {"a": first, "b": second},
        )
        assert stored.scalars().all() == [first]


def test_a_zone_reshaped_onto_one_being_created_is_refused(
    engine: Engine, removed: list[tuple[str, str]]
) -> None:
    """The same for a new boundary of an existing zone (update_zone, as the boundary file, the
    CLI and the workbench write it)."""
    tag = _tag().lower()
    first, moved = f"t-race-zc-{tag}", f"t-race-zd-{tag}"
    removed.extend([("dev_zone", first), ("dev_zone", moved)])
    with Session(engine) as s, s.begin():
        records.create_zone(s, ADMIN, *_zone(moved, 0.03))  # clear of the first
    with Session(engine) as other:
        records.create_zone(other, ADMIN, *_zone(first, 0.0))
        _, onto = _zone(moved, 0.004)
        result = blocked_write(
            engine,
            lambda s: records.update_zone(s, ADMIN, moved, {}, onto, if_match=ANY),
            other.commit,
        )
    assert isinstance(result, UnprocessableInput), result
    assert first in str(result)


# 3 and 4. A parcel reserved while it is deleted, or while its import is rolled back -----------


@pytest.fixture
def imported(engine: Engine, cleanup: list[str]) -> dict[str, Any]:
    """A new parcel committed by an import of its own, and a project to hold it for."""
    code = f"T-RACE-R-{_tag()}"
    x = 114.20 + (uuid.uuid4().int % 200) * 0.003  # a quiet corner of 石家庄
    data = geojson_bytes(feature(code, square(x, 38.31, 0.001), visibility="internal"))
    with engine.begin() as c:
        report = run_import(c, data, "race.geojson", ADMIN, ImportOptions())
    with Session(engine) as s, s.begin():
        project = projects.create_project(
            s,
            ADMIN,
            projects.ProjectIn.model_validate(
                {
                    "name": "并发预留测试",
                    "requirement": {"industry": "C39", "area_mu_min": 1, "area_mu_max": 500},
                    "team": "t-race",
                }
            ),
        )
    cleanup.extend(
        [
            f"DELETE FROM landmatch.reservation WHERE project_id = {int(project['id'])}",
            f"DELETE FROM landmatch.project WHERE id = {int(project['id'])}",
            f"DELETE FROM landmatch.parcel_dirty WHERE parcel_id IN "
            f"(SELECT id FROM landmatch.parcel WHERE code = '{code}')",
            f"DELETE FROM landmatch.parcel WHERE code = '{code}'",
            f"DELETE FROM landmatch.parcel_version WHERE code = '{code}'",
            f"DELETE FROM landmatch.import_batch WHERE id = {int(report['import_id'])}",
        ]
    )
    return {"code": code, "project": int(project["id"]), "import_id": int(report["import_id"])}


def _holds(engine: Engine, code: str) -> int:
    with engine.connect() as c:
        return int(
            c.execute(
                text(
                    "SELECT count(*) FROM landmatch.reservation r JOIN landmatch.parcel p "
                    "ON p.id = r.parcel_id WHERE p.code = :c"
                ),
                {"c": code},
            ).scalar_one()
        )


@pytest.mark.parametrize("change", ["delete", "withdraw"])
def test_a_parcel_deleted_or_withdrawn_while_it_is_reserved_is_not_held(
    engine: Engine, imported: dict[str, Any], change: str
) -> None:
    """The parcel is deleted (or withdrawn) while a hold on it is being made (the changing
    transaction also holds the project, as a slow write of it would): the hold waits for the
    change and answers 404 (409), instead of holding a deleted (withdrawn) parcel."""
    code, pid = imported["code"], imported["project"]
    with Session(engine) as other:
        if change == "delete":
            delete_parcel(other, code, ANY, ADMIN)
        else:
            update_parcel(other, code, {"status": "withdrawn"}, ANY, ADMIN)
        other.execute(text("SELECT 1 FROM landmatch.project WHERE id = :i FOR UPDATE"), {"i": pid})
        body = projects.ReservationIn(parcel_code=code, project_id=pid)
        result = blocked_write(engine, lambda s: projects.reserve(s, ADMIN, body), other.commit)
    assert isinstance(result, NotFound if change == "delete" else Conflict), result
    assert _holds(engine, code) == 0


def test_a_rollback_does_not_delete_a_hold_made_while_it_ran(
    engine: Engine, imported: dict[str, Any]
) -> None:
    """A hold (any row whose foreign key names the parcel: it takes the key-share lock only) is
    written while the import that created the parcel is rolled back: the rollback waits for it
    and refuses, instead of deleting the parcel and, by the cascade, the hold."""
    code, pid = imported["code"], imported["project"]
    with Session(engine) as other:
        other.execute(
            text(
                "INSERT INTO landmatch.reservation (parcel_id, project_id, reserved_by, "
                "owner_team) SELECT id, :pr, 't-race', 't-race' FROM landmatch.parcel "
                "WHERE code = :c"
            ),
            {"pr": pid, "c": code},
        )
        result = blocked_write(
            engine,
            lambda s: rollback_import(s.connection(), imported["import_id"], ADMIN),
            other.commit,
        )
    assert isinstance(result, Conflict), result
    assert code in str(result) and "预留" in str(result)
    assert _holds(engine, code) == 1


# 5. Accounts: two admins demoting each other at the same moment -------------------------------


@pytest.fixture
def two_admins(engine: Engine, cleanup: list[str]) -> list[users.Account]:
    names = [f"t-race-adm{i}-{_tag().lower()}" for i in (1, 2)]
    with Session(engine) as s, s.begin():
        for n in names:
            users.add_user(s, n, "admin")
    cleanup.append("DELETE FROM landmatch.app_user WHERE name IN ('" + "', '".join(names) + "')")
    with Session(engine) as s:
        return [users.get(s, n) for n in names]


def test_two_admins_demoting_each_other_at_once_do_not_both_succeed(
    engine: Engine, two_admins: list[users.Account]
) -> None:
    """The second admin demotes the first while the first demotes the second (its request
    signed in as admin; the second's write holds both accounts): the first's write waits, then
    finds its caller no longer an admin and is refused (403), so one admin is left."""
    a1, a2 = two_admins

    def demote(name: str) -> users.AccountSpec:
        return users.AccountSpec(name, "promoter", None, None, "t-race")

    with Session(engine) as other:
        users.update(other, a1.name, demote(a1.name), a2.principal(), if_match=ANY)
        other.execute(
            text("SELECT 1 FROM landmatch.app_user WHERE id = :i FOR UPDATE"), {"i": a2.id}
        )
        result = blocked_write(
            engine,
            lambda s: users.update(s, a2.name, demote(a2.name), a1.principal(), if_match=ANY),
            other.commit,
        )
    assert isinstance(result, Forbidden), result
    with Session(engine) as s:
        assert users.get(s, a1.name).role == "promoter"
        assert users.get(s, a2.name).role == "admin"


def test_an_admin_demoted_meanwhile_makes_no_token_for_another_account(
    engine: Engine, two_admins: list[users.Account]
) -> None:
    """The second admin demotes the first while the first makes a token for the second's
    account (its request signed in as admin): the token write waits for the demotion, then
    finds its caller no longer an admin and is refused (403), no token made; the same for a
    revocation. Before, the role the request was signed in with was all that was checked."""
    a1, a2 = two_admins

    def demote_a1(other: Session) -> None:
        spec = users.AccountSpec(a1.name, "promoter", None, None, "t-race")
        users.update(other, a1.name, spec, a2.principal(), if_match=ANY)

    with Session(engine) as s, s.begin():
        kept, _ = tokens.create(s, a2.id, a2.principal(), name="t-race-kept")
        before = [t.id for t in tokens.of_user(s, a2.id, a2.principal())]
    with Session(engine) as other:
        demote_a1(other)
        made = blocked_write(
            engine, lambda s: tokens.create(s, a2.id, a1.principal(), name="t-race"), other.commit
        )
    assert isinstance(made, Forbidden), made
    with Session(engine) as s:
        assert [t.id for t in tokens.of_user(s, a2.id, a2.principal())] == before
        # Refused outright now that the demotion is committed (revocation included).
        with pytest.raises(Forbidden):
            tokens.revoke(s, kept.id, a1.principal())


def test_an_admin_demoted_meanwhile_ends_no_session_of_another_account(
    engine: Engine, two_admins: list[users.Account]
) -> None:
    """The second admin demotes the first while the first ends the second's sign-in session
    (its request signed in as admin): the revocation waits for the demotion, then finds its
    caller no longer an admin and is refused (403), the session left live, as a token's
    revocation is. Before, the role the request was signed in with was all that was checked."""
    a1, a2 = two_admins
    with Session(engine) as s, s.begin():
        sid = s.execute(
            text(
                "INSERT INTO landmatch.user_session (user_id, token_hash, csrf_token, expires_at) "
                "VALUES (:u, :h, :c, now() + interval '1 hour') RETURNING id"
            ),
            {"u": a2.id, "h": tokens.hash_token(uuid.uuid4().hex), "c": uuid.uuid4().hex},
        ).scalar_one()

    def live(s: Session) -> bool:
        return s.execute(
            text("SELECT revoked_at IS NULL FROM landmatch.user_session WHERE id = :i"),
            {"i": sid},
        ).scalar_one()

    with Session(engine) as other:
        spec = users.AccountSpec(a1.name, "promoter", None, None, "t-race")
        users.update(other, a1.name, spec, a2.principal(), if_match=ANY)
        ended = blocked_write(
            engine, lambda s: sessions.revoke(s, sid, a1.principal()), other.commit
        )
    assert isinstance(ended, Forbidden), ended
    with Session(engine) as s:
        assert live(s)
        with pytest.raises(Forbidden):  # refused outright now that the demotion is committed
            sessions.revoke(s, sid, a1.principal())
        assert live(s)


def test_the_last_active_admin_is_neither_demoted_nor_disabled(session: Session) -> None:
    """With one active admin left, neither the CLI's operator (an account-less caller, the only
    one that is not itself that admin) nor anyone demotes or disables it."""
    users.add_user(session, "t-last-admin", "admin")
    session.execute(
        text(
            "UPDATE landmatch.app_user SET active = false "
            "WHERE role = 'admin' AND name <> 't-last-admin'"
        )
    )
    spec = users.AccountSpec("t-last-admin", "promoter", None, None, "t")
    with pytest.raises(Conflict, match="最后一个有效的管理员"):
        users.update(session, "t-last-admin", spec, users.SYSTEM, if_match=ANY)
    with pytest.raises(Conflict, match="最后一个有效的管理员"):
        users.set_active(session, "t-last-admin", False, users.SYSTEM)
    users.add_user(session, "t-second-admin", "admin")
    assert users.set_active(session, "t-last-admin", False, users.SYSTEM).active is False


def test_the_last_two_admins_cannot_both_be_taken_away_at_once(
    engine: Engine, two_admins: list[users.Account]
) -> None:
    """With the two test admins the only active ones, the first is demoted while the second is
    being disabled (both by the CLI's operator): the disabling waits for the demotion, then
    finds the second the last active admin and is refused, instead of each write counting the
    other admin and leaving none."""
    a1, a2 = two_admins
    with engine.begin() as c:
        others = (
            c.execute(
                text(
                    "UPDATE landmatch.app_user SET active = false WHERE role = 'admin' AND active "
                    "AND id NOT IN (:a, :b) RETURNING id"
                ),
                {"a": a1.id, "b": a2.id},
            )
            .scalars()
            .all()
        )
    try:
        with Session(engine) as other:
            demote = users.AccountSpec(a1.name, "promoter", None, None, "t-race")
            users.update(other, a1.name, demote, users.SYSTEM, if_match=ANY)
            result = blocked_write(
                engine, lambda s: users.set_active(s, a2.name, False, users.SYSTEM), other.commit
            )
        assert isinstance(result, Conflict), result
        assert "最后一个有效的管理员" in str(result)
        with Session(engine) as s:
            assert users.get(s, a2.name).active
    finally:
        with engine.begin() as c:
            c.execute(
                text("UPDATE landmatch.app_user SET active = true WHERE id = ANY(:i)"),
                {"i": list(others)},
            )
