"""bump_data_version locks the 'all' row first, then the table's

Revision ID: 0030_data_version_lock_order
Revises: 0029_inquiries

Every statement on a versioned table bumps two ``data_state`` rows, the table's and ``all``.
One ``UPDATE … WHERE name IN (…)`` locks them in the order the scan meets them, which changes
as the rows get new versions; two transactions writing the same table at once (the derived-data
drain's workers) could lock them in opposite orders and deadlock. Locking ``all`` first makes
every writer queue on the same row before taking any other, so they cannot.
"""

from __future__ import annotations

from alembic import op

revision = "0030_data_version_lock_order"
down_revision = "0029_inquiries"
branch_labels = None
depends_on = None

_BODY = """
CREATE OR REPLACE FUNCTION landmatch.bump_data_version()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
{body}
  RETURN NULL;
END $function$;
"""


def upgrade() -> None:
    op.execute(
        _BODY.format(
            body="  UPDATE landmatch.data_state SET version = version + 1 WHERE name = 'all';\n"
            "  UPDATE landmatch.data_state SET version = version + 1 WHERE name = TG_TABLE_NAME;"
        )
    )


def downgrade() -> None:
    op.execute(
        _BODY.format(
            body="  UPDATE landmatch.data_state SET version = version + 1\n"
            "   WHERE name IN (TG_TABLE_NAME, 'all');"
        )
    )
