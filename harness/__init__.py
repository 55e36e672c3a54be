"""What the tests (tests/) and the benchmarks (bench/) both run against: real `signupflow
serve` processes, throwaway PostgreSQL clusters, wrk, the Docker engine, the Compose stacks and
the production stack with its load generator.

Neither side imports the other: both import from here, and this package imports neither. The
application (src/) never imports it, and it is not part of the image (.dockerignore).
"""
