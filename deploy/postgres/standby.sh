#!/bin/sh
# The replica: on first start, a base backup of the primary set up as its streaming standby
# (pg_basebackup -R writes standby.signal and primary_conninfo); then PostgreSQL as a hot
# standby. Runs as root in the postgis image and drops to postgres with gosu.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  until gosu postgres pg_isready -h "$PRIMARY_HOST" -U replicator -d postgres; do sleep 1; done
  PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup -h "$PRIMARY_HOST" \
    -U replicator -D "$PGDATA" -R -X stream -c fast -P
fi
exec gosu postgres postgres -c hot_standby=on -c listen_addresses='*'
