#!/bin/sh
# Runs once, when the PostgreSQL data volume is empty (docker-entrypoint-initdb.d): one role and database
# for the app, one role owning Temporal's two databases. Nobody but this script uses the superuser.
set -eu

: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD in .env}"
: "${APP_DB_PASSWORD:?set APP_DB_PASSWORD in .env}"
for secret in "$POSTGRES_PASSWORD" "$TEMPORAL_DB_PASSWORD" "$APP_DB_PASSWORD"; do
  if [ "$secret" = "change-me" ]; then
    echo "init-databases: a database password in .env is still the placeholder 'change-me'" >&2
    exit 1
  fi
done

# Passwords go through psql variables (:'name' quotes them), never through the shell into SQL text.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE ROLE dossiers LOGIN PASSWORD :'app_password';
-- temporal-sql-tool's create-database step finds these and moves on (deploy/temporal/setup-schema.sh).
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE DATABASE dossiers OWNER dossiers;
REVOKE ALL ON DATABASE temporal, temporal_visibility FROM PUBLIC;
REVOKE ALL ON DATABASE dossiers FROM PUBLIC;
SQL
echo "init-databases: roles temporal, dossiers; databases temporal, temporal_visibility, dossiers"
