"""parcel: a bigram index of names and addresses for the map's search (正定, 工业, 物流)

Revision ID: 0038_search_bigrams
Revises: 0037_monitoring_figures

pg_trgm's indexes (0026_search) answer ``ILIKE '%…%'`` from the trigrams of the text searched
for, and a word of two characters inside a pattern has none: for 正定 the name and address
trigram indexes matched every parcel, and the search read the whole table (0.5–2 s at
1,000,000 parcels). Most Chinese place and road names have two characters.

``landmatch.bigrams`` gives a text's two-character substrings, lower-cased in the database's
default collation whatever the collation of its argument, so that a text holds the bigrams of
every text it holds case-insensitively: nothing ``ILIKE`` finds is missed.
``landmatch.name_bigrams`` gives those of a name and an address. A GIN index over each
parcel's finds the parcels holding every bigram of the text; ``ILIKE`` then keeps those that
hold the text itself. It replaces the trigram indexes of names and addresses; the code's stays
(codes are searched by their digits, where trigrams are the more selective). Not partial:
PostgreSQL keeps statistics of the expression of a whole-table index only, and the search's
plans need them (a word many parcels hold is found sooner by reading the code index in order).
"""

from __future__ import annotations

from alembic import op

revision = "0038_search_bigrams"
down_revision = "0037_monitoring_figures"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE FUNCTION landmatch.bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT ARRAY(SELECT substr(s.l, i, 2) FROM generate_series(1, length(s.l) - 1) i)
  FROM (SELECT lower(t COLLATE "default") AS l) s
$$;
CREATE FUNCTION landmatch.name_bigrams(name text, address text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT landmatch.bigrams(coalesce(name, '') || ' ' || coalesce(address, ''))
$$;
CREATE INDEX ix_parcel_name_bigrams ON landmatch.parcel
  USING gin (landmatch.name_bigrams(name, address));
DROP INDEX landmatch.ix_parcel_name_trgm;
DROP INDEX landmatch.ix_parcel_address_trgm;
"""

DOWNGRADE_SQL = """
CREATE INDEX ix_parcel_name_trgm ON landmatch.parcel
  USING gin (name gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX ix_parcel_address_trgm ON landmatch.parcel
  USING gin (address gin_trgm_ops) WHERE deleted_at IS NULL;
DROP INDEX landmatch.ix_parcel_name_bigrams;
DROP FUNCTION landmatch.name_bigrams(text, text);
DROP FUNCTION landmatch.bigrams(text);
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
