"""One schema source: the migrated database is what ``db/tables.py``, ``vocab.py`` and
``db/sql/definitions.sql`` say it is, and the migrations run down and up again."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.sql.naming import conv

from landmatch import vocab
from landmatch.db import definitions
from landmatch.db.engine import MIGRATIONS, alembic_config, upgrade
from landmatch.db.tables import EXPORT_JOB_STATES, IMPORT_JOB_STATES, SCHEMA, Base
from landmatch.monitoring import terms
from landmatch.settings import Settings

# Every CHECK that lists codes, with the vocabulary it must hold exactly.
VOCABULARY_CHECKS: dict[tuple[str, str], Mapping[str, object] | tuple[str, ...]] = {
    ("admin_division", "ck_admin_division_level"): vocab.ADMIN_LEVELS,
    ("app_user", "ck_app_user_role"): vocab.ROLES,
    ("basemap_water", "ck_basemap_water_kind"): vocab.BASEMAP_WATER_KINDS,
    ("constraint_area", "ck_constraint_area_city_code"): vocab.CITIES,
    ("constraint_area", "ck_constraint_area_kind"): vocab.CONSTRAINT_KINDS,
    ("constraint_area", "ck_constraint_area_severity"): vocab.CONSTRAINT_SEVERITY,
    ("constraint_coverage", "ck_constraint_coverage_city_code"): vocab.CITIES,
    ("constraint_coverage", "ck_constraint_coverage_kind"): vocab.CONSTRAINT_KINDS,
    ("dev_zone", "ck_dev_zone_kind"): vocab.ZONE_KINDS,
    ("dev_zone", "ck_dev_zone_level"): vocab.ZONE_LEVELS,
    ("disposal_case", "disposal_case_decision_check"): terms.DECISIONS,
    ("disposal_case", "disposal_case_kind_check"): terms.CASE_KINDS,
    ("disposal_case", "disposal_case_status_check"): terms.CASE_STATUS,
    ("disposal_step", "disposal_step_kind_check"): terms.STEP_KINDS,
    ("disposal_target", "disposal_target_kind_check"): terms.CASE_KINDS,
    ("export_job", "ck_export_job_state"): EXPORT_JOB_STATES,
    ("facility", "ck_facility_city_code"): vocab.CITIES,
    ("facility", "ck_facility_kind"): vocab.FACILITY_KINDS,
    ("import_batch", "ck_import_batch_status"): ("committed", "rolled_back", "seed"),
    ("import_job", "ck_import_job_state"): IMPORT_JOB_STATES,
    ("inquiry", "ck_inquiry_status"): vocab.INQUIRY_STATUS,
    ("layer_alert", "ck_layer_alert_op"): ("insert", "update", "delete"),
    ("parcel", "ck_parcel_checklist"): vocab.READY_CHECKLIST,
    ("parcel", "ck_parcel_city_code"): vocab.CITIES,
    ("parcel", "ck_parcel_land_use"): vocab.PARCEL_LAND_USE,
    ("parcel", "ck_parcel_readiness"): vocab.READINESS,
    ("parcel", "ck_parcel_status"): vocab.PARCEL_STATUS,
    ("parcel", "ck_parcel_supply_modes"): vocab.SUPPLY_MODES,
    ("parcel", "ck_parcel_visibility"): vocab.VISIBILITY,
    ("parcel_version", "ck_parcel_version_op"): ("insert", "update", "delete", "restore"),
    ("policy", "ck_policy_benefit_kind"): vocab.BENEFIT_KINDS,
    ("policy", "ck_policy_scope_level"): vocab.POLICY_SCOPES,
    ("policy", "ck_policy_visibility"): vocab.VISIBILITY,
    ("project", "ck_project_pipeline"): vocab.PROJECT_PIPELINE,
    ("project_event", "ck_project_event_ck_project_event_kind"): ("stage", "note", "next_step"),
}
# Checks that compare with literals but are rules between columns, not a vocabulary.
RULE_CHECKS = {
    ("app_user", "ck_app_user_zone_scope"),
    ("disposal_case", "ck_disposal_case_closed"),
    ("disposal_case", "ck_disposal_case_decision_kind"),
    ("parcel", "ck_parcel_pending_use"),
}
# Migrations whose file was renumbered to sort in chain order keep their revision id (databases
# record it); every other migration's revision id is its file name.
HISTORICAL_IDS = {
    "0001_foundation_schema": "0001",
    "0003_monitoring": "0007_monitoring",
    "0004_tiles": "0002_tiles",
    "0005_match": "0002_match",
    "0006_import_speed": "0008_import_speed",
    "0007_seed_speed": "0009_seed_speed",
    "0008_perfmatch": "0003_perfmatch",
}

_CHECKS = """
SELECT c.relname, k.conname, pg_get_constraintdef(k.oid), k.conkey, a.attname,
       format_type(a.atttypid, a.atttypmod)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
