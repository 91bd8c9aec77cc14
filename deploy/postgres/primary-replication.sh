#!/bin/sh
# Run once by the postgis image when it initialises the primary's data directory
# (/docker-entrypoint-initdb.d): a replication role and its pg_hba line, for the standby.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
