"""parcel keys: byte-order collation on code columns, city and land use as CHECKs, one GiST

Revision ID: 0011_parcel_keys
Revises: 0010_write_path

What every parcel insert pays per row, made cheaper without changing a result:

- ``code``, ``city_code``, ``status`` and ``land_use`` hold ASCII codes. Under the database's
  ``C.UTF-8`` locale each index comparison went through strcoll(); ``COLLATE "C"`` compares
  bytes and orders ASCII the same (C.UTF-8 sorts by code point), so listings keep their
  order. The unique code index was the second most expensive index to maintain.
- ``city_code`` and ``land_use`` were foreign keys to ``admin_division`` and
  ``land_use_code``: one lookup query per inserted row. They are CHECK constraints on the same
  vocabularies now (``landmatch.vocab``); the city one is stricter than the key was (a county's
  code is no longer accepted as a parcel's city). The lookup tables stay, for their names.
- ``ix_parcel_geom_3857`` (GiST on the Web Mercator copy) goes: tiles find their parcels
  through ``ix_parcel_geom`` with the tile's envelope in EPSG:4490 (Web Mercator maps a
  rectangle onto a lon/lat rectangle, so the same parcels pass) and still clip the stored copy.
"""

from __future__ import annotations

from alembic import op

revision = "0011_parcel_keys"
down_revision = "0010_write_path"
branch_labels = None
depends_on = None

# Frozen copies (as of this migration) of landmatch.vocab.CITIES and LAND_USE keys.
CITIES = (
    "130100",
    "130200",
    "130300",
    "130400",
    "130500",
    "130600",
    "130700",
    "130800",
    "130900",
    "131000",
    "131100",
    "130181",
    "130682",
)
LAND_USES = (
    "100101",
    "100102",
    "100103",
    "110101",
    "110102",
    "110103",
    "1102",
    "0802",
    "0901",
    "0902",
    "1303",
    "1304",
    "1305",
    "1306",
    "16",
)
COLUMNS = (("code", "64"), ("city_code", "6"), ("status", "12"), ("land_use", "8"))


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.execute("DROP INDEX landmatch.ix_parcel_geom_3857")
    # The view reads the parcel's whole row; it is recreated unchanged.
    view = (
        op.get_bind()
        .exec_driver_sql("SELECT pg_get_viewdef('landmatch.parcel_version_full'::regclass)")
        .scalar_one()
    )
    op.execute("DROP VIEW landmatch.parcel_version_full")
    for name, length in COLUMNS:
        op.execute(
            f'ALTER TABLE landmatch.parcel ALTER COLUMN {name} TYPE varchar({length}) COLLATE "C"'
        )
    op.execute(f"CREATE VIEW landmatch.parcel_version_full AS {view}")
    op.execute(
        "ALTER TABLE landmatch.parcel DROP CONSTRAINT fk_parcel_city_code_admin_division, "
        "DROP CONSTRAINT fk_parcel_land_use_land_use_code, "
        f"ADD CONSTRAINT ck_parcel_city_code CHECK (city_code IN ({_in(CITIES)})), "
        f"ADD CONSTRAINT ck_parcel_land_use CHECK (land_use IN ({_in(LAND_USES)}))"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE landmatch.parcel DROP CONSTRAINT ck_parcel_city_code, "
        "DROP CONSTRAINT ck_parcel_land_use, "
        "ADD CONSTRAINT fk_parcel_city_code_admin_division FOREIGN KEY (city_code) "
        "REFERENCES landmatch.admin_division (code), "
        "ADD CONSTRAINT fk_parcel_land_use_land_use_code FOREIGN KEY (land_use) "
        "REFERENCES landmatch.land_use_code (code)"
    )
    view = (
        op.get_bind()
        .exec_driver_sql("SELECT pg_get_viewdef('landmatch.parcel_version_full'::regclass)")
        .scalar_one()
    )
    op.execute("DROP VIEW landmatch.parcel_version_full")
    for name, length in COLUMNS:
        op.execute(f"ALTER TABLE landmatch.parcel ALTER COLUMN {name} TYPE varchar({length})")
    op.execute(f"CREATE VIEW landmatch.parcel_version_full AS {view}")
    op.execute("CREATE INDEX ix_parcel_geom_3857 ON landmatch.parcel USING gist (geom_3857)")
