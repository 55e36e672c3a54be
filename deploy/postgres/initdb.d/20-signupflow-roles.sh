#!/usr/bin/env bash
# SignUpFlow's PostgreSQL roles (docs/security.md, "Least privilege"):
#   signupflow_owner    owns the schema, runs migrations (and may create scratch databases)
#   signupflow_app      data only: SELECT/INSERT/UPDATE/DELETE and sequences, no DDL
#   signupflow_backup   reads everything (pg_read_all_data); may create scratch databases of
#                       its own, to restore a backup into and verify it
#   signupflow_monitor  pg_monitor (postgres-exporter)
# Passwords come from SIGNUPFLOW_ROLES_FILE (default /run/secrets/postgres_roles, made by
# deploy/secrets/create_secrets.py): one `role SCRAM-SHA-256$...` verifier per line, so this
# container never holds a client's password.
#
# Idempotent: it creates what is missing, resets each role's attributes and password, hands
# every object in schema public to signupflow_owner (clusters created before these roles have
# them owned by the superuser) and grants what each role needs. It runs
#  - at the container's first start, from /docker-entrypoint-initdb.d (compose.prod.yml mounts
#    this directory there), on the server the entrypoint runs for the init scripts;
#  - on an existing cluster, and after rotating a password, as the superuser over the socket:
#      docker compose -f deploy/compose/compose.prod.yml exec postgres \
#          /docker-entrypoint-initdb.d/20-signupflow-roles.sh
# Connection: the superuser POSTGRES_USER to database POSTGRES_DB, where libpq's PG* variables
# point (the local socket in the container).

# The images' entrypoints source init scripts that are not executable: run in a child shell,
# so that `exit` and `set -e` here never reach the entrypoint.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	bash "${BASH_SOURCE[0]}"
	return
fi
set -Eeuo pipefail

roles_file="${SIGNUPFLOW_ROLES_FILE:-/run/secrets/postgres_roles}"
superuser="${POSTGRES_USER:-signupflow}"
database="${POSTGRES_DB:-$superuser}"
fail() {
	printf 'signupflow-roles: error: %s\n' "$*" >&2
	exit 1
}

[ -r "$roles_file" ] || fail "cannot read $roles_file (create it with deploy/secrets/create_secrets.py)"
passwords=()
while read -r role verifier rest; do
	[ -n "$role" ] || continue
	case "$role" in
	signupflow_owner | signupflow_app | signupflow_backup | signupflow_monitor) ;;
	*) fail "$roles_file: unknown role '$role'" ;;
	esac
	# A plain password would reach the server (and maybe its log): only verifiers pass.
	case "$verifier" in
	'SCRAM-SHA-256$'*) ;;
	*) fail "$roles_file: the value for $role is not a SCRAM-SHA-256 verifier" ;;
	esac
	[ -z "$rest" ] || fail "$roles_file: extra fields on the line of $role"
	passwords+=(--set "pw_$role=$verifier")
done <"$roles_file"

psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --single-transaction \
	--username "$superuser" --dbname "$database" --set database="$database" \
	"${passwords[@]}" <<-'SQL'
	-- ALTER ... OWNER takes each table's ACCESS EXCLUSIVE lock: on a serving cluster, give up
	-- (and run again) rather than queue every request behind a long transaction.
	SET lock_timeout = '5s';
	SET statement_timeout = 0;
	SET client_min_messages = warning;

	SELECT format('CREATE ROLE %I', name)
	FROM unnest(ARRAY['signupflow_owner', 'signupflow_app', 'signupflow_backup',
	                  'signupflow_monitor']) AS name
	WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) \gexec

	ALTER ROLE signupflow_owner LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
	ALTER ROLE signupflow_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
	ALTER ROLE signupflow_backup LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
	ALTER ROLE signupflow_monitor LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
	GRANT pg_read_all_data TO signupflow_backup;
	GRANT pg_monitor TO signupflow_monitor;

	\if :{?pw_signupflow_owner}
	ALTER ROLE signupflow_owner PASSWORD :'pw_signupflow_owner';
	\endif
	\if :{?pw_signupflow_app}
	ALTER ROLE signupflow_app PASSWORD :'pw_signupflow_app';
	\endif
	\if :{?pw_signupflow_backup}
	ALTER ROLE signupflow_backup PASSWORD :'pw_signupflow_backup';
	\endif
	\if :{?pw_signupflow_monitor}
	ALTER ROLE signupflow_monitor PASSWORD :'pw_signupflow_monitor';
	\endif

	-- Only these roles connect; nobody else gets temporary tables here.
	REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
	GRANT CONNECT ON DATABASE :"database"
	    TO signupflow_owner, signupflow_app, signupflow_backup, signupflow_monitor;

	-- Only the owner creates in public.
	REVOKE ALL ON SCHEMA public FROM PUBLIC;
	GRANT USAGE, CREATE ON SCHEMA public TO signupflow_owner;
	GRANT USAGE ON SCHEMA public TO signupflow_app, signupflow_backup;

	-- Tables, views and the sequences they own first (ALTER TABLE takes its owned sequences
	-- along), then standalone sequences, types and functions.
	SELECT format('ALTER %s %I.%I OWNER TO signupflow_owner',
	              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
	                             WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
	              n.nspname, c.relname)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
	  AND c.relowner <> 'signupflow_owner'::regrole \gexec
	SELECT format('ALTER SEQUENCE %I.%I OWNER TO signupflow_owner', n.nspname, c.relname)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND c.relkind = 'S'
	  AND c.relowner <> 'signupflow_owner'::regrole \gexec
	SELECT format('ALTER TYPE %I.%I OWNER TO signupflow_owner', n.nspname, t.typname)
	FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
	WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r')
	  AND t.typowner <> 'signupflow_owner'::regrole \gexec
	SELECT format('ALTER ROUTINE %s OWNER TO signupflow_owner', p.oid::regprocedure)
	FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = 'public' AND p.proowner <> 'signupflow_owner'::regrole \gexec

	-- The app: data, never the schema (no TRUNCATE, REFERENCES or TRIGGER either).
	GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO signupflow_app;
	GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO signupflow_app;
	-- ... and the same on every table and sequence the migrations create from now on.
	ALTER DEFAULT PRIVILEGES FOR ROLE signupflow_owner IN SCHEMA public
	    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO signupflow_app;
	ALTER DEFAULT PRIVILEGES FOR ROLE signupflow_owner IN SCHEMA public
	    GRANT USAGE, SELECT ON SEQUENCES TO signupflow_app;
	-- signupflow_backup reads every table, present and future, through pg_read_all_data.
SQL
printf 'signupflow-roles: roles of database %s are up to date\n' "$database" >&2
