"""parcel codes in any script; land use 待定 (never public) and 1002 采矿用地

Revision ID: 0019_office_codes
Revises: 0018_geometry_hygiene

- Parcel codes are 3–64 printable characters of any script (石经开2025-31号): no whitespace,
  control or invisible characters, no "/" or "\\" (``vocab.CODE_CHECK_SQL``).
- ``land_use`` may be ``TBD`` (待定: a survey file without 地块用途) and ``1002`` (采矿用地, read
  from GB/T 21010 0602); both are in the ``land_use_code`` lookup table too.
- ``ck_parcel_pending_use``: a parcel whose land use is 待定 is internal (never published).

The downgrade puts the old rules back as NOT VALID constraints (rows written meanwhile stay;
new writes follow the old rules).
"""

from __future__ import annotations

from alembic import op

revision = "0019_office_codes"
down_revision = "0018_geometry_hygiene"
branch_labels = None
depends_on = None

# Frozen copies (as of this migration) of the rules in landmatch.vocab.
CODE_CHECK_NEW = (
    "length(code) BETWEEN 3 AND 64 AND code !~ "
    r"'[\u0001-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    r"\u3000\ufeff/\\]'"
)
CODE_CHECK_OLD = "length(code) BETWEEN 3 AND 64 AND code !~ '[^A-Za-z0-9_-]'"
LAND_USES_OLD = (
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
ADDED = {"1002": "采矿用地", "TBD": "待定"}


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    for code, name in ADDED.items():
        op.execute(
            f"INSERT INTO landmatch.land_use_code (code, name) VALUES ('{code}', '{name}') "
            "ON CONFLICT (code) DO NOTHING"
        )
    op.execute(
        "ALTER TABLE landmatch.parcel DROP CONSTRAINT ck_parcel_code, "
        f"ADD CONSTRAINT ck_parcel_code CHECK ({CODE_CHECK_NEW}), "
        "DROP CONSTRAINT ck_parcel_land_use, "
        f"ADD CONSTRAINT ck_parcel_land_use CHECK (land_use IN ({_in((*LAND_USES_OLD, *ADDED))})), "
        "ADD CONSTRAINT ck_parcel_pending_use CHECK (land_use <> 'TBD' OR visibility = 'internal')"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE landmatch.parcel DROP CONSTRAINT ck_parcel_pending_use, "
        "DROP CONSTRAINT ck_parcel_code, "
        f"ADD CONSTRAINT ck_parcel_code CHECK ({CODE_CHECK_OLD}) NOT VALID, "
        "DROP CONSTRAINT ck_parcel_land_use, "
        f"ADD CONSTRAINT ck_parcel_land_use CHECK (land_use IN ({_in(LAND_USES_OLD)})) NOT VALID"
    )
    op.execute(
        "DELETE FROM landmatch.land_use_code c WHERE c.code IN ('1002', 'TBD') "
        "AND NOT EXISTS (SELECT 1 FROM landmatch.parcel p WHERE p.land_use = c.code)"
    )
