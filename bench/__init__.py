"""Benchmarks of a real `signupflow serve` process driven by wrk (see docs/benchmarks.md)."""
