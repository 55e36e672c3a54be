"""Docker HEALTHCHECK: exit 0 when /health/live answers 200, 1 otherwise.

Liveness only (the process serves); readiness, which needs the database, is the edge's job
(/health/ready). The request carries a Host from ALLOWED_HOSTS because the app refuses any
other host name, and in production 127.0.0.1 is not one of them. Standard library only, and
no proxy: an HTTP(S)_PROXY meant for outgoing traffic must not intercept the probe.
"""

import json
import os
import sys
import urllib.request

PORT = os.environ.get("HEALTHCHECK_PORT", "8000")  # match `serve --port` if you change it
TIMEOUT_S = 3


def probe_host() -> str:
    raw = os.environ.get("ALLOWED_HOSTS", "").strip()
    hosts = json.loads(raw) if raw.startswith("[") else raw.split(",")
    hosts = [str(host).strip() for host in hosts if str(host).strip()]
    if not hosts:
        return "localhost"  # the default ALLOWED_HOSTS include it
    # "*" and "*.example.org" accept any name ending like that.
    return hosts[0].replace("*", "healthcheck", 1)


def main() -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/health/live", headers={"Host": probe_host()}
    )
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            status = response.status
    except Exception as exc:  # any failure means "not live"; say which
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    print(f"/health/live answered {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
