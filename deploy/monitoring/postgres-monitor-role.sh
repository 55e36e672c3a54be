# shellcheck shell=bash
# Sourced by the postgres image's entrypoint when it initialises a new data directory
# (/docker-entrypoint-initdb.d): the role the postgres-exporter connects as, with pg_monitor
# only (statistics and settings, no table data). The password comes from the secret
# postgres_monitor_password and never appears on a command line.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\set monitor_password `cat /run/secrets/postgres_monitor_password`
CREATE ROLE signupflow_monitor LOGIN CONNECTION LIMIT 5 PASSWORD :'monitor_password';
GRANT pg_monitor TO signupflow_monitor;
SQL
