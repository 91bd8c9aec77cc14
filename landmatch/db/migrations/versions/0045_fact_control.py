"""match: the control indicators copied into parcel_fact and carried in its match indexes

Revision ID: 0045_fact_control
Revises: 0044_project_history

A project's planned 容积率, 建筑系数 and 绿地率 are checked against the parcel's published
bounds (``far_min``, ``far_max``, ``building_coeff_min``, ``green_ratio_max``). The match read
them from ``parcel`` by id, one lookup per parcel in scope: at 1,000,000 parcels a province-wide
match stating them took 4.5 s instead of 0.28 s. They are now copied into ``parcel_fact`` like
the other columns a match reads (the ``fact_ins`` / ``fact_upd`` triggers), and carried in the
three match indexes as one stored float8 array, ``control_f8`` (the indexes hold 31 of
PostgreSQL's 32 columns already), so the ranking stays one index-only scan.

The downgrade puts the triggers, the indexes and the table back as 0010 and 0003 left them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0045_fact_control"
down_revision = "0044_project_history"
branch_labels = None
depends_on = None

# Frozen copies (as of this migration).
CONTROL = (
    ("far_min", "numeric(6,2)"),
    ("far_max", "numeric(6,2)"),
    ("building_coeff_min", "numeric(5,2)"),
    ("green_ratio_max", "numeric(5,2)"),
)


def _frozen(name: str) -> ModuleType:
    """An earlier migration module of this directory (their file names are not identifiers)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fact_functions(copied: tuple[str, ...], spatial: tuple[str, ...]) -> str:
    """0010's ``parcel_fact_ins`` and ``parcel_fact_upd`` for the copied columns ``copied``."""
    src = {"parcel_zone_id": "zone_id"}
    cols = ", ".join(copied)
    vals = ", ".join(f"n.{src.get(c, c)}" for c in copied)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in copied)
    reset = ", ".join(f"{c} = NULL" for c in spatial)
    return f"""
CREATE OR REPLACE FUNCTION landmatch.parcel_fact_ins() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
  IF current_setting('landmatch.defer_derived', true) IS DISTINCT FROM 'on' THEN
    INSERT INTO landmatch.parcel_fact (parcel_id, {cols})
    SELECT n.id, {vals} FROM new_rows n
    ON CONFLICT (parcel_id) DO UPDATE SET {sets};
  END IF;
  INSERT INTO landmatch.parcel_dirty (parcel_id) SELECT n.id FROM new_rows n
  ON CONFLICT (parcel_id) DO NOTHING;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION landmatch.parcel_fact_upd() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
  INSERT INTO landmatch.parcel_fact (parcel_id, {cols})
  SELECT n.id, {vals} FROM new_rows n
  ON CONFLICT (parcel_id) DO UPDATE SET {sets};
  WITH moved AS MATERIALIZED (
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE NOT ST_OrderingEquals(n.geom, o.geom)),
  q AS (
    INSERT INTO landmatch.parcel_dirty (parcel_id) SELECT id FROM moved
    ON CONFLICT (parcel_id) DO NOTHING)
  UPDATE landmatch.parcel_fact f SET {reset}, computed_at = now()
    FROM moved WHERE f.parcel_id = moved.id;
  RETURN NULL;
END $$;
"""


def _drop_indexes() -> None:
    for name, _key, _where in _frozen("0008_perfmatch").INDEXES:
        op.execute(f"DROP INDEX IF EXISTS landmatch.{name}")


def _create_indexes(include: tuple[str, ...]) -> None:
    for name, key, where in _frozen("0008_perfmatch").INDEXES:
        op.execute(
            f"CREATE INDEX {name} ON landmatch.parcel_fact ({', '.join(key)}) "
            f"INCLUDE ({', '.join(c for c in include if c not in key)}) WHERE {where}"
        )


def upgrade() -> None:
    w = _frozen("0010_write_path")
    names = tuple(c for c, _ in CONTROL)
    _drop_indexes()  # rebuilt at the end rather than kept up by the backfill
    op.execute(
        "ALTER TABLE landmatch.parcel_fact "
        + ", ".join(f"ADD COLUMN {c} {t}" for c, t in CONTROL)
        + ", ADD COLUMN control_f8 double precision[] GENERATED ALWAYS AS "
        f"(ARRAY[{', '.join(f'{c}::float8' for c in names)}]) STORED"
    )
    op.execute(
        f"UPDATE landmatch.parcel_fact f SET {', '.join(f'{c} = p.{c}' for c in names)} "
        "FROM landmatch.parcel p WHERE p.id = f.parcel_id AND "
        f"({' OR '.join(f'p.{c} IS NOT NULL' for c in names)})"
    )
    op.execute(_fact_functions((*w.COPIED, *names), w.SPATIAL))
    _create_indexes((*_frozen("0008_perfmatch").INCLUDE, "control_f8"))
    op.execute("ANALYZE landmatch.parcel_fact")


def downgrade() -> None:
    w = _frozen("0010_write_path")
    op.execute(_fact_functions(w.COPIED, w.SPATIAL))
    _drop_indexes()
    op.execute(
        "ALTER TABLE landmatch.parcel_fact DROP COLUMN control_f8, "
        + ", ".join(f"DROP COLUMN {c}" for c, _ in CONTROL)
    )
    _create_indexes(_frozen("0008_perfmatch").INCLUDE)
