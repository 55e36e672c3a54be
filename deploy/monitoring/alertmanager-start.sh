#!/bin/sh
# Alertmanager's entrypoint in compose.prod.yml. Alertmanager 0.25 has no `url_file` for
# webhooks, so the receiver's URL (a secret: it may carry a token) is put into the
# configuration here, at start, in a file on the container's tmpfs; neither the repository
# nor the image ever holds it. POSIX sh: the official image is busybox-based.
set -eu

# Beside this script: compose.prod.yml mounts deploy/monitoring/ at /etc/alertmanager.
template=$(dirname "$0")/alertmanager.yml
url_file=${ALERT_WEBHOOK_URL_FILE:-/run/secrets/alert_webhook_url}
rendered_dir=/tmp/alertmanager
placeholder=https://alert-webhook-url.invalid/

if [ ! -r "$url_file" ]; then
	echo "alertmanager-start: cannot read the webhook URL from $url_file" >&2
	exit 2
fi
url=$(head -n 1 "$url_file" | tr -d '\r')
case "$url" in
http://* | https://*) ;;
*)
	echo "alertmanager-start: $url_file does not hold an http(s) URL" >&2
	exit 2
	;;
esac
case "$url" in
*[\"\\\ ]*)
	echo "alertmanager-start: the URL in $url_file holds a quote, backslash or space" >&2
	exit 2
	;;
esac

mkdir -p "$rendered_dir"
umask 077
# awk, not sed: the URL may hold any of sed's special characters (&, |, /).
URL="$url" awk -v placeholder="$placeholder" '
	{ while ((i = index($0, placeholder)) > 0) {
		$0 = substr($0, 1, i - 1) ENVIRON["URL"] substr($0, i + length(placeholder)) }
	  print }' "$template" >"$rendered_dir/alertmanager.yml"

exec /bin/alertmanager --config.file="$rendered_dir/alertmanager.yml" "$@"
