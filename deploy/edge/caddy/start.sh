#!/bin/sh
# Command of the Caddy edge container (deploy/compose/compose.caddy.yml): writes the files the
# Caddyfile imports, then runs Caddy as PID 1 (it receives SIGTERM itself).
#
# They live in the container's own file system: they survive a restart of the container
# but not its re-creation, when the app replicas are normally re-created as well and the
# service name is the right starting point again.
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
# with the replicas it has seen ready; until then, every replica behind the service's name.
if [ ! -s "$state/upstreams.caddy" ]; then
	printf 'to app:8000\n' > "$state/upstreams.caddy"
fi

exec caddy run --config /etc/caddy/Caddyfile --adapter caddyfile
