"""HTTP methods by what they may do."""

# The methods that only read and that the app answers with a body or its headers: a request
# with one of them gets a session that cannot write (deps.py), the web app's index
# (frontend.py) and the probes' answers (ops/health.py). OPTIONS and TRACE are safe too
# (RFC 9110, section 9.2.1), but no route answers them.
READS = frozenset({"GET", "HEAD"})
