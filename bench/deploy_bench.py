"""`make bench-deploy`: deploys and rollbacks with deploy/deploy.py under a load that never
retries.

The production stack (compose.prod.yml + Caddy + Pebble, on the local stand-in images) is
started once, serving v1. The load (harness/stack.py MixedLoad) is what a strict client sends:
persistent HTTPS connections through the edge, GETs and POSTs that create a person, every one
sent once: any error or unexpected status counts as a failure, and every write the server
acknowledged is looked up in the database afterwards.

1. Before, in the same run: BENCH_RELOADS (default 5) forced `caddy reload`s under that load,
   the edge change every deploy made before the switch moved to network aliases: what a
   reload costs such a client.
2. BENCH_DEPLOYS deploys (default 20), alternating v1 and v2, and after every fourth a
   `rollback` (BENCH_ROLLBACKS, default 5), each under its own load.

Reported: failed requests (goal: none), acknowledged writes found afterwards (goal: all),
the switch's timings (new replicas in the edge's rotation, the old ones out of it, the whole
deploy). Results are printed and written to bench/results/deploy-<time>.{md,json}. Needs root
and a Docker engine, as the container tests do. The app image is built from the working tree;
BENCH_APP_IMAGE=<tag> uses an image that already exists instead. BENCH_WATCH_WINDOW (default
5) is the deploy tool's watch after the cut-over, in seconds.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.docker import BASE_BUILDER, BASE_IMAGES, DOCKER, DOCKERFILE, docker_cmd
from harness.repository import REPO, git
from harness.stack import MixedLoad, ProductionStack, build_test_images, production_stack

RESULTS_DIR = Path(__file__).with_name("results")
DEFAULT_DEPLOYS = 20
DEFAULT_ROLLBACKS = 5
DEFAULT_RELOADS = 5
DEFAULT_WATCH_WINDOW_S = 5
ROLLBACK_EVERY = 4  # deploys between rollbacks
SETTLE_S = 2  # load running, slow requests in flight, before each operation
RELOAD = ("caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile")
APP_TAG = "signupflow:bench-deploy"
BUILD_TIMEOUT_S = 1800


@dataclass
class Run:
    number: int
    kind: str  # deploy | rollback | reload (the old switch's edge change)
    release: str
    result: str
    exit_code: int
    seconds: float
    in_rotation_s: float | None  # new replicas healthy at the edge after joining
    out_of_rotation_s: float | None  # old replicas out of the edge's rotation after SIGTERM
    requests: int
    rate: float
    failed: int
    writes: int
    acknowledged: int
    missing: int
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


def journal_figures(stack: ProductionStack, deployment_id: str) -> dict[str, float]:
    """The switch's figures the tool journaled for one deployment."""
    figures: dict[str, float] = {}
    journal = stack.state_dir / stack.project / "journal.jsonl"
    for line in journal.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("deployment") == deployment_id:
            for key in ("in_rotation_s", "out_of_rotation_s"):
                if key in entry:
                    figures[key] = float(entry[key])
    return figures


def under_load(
    stack: ProductionStack, number: int, kind: str, release: str, action: Callable[[], int]
) -> tuple[Run, MixedLoad]:
    with MixedLoad(stack) as load:
        time.sleep(SETTLE_S)
        began = time.monotonic()
        exit_code = action()
        elapsed = time.monotonic() - began
        time.sleep(1)
        traffic = load.stop()
    figures: dict[str, float] = {}
    result = "succeeded" if exit_code == 0 else "failed"
    if kind != "reload":
        entry = stack.history()[-1]
        result = str(entry.get("result"))
        figures = journal_figures(stack, str(entry["id"]))
    writes = [o for o in traffic.outcomes if o.method == "POST"]
    run = Run(
        number=number,
        kind=kind,
        release=release,
        result=result,
        exit_code=exit_code,
        seconds=round(elapsed, 2),
        in_rotation_s=figures.get("in_rotation_s"),
        out_of_rotation_s=figures.get("out_of_rotation_s"),
        requests=len(traffic.outcomes),
        rate=round(traffic.rate, 1),
        failed=len(traffic.failures),
        writes=len(writes),
        acknowledged=len(load.acknowledged),
        missing=len(load.missing_writes()),
        failures=traffic.describe_failures(5),
    )
    print(
        f"{number:3} {kind:8} {release} {run.result:11} {run.seconds:6.1f} s  "
        f"{run.requests} requests ({run.rate}/s), {run.failed} failed, "
        f"{run.acknowledged}/{run.writes} writes acknowledged, {run.missing} missing",
        flush=True,
    )
    if run.failed:
        print(run.failures, flush=True)
    return run, load


