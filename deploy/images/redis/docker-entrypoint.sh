#!/bin/sh
# As the official redis image: options alone (`--appendonly yes`) or a config file run
# redis-server, which then replaces this shell as PID 1 and receives SIGTERM itself.
set -eu

case "${1:-}" in
-* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = 'redis-server' ]; then
	shift
	case "${1:-}" in
	*.conf) exec redis-server "$@" ;; # the file decides bind and protected mode
	esac
	# Debian's build enables protected mode, which refuses every client from another
	# container when no password is set; the official image builds it disabled.
	exec redis-server --protected-mode no --bind '* -::*' "$@"
fi
exec "$@"
