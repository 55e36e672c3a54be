"""HTTP methods by what they may do (RFC 9110, section 9.2.1)."""

# The methods that only read: a request with one of them gets a session that cannot write
# (deps.py), the web app's index (frontend.py) and the probes' answers (ops/health.py).
READS = frozenset({"GET", "HEAD"})