def main() -> int:
    if os.geteuid() != 0:
        print("bench-deploy needs root (secrets owned by container users)", file=sys.stderr)
        return 2
    deploys = int(os.environ.get("BENCH_DEPLOYS", DEFAULT_DEPLOYS))
    rollbacks = int(os.environ.get("BENCH_ROLLBACKS", DEFAULT_ROLLBACKS))
    reloads = int(os.environ.get("BENCH_RELOADS", DEFAULT_RELOADS))
    window = float(os.environ.get("BENCH_WATCH_WINDOW", DEFAULT_WATCH_WINDOW_S))
    started_at = datetime.now(UTC)
    images = build_test_images(os.environ.get("BENCH_APP_IMAGE") or build_images())
    runs: list[Run] = []
    loads: list[MixedLoad] = []
    with production_stack(images, BASE_IMAGES) as stack:
        print(f"stack up; certificates in {stack.cert_seconds:.1f} s", flush=True)
        number = 0

        def deploy(*args: str) -> Callable[[], int]:
            return lambda: stack.run_deploy(*args, watch_window=window).returncode

        def reload() -> int:
            # --force: a real reload (new servers; the old ones close their idle connections)
            # even though the file did not change, as every switch did before.
            return docker_cmd("exec", stack.edge_id(), *RELOAD, "--force", check=False).returncode

        for _ in range(reloads):
            number += 1
            run, load = under_load(stack, number, "reload", "v1", reload)
            runs.append(run)
            loads.append(load)
        current, done_rollbacks = "v1", 0
        for count in range(1, deploys + 1):
            number += 1
            release = "v2" if current == "v1" else "v1"
            run, load = under_load(
                stack, number, "deploy", release, deploy("deploy", getattr(images, release))
            )
            runs.append(run)
            loads.append(load)
            if run.result == "succeeded":
                current = release
            if count % ROLLBACK_EVERY == 0 and done_rollbacks < rollbacks:
                number += 1
                back = "v2" if current == "v1" else "v1"
                run, load = under_load(stack, number, "rollback", back, deploy("rollback"))
                runs.append(run)
                loads.append(load)
                done_rollbacks += 1
                if run.result == "succeeded":
                    current = back
        # Every acknowledged write, looked up again at the very end.
        missing_at_end = sum(len(load.missing_writes()) for load in loads)
    report = render(runs, started_at, cert_seconds=stack.cert_seconds, window=window,
                    missing_at_end=missing_at_end)  # fmt: skip
    print(report)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"deploy-{stamp}.md").write_text(report)
    (RESULTS_DIR / f"deploy-{stamp}.json").write_text(
        json.dumps(
            {
                "started_at": started_at.isoformat(),
                "missing_at_end": missing_at_end,
                "runs": [asdict(r) for r in runs],
            }
        )
        + "\n"
    )
    print(f"written to {RESULTS_DIR / f'deploy-{stamp}.md'}")
    changes = [r for r in runs if r.kind != "reload"]
    ok = (
        all(r.failed == 0 and r.missing == 0 for r in changes)
        and all(r.result == "succeeded" for r in changes)
        and missing_at_end == 0
    )
    return 0 if ok else 1


def render(
    runs: list[Run],
    started_at: datetime,
    *,
    cert_seconds: float,
    window: float,
    missing_at_end: int,
) -> str:
    reloads = [r for r in runs if r.kind == "reload"]
    deploys = [r for r in runs if r.kind == "deploy"]
    rollbacks = [r for r in runs if r.kind == "rollback"]
    changes = deploys + rollbacks

    def row(label: str, group: list[Run]) -> str:
        return (
            f"| {label} | {len(group)} | {sum(r.result == 'succeeded' for r in group)} | "
            f"{sum(r.failed for r in group)} of {sum(r.requests for r in group)} | "
            f"{sum(r.acknowledged for r in group)} of {sum(r.writes for r in group)} | "
            f"{sum(r.missing for r in group)} |"
        )

    lines = [
        f"# SignUpFlow deploy benchmark, {started_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"- code: git {git('rev-parse', '--short', 'HEAD')}"
        f"{'-dirty' if git('status', '--porcelain') else ''}",
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"kernel {platform.release()}, load average at end {os.getloadavg()[0]:.2f}",
        f"- stack: compose.prod.yml + caddy + pebble, 2 replicas; certificates in "
        f"{cert_seconds:.1f} s; watch after the cut-over {window:.0f} s",
        "- load per operation: 64 requests/s on 16 persistent HTTPS connections through the "
        "edge (GET /health/live; an authenticated GET /api/v1/events and POST "
        "/api/v1/people, one in twelve and one in six), plus 4 clients with a 5 s request "
        "always in flight; no request is ever sent twice",
        "",
        "| operation | count | succeeded | failed requests | writes acknowledged | "
        "acknowledged but missing |",
        "| --- | --- | --- | --- | --- | --- |",
        row("forced `caddy reload` (the switch before)", reloads),
        row("deploy", deploys),
        row("rollback", rollbacks),
        "",
        f"- acknowledged writes missing when looked up again at the end: {missing_at_end}",
        f"- deploy, whole (watch included): {describe([r.seconds for r in deploys])}",
        f"- rollback, whole: {describe([r.seconds for r in rollbacks])}",
        "- new replicas healthy at the edge after joining the rotation: "
        f"{describe([r.in_rotation_s for r in changes if r.in_rotation_s is not None])}",
        "- old replicas out of the edge's rotation after SIGTERM: "
        f"{describe([r.out_of_rotation_s for r in changes if r.out_of_rotation_s is not None])}",
        "",
        "| # | operation | release | result | s | in rotation s | out s | requests | failed "
        "| writes | missing |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        lines.append(
            f"| {r.number} | {r.kind} | {r.release} | {r.result} | {r.seconds:.1f} | "
            f"{r.in_rotation_s if r.in_rotation_s is not None else '-'} | "
            f"{r.out_of_rotation_s if r.out_of_rotation_s is not None else '-'} | "
            f"{r.requests} | {r.failed} | {r.acknowledged}/{r.writes} | {r.missing} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
