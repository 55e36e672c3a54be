#!/bin/sh
# Prometheus' entrypoint in compose.prod.yml: writes the `certificates` job's targets (one per
# name in DOMAINS) where prometheus.yml's file_sd_configs reads them, then runs Prometheus
# with the arguments given. POSIX sh: the official image is busybox-based.
set -eu

if [ -z "${DOMAINS:-}" ]; then
	echo "prometheus-start: set DOMAINS (comma-separated public host names)" >&2
	exit 2
fi
targets_dir=/tmp/prometheus-targets
mkdir -p "$targets_dir"

# Separated by commas (and whitespace), as the edge's start.sh reads the same variable.
list=""
for domain in $(printf '%s' "$DOMAINS" | tr ',' ' '); do
	case "$domain" in
	*[!A-Za-z0-9.-]* | .* | -* | *..*)
		echo "prometheus-start: not a host name in DOMAINS: $domain" >&2
		exit 2
		;;
	esac
	list="$list${list:+, }\"$domain\""
done
if [ -z "$list" ]; then
	echo "prometheus-start: DOMAINS names no host" >&2
	exit 2
fi
printf '[{"targets": [%s]}]\n' "$list" >"$targets_dir/certificates.json.new"
mv "$targets_dir/certificates.json.new" "$targets_dir/certificates.json"

# How many app replicas the stack runs (APP_REPLICAS, compose.prod.yml), as the series
# SignUpFlowInstanceDown compares the replicas found with: a stopped container leaves Docker's
# DNS, so only a count says one is missing. A deploy's extra replicas are more, never fewer.
replicas="${APP_REPLICAS:-2}"
case "$replicas" in
'' | *[!0-9]*)
	echo "prometheus-start: APP_REPLICAS is not a number: $replicas" >&2
	exit 2
	;;
esac
rules_dir=/tmp/prometheus-rules
mkdir -p "$rules_dir"
printf '%s\n' "groups:" "  - name: signupflow-configured" "    rules:" \
	"      - record: signupflow:app_replicas_expected" "        expr: vector($replicas)" \
	>"$rules_dir/replicas.yml.new"
mv "$rules_dir/replicas.yml.new" "$rules_dir/replicas.yml"

exec /bin/prometheus "$@"
