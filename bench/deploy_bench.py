"""`make bench-deploy`: consecutive deploys with deploy/deploy.py under continuous load.

The production stack (compose.prod.yml + Caddy + Pebble, on the local stand-in images) is
started once, serving v1. Then BENCH_DEPLOYS deploys (default 20) run one after another, each
under the deploy tests' load (harness/stack.py: 64 requests/s on persistent HTTPS connections
through the edge, plus four clients that always have a 5 s request in flight): good releases
alternate v1 and v2, and every fifth deploy is the broken v3, which the tool must roll back by
itself.

Reported per deploy and in total: failed requests (goal: none), deploy time, and rollback time
(goal: under 15 s). Results are printed and written to bench/results/deploy-<time>.{md,json}.
Needs root and a Docker engine, as the container tests do. The app image is built from the
working tree; BENCH_APP_IMAGE=<tag> uses an image that already exists instead.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.docker import BASE_BUILDER, BASE_IMAGES, DOCKER, DOCKERFILE
from harness.repository import REPO, git
from harness.stack import Load, build_test_images, production_stack

RESULTS_DIR = Path(__file__).with_name("results")
DEFAULT_DEPLOYS = 20
BROKEN_EVERY = 5
ROLLBACK_GOAL_S = 15
SETTLE_S = 2  # load running, slow requests in flight, before each deploy
APP_TAG = "signupflow:bench-deploy"
BUILD_TIMEOUT_S = 1800


@dataclass
class Run:
    number: int
    release: str
    result: str
    exit_code: int
    deploy_s: float
    rollback_s: float | None  # the undo itself (automatic rollbacks)
    requests: int
    rate: float
    failed: int
    retried: int
    failures: str


def build_images() -> str:
    steps = [
        [sys.executable, str(BASE_BUILDER), "--docker", str(DOCKER)],
        [
            str(DOCKER),
            "build",
            "--quiet",
            "--file",
            str(REPO / DOCKERFILE),
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGES['python']}",
            "--tag",
            APP_TAG,
            str(REPO),
        ],
    ]
    for command in steps:
        print("$", " ".join(command[:4]), "...", flush=True)
        subprocess.run(command, check=True, timeout=BUILD_TIMEOUT_S, cwd=REPO)
    return APP_TAG


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def describe(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"median {statistics.median(values):.1f} s, p95 {percentile(values, 0.95):.1f} s, "
        f"max {max(values):.1f} s (n={len(values)})"
    )


def main() -> int:
    if os.geteuid() != 0:
        print("bench-deploy needs root (secrets owned by container users)", file=sys.stderr)
        return 2
    count = int(os.environ.get("BENCH_DEPLOYS", DEFAULT_DEPLOYS))
    started_at = datetime.now(UTC)
    images = build_test_images(os.environ.get("BENCH_APP_IMAGE") or build_images())
    runs: list[Run] = []
    with production_stack(images, BASE_IMAGES) as stack:
        print(f"stack up; certificates in {stack.cert_seconds:.1f} s", flush=True)
        current = "v1"
        for number in range(1, count + 1):
            broken = number % BROKEN_EVERY == 0
            release = "v3" if broken else ("v2" if current == "v1" else "v1")
            image = getattr(images, release)
            with Load(stack) as load:
                time.sleep(SETTLE_S)
                began = time.monotonic()
                result = stack.run_deploy("deploy", image)
                elapsed = time.monotonic() - began
                time.sleep(1)
                traffic = load.stop()
            entry = stack.history()[-1]
            durations = entry.get("durations") or {}
            run = Run(
                number=number,
                release=release,
                result=str(entry.get("result")),
                exit_code=result.returncode,
                deploy_s=round(elapsed, 2),
                rollback_s=durations.get("rollback"),
                requests=len(traffic.outcomes),
                rate=round(traffic.rate, 1),
                failed=len(traffic.failures),
                retried=len(traffic.retried),
                failures=traffic.describe_failures(5),
            )
            runs.append(run)
            if run.result == "succeeded":
                current = release
            print(
                f"{number:3} {release} {run.result:11} {run.deploy_s:6.1f} s  "
                f"rollback {run.rollback_s if run.rollback_s is not None else '-'}  "
                f"{run.requests} requests ({run.rate}/s), {run.failed} failed, "
                f"{run.retried} retried",
                flush=True,
            )
            if run.failed:
                print(run.failures, flush=True)
    report = render(runs, started_at, cert_seconds=stack.cert_seconds)
    print(report)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"deploy-{stamp}.md").write_text(report)
    (RESULTS_DIR / f"deploy-{stamp}.json").write_text(
        json.dumps({"started_at": started_at.isoformat(), "runs": [asdict(r) for r in runs]}) + "\n"
    )
    print(f"written to {RESULTS_DIR / f'deploy-{stamp}.md'}")
    good = [r for r in runs if r.release != "v3"]
    undone = [r.rollback_s for r in runs if r.rollback_s is not None]
    ok = (
        all(r.failed == 0 for r in runs)
        and all(r.result == "succeeded" for r in good)
        and all(r.result == "rolled_back" for r in runs if r.release == "v3")
        and all(value < ROLLBACK_GOAL_S for value in undone)
    )
    return 0 if ok else 1


def render(runs: list[Run], started_at: datetime, *, cert_seconds: float) -> str:
    good = [r for r in runs if r.release != "v3"]
    broken = [r for r in runs if r.release == "v3"]
    undone = [r.rollback_s for r in broken if r.rollback_s is not None]
    lines = [
        f"# SignUpFlow deploy benchmark, {started_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"- code: git {git('rev-parse', '--short', 'HEAD')}"
        f"{'-dirty' if git('status', '--porcelain') else ''}",
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"kernel {platform.release()}, load average at end {os.getloadavg()[0]:.2f}",
        f"- stack: compose.prod.yml + caddy + pebble, 2 replicas; certificates in "
        f"{cert_seconds:.1f} s",
        "- load per deploy: 64 requests/s on 16 persistent HTTPS connections through the edge, "
        "plus 4 clients with a 5 s request always in flight",
        "",
        "| deploys | succeeded | broken, rolled back | failed requests | retried on a new "
        "connection |",
        "| --- | --- | --- | --- | --- |",
        f"| {len(runs)} | {sum(r.result == 'succeeded' for r in good)}/{len(good)} | "
        f"{sum(r.result == 'rolled_back' for r in broken)}/{len(broken)} | "
        f"{sum(r.failed for r in runs)} of {sum(r.requests for r in runs)} | "
        f"{sum(r.retried for r in runs)} |",
        "",
        f"- deploy time (good releases): {describe([r.deploy_s for r in good])}",
        f"- broken release, whole deploy (20 s readiness timeout included): "
        f"{describe([r.deploy_s for r in broken])}",
        f"- rollback time (the undo, goal < {ROLLBACK_GOAL_S} s): {describe(undone)}",
        "",
        "| # | release | result | deploy s | rollback s | requests | failed | retried |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        lines.append(
            f"| {r.number} | {r.release} | {r.result} | {r.deploy_s:.1f} | "
            f"{r.rollback_s if r.rollback_s is not None else '-'} | {r.requests} | "
            f"{r.failed} | {r.retried} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
