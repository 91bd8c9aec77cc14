"""parcel: a bigram index for the map's search (two-character words: 正定, 工业, 物流)

Revision ID: 0038_search_bigrams
Revises: 0037_monitoring_figures

pg_trgm's indexes (0026_search) answer ``ILIKE '%…%'`` from the trigrams of the text searched
for, and a word of two characters inside a pattern has none: for 正定 every trigram index
matched every parcel, and the search read the whole table (2.1 s at 1,000,000 parcels). Most
Chinese place and road names are two characters.

``landmatch.search_grams`` gives the two-character substrings, lower-cased, of a parcel's code
(tagged ``c``) and of its name and address (tagged ``n``); ``landmatch.tagged_bigrams`` those
of a text, with a tag. A GIN index over each parcel's finds the parcels whose code — or name
or address — holds every bigram of the text, and ``ILIKE`` keeps those that hold the text
itself. It replaces the trigram indexes of names and addresses (the code's stays: it is the
more selective for three digits or more). Not partial: PostgreSQL keeps statistics of the
expression of a whole-table index only, and the search's plans need them (a word many parcels
hold is found sooner by reading the code index in order).
"""

from __future__ import annotations

from alembic import op

revision = "0038_search_bigrams"
down_revision = "0037_monitoring_figures"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE FUNCTION landmatch.tagged_bigrams(tag text, t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT ARRAY(SELECT tag || substr(s.l, i, 2) FROM generate_series(1, length(s.l) - 1) i)
  FROM (SELECT lower(t) AS l) s
$$;
CREATE FUNCTION landmatch.search_grams(code text, name text, address text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY(SELECT 'c' || substr(s.c, i, 2) FROM generate_series(1, length(s.c) - 1) i)
      || ARRAY(SELECT 'n' || substr(s.n, i, 2) FROM generate_series(1, length(s.n) - 1) i)
  FROM (SELECT lower(coalesce(code, '')) AS c,
               lower(coalesce(name, '') || E'\\n' || coalesce(address, '')) AS n) s
$$;
CREATE INDEX ix_parcel_search_grams ON landmatch.parcel
  USING gin (landmatch.search_grams(code, name, address));
DROP INDEX landmatch.ix_parcel_name_trgm;
DROP INDEX landmatch.ix_parcel_address_trgm;
"""

DOWNGRADE_SQL = """
CREATE INDEX ix_parcel_name_trgm ON landmatch.parcel
  USING gin (name gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX ix_parcel_address_trgm ON landmatch.parcel
  USING gin (address gin_trgm_ops) WHERE deleted_at IS NULL;
DROP INDEX landmatch.ix_parcel_search_grams;
DROP FUNCTION landmatch.search_grams(text, text, text);
DROP FUNCTION landmatch.tagged_bigrams(text, text);
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
