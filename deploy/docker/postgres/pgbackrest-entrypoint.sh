#!/usr/bin/env bash
# Entrypoint of the PostgreSQL + pgBackRest image (server and sidecar alike).
# 1. Secrets: every PGBACKREST_<OPTION>_FILE (e.g. PGBACKREST_REPO1_CIPHER_PASS_FILE, a
#    Compose secret) becomes `<option>=<file content>` in /etc/pgbackrest/conf.d/secrets.conf
#    (mode 0600), so `docker exec ... pgbackrest info` works too, and the value is never in
#    the container's environment or `docker inspect`. The _FILE variables are then unset:
#    pgBackRest warns about PGBACKREST_* variables it does not know. Options whose own name
#    ends in -file (PGBACKREST_REPO1_STORAGE_CA_FILE: a path, not a secret) are left to
#    pgBackRest.
# 2. `postgres`: the settings of /etc/pgbackrest/postgresql.archiving.conf (archive_mode,
#    archive_command, archive_timeout, ...) are passed as -c options to the image's own
#    docker-entrypoint.sh, which initialises PGDATA on first start and execs PostgreSQL.
set -Eeuo pipefail

conf_dir=/etc/pgbackrest/conf.d
secrets_conf="$conf_dir/secrets.conf"
umask 077
partial="$(mktemp "$conf_dir/.secrets.XXXXXX")"
printf '[global]\n' >"$partial"
while IFS='=' read -r name path; do
	option="${name#PGBACKREST_}"
	option="${option%_FILE}"
	option="${option,,}"
	option="${option//_/-}"
	if [ ! -r "$path" ]; then
		printf 'pgbackrest-entrypoint: %s: cannot read %s\n' "$name" "$path" >&2
		rm -f "$partial"
		exit 1
	fi
	printf '%s=%s\n' "$option" "$(<"$path")" >>"$partial"
	unset "$name"
done < <(env | grep -E '^PGBACKREST_[A-Z0-9_]+_FILE=' | grep -vE '^PGBACKREST_[A-Z0-9_]+_CA_FILE=' || true)
mv -f "$partial" "$secrets_conf"

if [ "${1:-}" = 'postgres' ]; then
	shift
	settings=()
	while IFS= read -r line; do
		case "$line" in '' | '#'*) continue ;; esac
		key="${line%%=*}"
		value="${line#*=}"
		key="${key//[[:space:]]/}"
		value="${value#"${value%%[![:space:]]*}"}"
		value="${value%"${value##*[![:space:]]}"}"
		value="${value#\'}"
		value="${value%\'}"
		settings+=(-c "$key=$value")
	done </etc/pgbackrest/postgresql.archiving.conf
	exec docker-entrypoint.sh postgres "${settings[@]}" "$@"
fi

exec "$@"
