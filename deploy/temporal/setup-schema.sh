#!/bin/sh
# Temporal's schema on PostgreSQL with Temporal's own tool (temporalio/admin-tools), for the default store
# and the visibility store. Safe to run on every `docker compose up`: create-database accepts a database
# that exists, setup-schema leaves a versioned schema alone, update-schema applies only newer versions
# (which is also how a Temporal upgrade migrates: new admin-tools image, run this job, then the server).
set -eu

: "${SQL_HOST:?}" "${SQL_USER:?}" "${SQL_PASSWORD:?set TEMPORAL_DB_PASSWORD in .env}"
export SQL_PLUGIN="${SQL_PLUGIN:-postgres12}" SQL_PORT="${SQL_PORT:-5432}"
if [ "$SQL_PASSWORD" = "change-me" ]; then
  echo "setup-schema: TEMPORAL_DB_PASSWORD is still the placeholder 'change-me'" >&2
  exit 1
fi
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "setup-schema: waiting for ${SQL_HOST}:${SQL_PORT}"
tries=0
until nc -z -w 5 "$SQL_HOST" "$SQL_PORT"; do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || { echo "setup-schema: PostgreSQL never answered" >&2; exit 1; }
  sleep 2
done

ensure_database() {
  # The init script normally made it; on a managed PostgreSQL this job creates it (needs CREATEDB).
  if out=$(temporal-sql-tool --db "$1" create-database 2>&1); then
    echo "setup-schema: created database $1"
  elif echo "$out" | grep -q "already exists"; then
    echo "setup-schema: database $1 exists"
  else
    echo "$out" >&2
    exit 1
  fi
}

for store in temporal:temporal temporal_visibility:visibility; do
  db=${store%%:*}
  dir=${store#*:}
  ensure_database "$db"
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$SCHEMA_DIR/$dir/versioned"
done
echo "setup-schema: done"
