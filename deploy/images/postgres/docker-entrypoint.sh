#!/usr/bin/env bash
# Entrypoint of the postgres:15 stand-in, modelled on the official image's docker-entrypoint.sh:
# the first start initialises PGDATA (superuser POSTGRES_USER with POSTGRES_PASSWORD, database
# POSTGRES_DB, scripts from /docker-entrypoint-initdb.d), then PostgreSQL replaces this shell
# so it is PID 1 and receives the stop signal itself.
set -Eeuo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

# VAR or VAR_FILE (Docker/Kubernetes secrets), never both.
file_env() {
	local var="$1" default="${2:-}"
	local file_var="${var}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		log "error: both $var and $file_var are set (they are exclusive)"
		exit 1
	fi
	local value="$default"
	if [ -n "${!var:-}" ]; then
		value="${!var}"
	elif [ -n "${!file_var:-}" ]; then
		value="$(<"${!file_var}")"
	fi
	export "$var"="$value"
	unset "$file_var"
}

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
	# Started as root (e.g. a root-owned bind mount): fix ownership, then drop to postgres.
	mkdir -p "$PGDATA"
	chown postgres:postgres "$PGDATA"
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	auth_method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth_method" != 'trust' ]; then
		log 'error: the database is uninitialized and no superuser password is set.'
		log 'Set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust'
		log 'for a throwaway test server).'
		exit 1
	fi

	log "initialising $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
	mkdir -p "$PGDATA"
	chmod 700 "$PGDATA"
	pwfile="$(mktemp)"
	trap 'rm -f "$pwfile"' EXIT
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of options, as upstream
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
		--auth-host="$auth_method" --encoding=UTF8 --locale=C.UTF-8 \
		$POSTGRES_INITDB_ARGS >&2
	rm -f "$pwfile"
	printf 'host all all all %s\n' "$auth_method" >>"$PGDATA/pg_hba.conf"
	printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

	# A one-off server on the Unix socket only: nothing outside can connect (and the TCP
	# health check fails) until initialisation is complete.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >&2
	psql_cmd=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres)
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		"${psql_cmd[@]}" --set db="$POSTGRES_DB" >&2 <<-'SQL'
			CREATE DATABASE :"db";
		SQL
	fi
	for script in /docker-entrypoint-initdb.d/*; do
		case "$script" in
		*.sh)
			log "running $script"
			# shellcheck disable=SC1090
			. "$script"
			;;
		*.sql)
			log "running $script"
			"${psql_cmd[@]}" --dbname "$POSTGRES_DB" -f "$script" >&2
			;;
		*.sql.gz)
			log "running $script"
			gunzip -c "$script" | "${psql_cmd[@]}" --dbname "$POSTGRES_DB" >&2
			;;
		*) ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w stop >&2
	unset POSTGRES_PASSWORD
	log 'initialisation complete; starting PostgreSQL'
fi

exec "$@"
