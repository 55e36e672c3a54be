#!/bin/sh
# Command of the Caddy edge container (deploy/compose/compose.prod.yml): writes the files the
# Caddyfile imports, then runs Caddy as PID 1 (it receives SIGTERM itself).
#
# They live on the edge-state volume, so a re-created edge (a new Caddy image, a changed
# setting, `docker compose up --force-recreate`) starts with the upstream list the deploy tool
# last wrote, not with every container behind the service name.
set -eu

state=/var/lib/signupflow-edge
mkdir -p "$state"

: "${DOMAINS:?set DOMAINS (comma-separated public host names)}"
# "a.example,b.example" -> "a.example b.example": Caddy 2.6 separates site addresses by
# whitespace (or comma plus space), and DOMAINS is the same comma list as ALLOWED_HOSTS.
printf '%s\n' "$DOMAINS" | tr ',' ' ' > "$state/sites.caddy"

if [ -n "${ACME_EMAIL:-}" ]; then
	printf 'email %s\n' "$ACME_EMAIL" > "$state/account.caddy"
else
	# Not an empty file: Caddy 2.6 refuses to import one.
	printf '# ACME_EMAIL is empty: the ACME account has no contact address\n' > "$state/account.caddy"
fi

# Which app replicas to proxy to. deploy/deploy.py replaces this file (then `caddy reload`)
# with the replicas it has seen ready, and the file outlives the container. It is kept only
# while every replica it names exists (Docker's DNS knows the name): after `down` and `up`
# the replicas are new, and until the next `deploy.py reload-edge` every replica behind the
# service's name is the right starting point.
resolves() {
	getent hosts "$1" >/dev/null 2>&1 || nslookup "$1" >/dev/null 2>&1
}
keep=no
if [ -s "$state/upstreams.caddy" ]; then
	keep=yes
	# shellcheck disable=SC2013  # words, not lines: `to a:8000 b:8000`
	for upstream in $(cat "$state/upstreams.caddy"); do
		[ "$upstream" = to ] && continue
		resolves "${upstream%:*}" || keep=no
	done
fi
if [ "$keep" = yes ]; then
	echo "start.sh: proxying to the replicas the deploy tool named: $(cat "$state/upstreams.caddy")" >&2
else
	printf 'to app:8000\n' > "$state/upstreams.caddy"
fi

exec caddy run --config /etc/caddy/Caddyfile --adapter caddyfile
