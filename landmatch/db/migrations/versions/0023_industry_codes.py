"""industry: every GB/T 4754-2017 code (门类, 大类, 中类, 小类), not only the engine's divisions

Revision ID: 0023_industry_codes
Revises: 0022_zone_membership

A project's industry may now be given at any level (C, 36, 367, 3670); ``project.industry_code``
references this table, so it holds the whole table from the package data
(``landmatch/data/gbt4754_2017.csv``) with the pollution class derived from the most specific
level known (``landmatch.industry_codes.pollution_class``), NULL where none is known.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_industry_codes"
down_revision = "0022_zone_membership"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from landmatch import industry_codes

    op.alter_column("industry", "pollution_class", nullable=True, schema="landmatch")
    rows = [
        {"c": i.code, "n": i.name, "p": industry_codes.pollution_class(i.code)}
        for i in industry_codes.all_codes()
    ]
    op.get_bind().execute(
        sa.text(
            "INSERT INTO landmatch.industry (code, name, pollution_class) VALUES (:c, :n, :p) "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name"
        ),
        rows,
    )


def downgrade() -> None:
    from landmatch import vocab

    op.execute(
        sa.text(
            "DELETE FROM landmatch.industry i WHERE NOT (i.code = ANY(:keep)) AND NOT EXISTS "
            "(SELECT 1 FROM landmatch.project p WHERE p.industry_code = i.code)"
        ).bindparams(keep=list(vocab.INDUSTRIES))
    )
    op.execute("UPDATE landmatch.industry SET pollution_class = 2 WHERE pollution_class IS NULL")
    op.alter_column("industry", "pollution_class", nullable=False, schema="landmatch")
