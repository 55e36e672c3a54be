"""Maintenance mode: the edge answers every request with 503 and Retry-After while a flag
file exists on its state volume (the Caddyfile's `@maintenance file` matcher; no reload)."""

from __future__ import annotations

from .edge import Edge
from .runner import say

FLAG = "/var/lib/signupflow-edge/maintenance"


def set_maintenance(edge: Edge, *, on: bool, reason: str = "") -> None:
    container = edge.container()
    if on:
        script = 'printf "%s\\n" "$1" > "$2"'
        args = [reason or "maintenance", FLAG]
    else:
        script = 'rm -f "$1"'
        args = [FLAG]
    edge.runner.docker_run("exec", container.id, "sh", "-c", script, "sh", *args)
    say(f"edge maintenance {'on: every request gets 503' if on else 'off'}")


def in_maintenance(edge: Edge) -> bool:
    container = edge.container()
    result = edge.runner.run(
        [*edge.runner.docker, "exec", container.id, "test", "-e", FLAG], timeout=30, check=False
    )
    return result.returncode == 0