LEFT JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
WHERE c.relnamespace = CAST(:schema AS regnamespace) AND k.contype = 'c'
ORDER BY 1, 2
"""


def _in_schema(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    return type_ != "schema" or name == SCHEMA


def _describe(diff: Any) -> str:
    if isinstance(diff, list):
        return "; ".join(_describe(d) for d in diff)
    op: str = diff[0]
    rest: list[Any] = list(diff[1:])
    if op.startswith("modify_"):
        return f"{op} {rest[1]}.{rest[2]}: database {rest[-2]!r}, tables.py {rest[-1]!r}"
    obj = rest[-1] if op.endswith("_fk") else rest[0]
    table = getattr(getattr(obj, "table", None), "name", "")
    return f"{op} {table} {getattr(obj, 'name', obj)}".rstrip()


def _schema_diffs(conn: Connection) -> list[str]:
    context = MigrationContext.configure(
        conn,
        opts={
            "include_schemas": True,
            "include_name": _in_schema,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    diffs = compare_metadata(context, Base.metadata)
    # ("remove_table", alembic_version): Alembic's own bookkeeping, not a table of the model.
    described = [_describe(d) for d in diffs]
    return [d for d in described if d != "remove_table  alembic_version"]


def test_the_migrated_database_is_what_tables_py_declares(conn: Connection) -> None:
    assert _schema_diffs(conn) == []


def test_the_comparison_sees_a_drifted_column(conn: Connection) -> None:
    with conn.begin_nested() as nested:
        conn.execute(text("ALTER TABLE landmatch.audit_log ALTER COLUMN event DROP NOT NULL"))
        conn.execute(text("CREATE INDEX ix_audit_log_extra ON landmatch.audit_log (detail)"))
        diffs = _schema_diffs(conn)
        nested.rollback()
    assert "modify_nullable audit_log.event: database True, tables.py False" in diffs
    assert "remove_index audit_log ix_audit_log_extra" in diffs


def _checks(conn: Connection) -> list[tuple[str, str, str, list[int], str, str]]:
    return [tuple(r) for r in conn.execute(text(_CHECKS), {"schema": SCHEMA})]  # type: ignore[misc]


def test_the_database_checks_are_the_ones_tables_py_declares(conn: Connection) -> None:
    declared = set()
    for table in Base.metadata.tables.values():
        for ck in table.constraints:
            if isinstance(ck, CheckConstraint):
                name = ck.name if isinstance(ck.name, conv) else f"ck_{table.name}_{ck.name}"
                declared.add((table.name, str(name)))
    assert {(t, name) for t, name, *_ in _checks(conn)} == declared


def _codes(definition: str) -> set[str]:
    return set(re.findall(r"'([^']*)'::(?:character varying|text)", definition))


def test_every_vocabulary_is_exactly_what_its_check_allows(conn: Connection) -> None:
    listing = {
        (table, name): definition
        for table, name, definition, *_ in _checks(conn)
        if "ARRAY[" in definition or (table, name) in RULE_CHECKS
    }
    assert set(listing) == set(VOCABULARY_CHECKS) | RULE_CHECKS
    for key, codes in VOCABULARY_CHECKS.items():
        assert _codes(listing[key]) == set(codes), key


def _passes(conn: Connection, definition: str, column: str, type_: str, value: object) -> bool:
    expression = definition.removeprefix("CHECK ")
    with conn.begin_nested() as nested:
        passed = conn.execute(
            text(f"SELECT {expression} FROM (SELECT CAST(:v AS {type_}) AS {column}) AS row"),
            {"v": value},
        ).scalar()
        nested.rollback()
    return passed is not False  # a CHECK accepts NULL


def test_every_vocabulary_code_passes_its_database_check(conn: Connection) -> None:
    for table, name, definition, keys, column, type_ in _checks(conn):
        if (table, name) not in VOCABULARY_CHECKS:
            continue
        assert len(keys) == 1, (table, name)
        array = type_.endswith("[]")
        for code in VOCABULARY_CHECKS[table, name]:
            value = [code] if array else code
            assert _passes(conn, definition, column, type_, value), (table, name, code)
        unknown = ["no-such-code"] if array else "no-such"
        assert not _passes(conn, definition, column, type_, unknown), (table, name)


def test_functions_triggers_and_views_are_the_stored_definitions(conn: Connection) -> None:
    current = definitions.dump(conn)
    stored = definitions.stored()
    if current != stored:
        diff = "".join(
            difflib.unified_diff(
                stored.splitlines(keepends=True),
                current.splitlines(keepends=True),
                "landmatch/db/sql/definitions.sql",
                "the migrated database",
            )
        )
        pytest.fail(
            "landmatch/db/sql/definitions.sql is not what the migrations create; regenerate it "
            "with `python -m landmatch.db.definitions <url> > landmatch/db/sql/definitions.sql`"
            f"\n{diff}"
        )


def test_the_definitions_file_sees_a_changed_function(conn: Connection) -> None:
    with conn.begin_nested() as nested:
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION landmatch.area_class(area_m2 double precision) "
                "RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 0::smallint $$"
            )
        )
        changed = definitions.dump(conn)
        nested.rollback()
    assert changed != definitions.stored()
    assert definitions.dump(conn) == definitions.stored()


def test_migration_files_sort_in_chain_order() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    chain = list(reversed(list(scripts.walk_revisions("base", "heads"))))
    assert len(scripts.get_heads()) == 1
    files = [Path(rev.path).stem for rev in chain]
    assert files == sorted(files)
    numbers = [name[:4] for name in files]
    assert len(set(numbers)) == len(numbers), "two migrations share a number"
    assert files == sorted(p.stem for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))
    for name, rev in zip(files, chain, strict=True):
        assert rev.revision == HISTORICAL_IDS.get(name, name)


@pytest.fixture
def scratch_database(engine: Engine, settings: Settings) -> Iterator[str]:
    """An empty database beside the test database, dropped afterwards."""
    url = make_url(settings.database_url)
    name = f"{url.database}_roundtrip"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    scratch = url.set(database=name).render_as_string(hide_password=False)
    try:
        yield scratch
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fallbacks(c: Connection) -> tuple[dict[str, int], str]:
    """Each city's start_fallback_months and the column's default."""
    rows = c.execute(
        text("SELECT city_code, start_fallback_months FROM landmatch.monitoring_rule")
    ).all()
    default = c.execute(
        text(
            "SELECT column_default FROM information_schema.columns WHERE table_schema = :s "
            "AND table_name = 'monitoring_rule' AND column_name = 'start_fallback_months'"
        ),
        {"s": SCHEMA},
    ).scalar_one()
    return {r[0]: r[1] for r in rows}, str(default)


def test_migrations_go_down_to_nothing_and_up_again(scratch_database: str) -> None:
    upgrade(scratch_database)
    eng = create_engine(scratch_database)
    try:
        with eng.connect() as c:
            first = definitions.dump(c)
        # A city's deliberate no-start-date fallback (0: idle one full year after the
        # contract) and another's 6 survive going down past 0041_idle_rules and up again; only
        # the column default is the old schema's.
        with eng.begin() as c:
            c.execute(
                text(
                    "INSERT INTO landmatch.monitoring_rule (city_code, start_fallback_months) "
                    "VALUES ('130100', 0), ('130200', 6)"
                )
            )
        command.downgrade(alembic_config(scratch_database), "0040_zone_city")
        with eng.connect() as c:
            assert _fallbacks(c) == ({"130100": 0, "130200": 6}, "12")
        upgrade(scratch_database)
        with eng.connect() as c:
            assert _fallbacks(c) == ({"130100": 0, "130200": 6}, "0")
        command.downgrade(alembic_config(scratch_database), "base")
        with eng.connect() as c:
            left = (
                c.execute(
                    text(
                        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = "
                        "CAST(:s AS regnamespace) AND c.relkind IN ('r', 'v', 'm', 'S') "
                        "AND c.relname <> 'alembic_version'"
                    ),
                    {"s": SCHEMA},
                )
                .scalars()
                .all()
            )
            assert left == []
        upgrade(scratch_database)
        with eng.connect() as c:
            assert definitions.dump(c) == first
            assert _schema_diffs(c) == []
    finally:
        eng.dispose()
