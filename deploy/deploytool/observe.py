"""Watching a release after the cut-over: for --watch-window seconds the tool sends probe
requests through the edge (the check URL, --verify-url: a cheap endpoint that names the
release) and undoes the deploy when the share of failed probes (5xx or no answer) or their p99
latency crosses its threshold.

Probes, not the edge's metrics: Caddy 2.6 counts requests per handler only when told to, and a
probe also sees what a client sees (TLS, the edge, the replica). Each probe uses a fresh
connection, so a release that stops accepting connections fails probes too. The rate is taken
over the last ERROR_WINDOW probes, so a release that starts failing late in the window is
caught as quickly as one that fails at once; p99 over every probe of the window.
"""

from __future__ import annotations

import http.client
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from .edge import probe
from .runner import DeployError, say
from .settings import Settings

PROBE_INTERVAL_S = 0.2  # 5 probes a second
PROBE_TIMEOUT_S = 10
ERROR_WINDOW = 20  # probes: the failure rate is measured over the last 4 s
MIN_PROBES = 10  # before judging the failure rate
MIN_LATENCY_PROBES = 50  # before judging p99: one slow probe among few is not a p99


@dataclass
class Probe:
    at: float
    ok: bool
    seconds: float
    outcome: str  # the status, or the error's name


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def judge(
    probes: list[Probe], *, max_error_rate: float, max_p99: float
) -> tuple[str | None, float, float]:
    """(why the release fails, or None; failure rate over the last ERROR_WINDOW; p99 s)."""
    recent = probes[-ERROR_WINDOW:]
    rate = sum(not p.ok for p in recent) / len(recent) if recent else 0.0
    latency = p99([p.seconds for p in probes]) if probes else 0.0
    if len(recent) >= MIN_PROBES and rate > max_error_rate:
        failed = [p.outcome for p in recent if not p.ok]
        return (
            f"{rate:.0%} of the last {len(recent)} probes failed "
            f"(threshold {max_error_rate:.0%}; e.g. {failed[-1]})",
            rate,
            latency,
        )
    if len(probes) >= MIN_LATENCY_PROBES and latency > max_p99:
        return (f"probe p99 {latency * 1000:.0f} ms > {max_p99 * 1000:.0f} ms", rate, latency)
    return None, rate, latency


def observe(settings: Settings, release: str) -> dict[str, Any]:
    """Probe through the edge for the watch window; DeployError when a threshold is crossed.
    Returns the figures (journaled with the step)."""
    if settings.verify_url is None or settings.watch_window <= 0:
        say("watch: skipped (no check URL or --watch-window 0)")
        return {"probes": 0}
    say(
        f"watch: {settings.watch_window:.0f} s of probes to {settings.verify_url} "
        f"(undo above {settings.watch_max_error_rate:.0%} failed or p99 > "
        f"{settings.watch_max_p99 * 1000:.0f} ms)"
    )
    probes: list[Probe] = []
    other_releases: deque[str] = deque(maxlen=3)
    started = time.monotonic()
    deadline = started + settings.watch_window
    while time.monotonic() < deadline:
        sent = time.monotonic()
        try:
            status, answered = probe(
                settings.verify_url,
                connect=settings.verify_connect,
                cafile=settings.verify_cacert,
                timeout=PROBE_TIMEOUT_S,
            )
            ok = status < 500
            outcome = f"HTTP {status}"
            if ok and answered and answered != release:
                other_releases.append(answered)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            ok, outcome = False, type(exc).__name__
        probes.append(Probe(sent, ok, time.monotonic() - sent, outcome))
        why, rate, latency = judge(
            probes,
            max_error_rate=settings.watch_max_error_rate,
            max_p99=settings.watch_max_p99,
        )
        if why is not None:
            raise DeployError(
                f"release {release} failed its watch after {time.monotonic() - started:.1f} s "
                f"of {settings.watch_window:.0f}: {why}"
            )
        time.sleep(max(0.0, sent + PROBE_INTERVAL_S - time.monotonic()))
    _, rate, latency = judge(
        probes, max_error_rate=settings.watch_max_error_rate, max_p99=settings.watch_max_p99
    )
    if other_releases:
        raise DeployError(f"the edge answered with another release: {sorted(other_releases)}")
    say(f"watch: {len(probes)} probes, {rate:.0%} failed lately, p99 {latency * 1000:.0f} ms")
    return {"probes": len(probes), "p99_ms": round(latency * 1000, 1)}
