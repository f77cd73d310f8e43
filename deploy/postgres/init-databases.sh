#!/usr/bin/env bash
# One database and one login role per service, each role able to connect only to its own
# database (docs/service-shape.md). Run by the postgres image once, when its data volume is new
# (/docker-entrypoint-initdb.d); the passwords come from <SERVICE>_DB_PASSWORD.
# On a managed PostgreSQL, run the same statements as its administrator.
set -euo pipefail

for service in booking reception crm hr; do
    var="${service^^}_DB_PASSWORD"
    password="${!var:?$var is not set}"
    # psql quotes the password itself (:'password'), so no value can break out of the literal.
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
         -v service="$service" -v password="$password" <<'SQL'
CREATE ROLE :"service" LOGIN PASSWORD :'password';
CREATE DATABASE :"service" OWNER :"service";
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"service" TO :"service";
SQL
done

# Nobody but the administrator opens the maintenance databases.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;
SQL

# Booking's exclusion constraint (no overlapping bookings) needs btree_gist, which only a
# superuser may create.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname booking \
     -c "CREATE EXTENSION IF NOT EXISTS btree_gist"
