"""match: the control indicators and the bounding box in parcel_fact's match indexes

Revision ID: 0045_fact_control
Revises: 0044_project_history

A project's planned 容积率, 建筑系数 and 绿地率 are checked against the parcel's published
bounds (``far_min``, ``far_max``, ``building_coeff_min``, ``green_ratio_max``). The match read
them from ``parcel`` by id, one lookup per parcel in scope: at 1,000,000 parcels a province-wide
match stating them took 4.5 s instead of 0.28 s. A search area drawn on the map (``bbox``,
``polygon``) read each parcel's geometry the same way. The four indicators are now copied into
``parcel_fact`` like the other columns a match reads (the ``fact_ins`` / ``fact_upd``
triggers), with the parcel's bounding box (``bbox_f8``: xmin, ymin, xmax, ymax), and all eight
are carried in the three match indexes as one stored float8 array, ``match_f8`` (the indexes
hold 31 of PostgreSQL's 32 columns already), so the ranking stays one index-only scan and
only a parcel across a search area's edge has its geometry read.

The downgrade puts the triggers, the indexes and the table back as 0010 and 0003 left them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op
from sqlalchemy import text

revision = "0045_fact_control"
down_revision = "0044_project_history"
branch_labels = None
depends_on = None

# Frozen copies (as of this migration): the copied columns added, and their sources.
CONTROL = (
    ("far_min", "numeric(6,2)"),
    ("far_max", "numeric(6,2)"),
    ("building_coeff_min", "numeric(5,2)"),
    ("green_ratio_max", "numeric(5,2)"),
)
BBOX = "ARRAY[ST_XMin({a}.geom), ST_YMin({a}.geom), ST_XMax({a}.geom), ST_YMax({a}.geom)]"


def _frozen(name: str) -> ModuleType:
    """An earlier migration module of this directory (their file names are not identifiers)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fact_functions(copied: tuple[str, ...], spatial: tuple[str, ...]) -> str:
    """0010's ``parcel_fact_ins`` and ``parcel_fact_upd`` for the copied columns ``copied``."""
    src = {"parcel_zone_id": "n.zone_id", "bbox_f8": BBOX.format(a="n")}
    cols = ", ".join(copied)
    vals = ", ".join(src.get(c, f"n.{c}") for c in copied)
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


def _backfill(fill: dict[str, str]) -> None:
    """Fill the new columns (``fill``: column -> SQL over the parcel ``p``) by rewriting the
    table: an UPDATE would leave every row's old version dead in the heap and, as the indexes
    are built in the same transaction, in the indexes too (twice their size at 1M parcels)."""
    cols = [
        str(r[0])
        for r in op.get_bind().execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'landmatch' AND table_name = 'parcel_fact' AND is_generated = 'NEVER' "
                "ORDER BY ordinal_position"
            )
        )
    ]
    listed = ", ".join(cols)
    op.execute(
        f"CREATE TEMP TABLE fact_copy ON COMMIT DROP AS SELECT "
        f"{', '.join(fill.get(c, f'f.{c}') + f' AS {c}' for c in cols)} "
        "FROM landmatch.parcel_fact f LEFT JOIN landmatch.parcel p ON p.id = f.parcel_id"
    )
    op.execute("TRUNCATE landmatch.parcel_fact")
    op.execute(f"INSERT INTO landmatch.parcel_fact ({listed}) SELECT {listed} FROM fact_copy")
    op.execute("DROP TABLE fact_copy")


def upgrade() -> None:
    w = _frozen("0010_write_path")
    names = tuple(c for c, _ in CONTROL)
    _drop_indexes()  # rebuilt at the end rather than kept up by the backfill
    op.execute(
        "ALTER TABLE landmatch.parcel_fact "
        + ", ".join(f"ADD COLUMN {c} {t}" for c, t in CONTROL)
        + ", ADD COLUMN bbox_f8 double precision[], "
        "ADD COLUMN match_f8 double precision[] GENERATED ALWAYS AS "
        f"(ARRAY[{', '.join(f'{c}::float8' for c in names)}] || bbox_f8) STORED"
    )
    _backfill({**{c: f"p.{c}" for c in names}, "bbox_f8": BBOX.format(a="p")})
    op.execute(_fact_functions((*w.COPIED, *names, "bbox_f8"), w.SPATIAL))
    _create_indexes((*_frozen("0008_perfmatch").INCLUDE, "match_f8"))
    op.execute("ANALYZE landmatch.parcel_fact")


def downgrade() -> None:
    w = _frozen("0010_write_path")
    op.execute(_fact_functions(w.COPIED, w.SPATIAL))
    _drop_indexes()
    op.execute(
        "ALTER TABLE landmatch.parcel_fact DROP COLUMN match_f8, DROP COLUMN bbox_f8, "
        + ", ".join(f"DROP COLUMN {c}" for c, _ in CONTROL)
    )
    _create_indexes(_frozen("0008_perfmatch").INCLUDE)
