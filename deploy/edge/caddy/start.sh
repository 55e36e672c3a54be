#!/bin/sh
# Command of the Caddy edge container (deploy/compose/compose.prod.yml): writes the files the
# Caddyfile imports, then runs Caddy as PID 1 (it receives SIGTERM itself).
#
# They live on the edge-state volume. The replicas the edge proxies to are not among them:
# the deploy tool gives them network aliases (see the Caddyfile), which a re-created edge
# finds as they are.
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

# Which app replicas to proxy to is not configured here: the Caddyfile names app-blue and
# app-green, aliases the deploy tool gives ready replicas on the edge network. An upstream
# list that older versions of the tool wrote is no longer read.
rm -f "$state/upstreams.caddy"

exec caddy run --config /etc/caddy/Caddyfile --adapter caddyfile
