#!/bin/sh
# moto on loopback (plain HTTP), Caddy in front of it on :443 as PID 1.
set -eu
/opt/moto/bin/moto_server --host 127.0.0.1 --port 5000 &
exec caddy run --config /etc/s3test/Caddyfile --adapter caddyfile
