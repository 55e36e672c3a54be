"""What every benchmark report starts with (the machine and the versions that ran) and where
it is kept (bench/results/, ignored by git)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from harness.wrk import wrk_binary

RESULTS_DIR = Path(__file__).with_name("results")


def package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_facts() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = int(next(line.split()[1] for line in meminfo.splitlines() if "MemTotal" in line))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown",
    )
    wrk = wrk_binary()
    wrk_version = (
        subprocess.run(
            [wrk, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split("Copyright")[0]
        if wrk
        else "not installed"
    )
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    return {
        "code": f"signupflow {package_version('signupflow')}, git {commit or 'unknown'}",
        "load average at start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "nproc": str(len(os.sched_getaffinity(0))),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk_version.strip(),
        "fastapi": package_version("fastapi"),
        "starlette": package_version("starlette"),
        "uvicorn": package_version("uvicorn"),
        "sqlalchemy": package_version("sqlalchemy"),
        "psycopg": package_version("psycopg"),
    }


def save_report(name: str, text: str, raw: dict[str, Any]) -> None:
    """Print the Markdown report and keep it, with the raw figures as JSON, in bench/results/."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"{name}-{stamp}.md").write_text(text)
    (RESULTS_DIR / f"{name}-{stamp}.json").write_text(json.dumps(raw, indent=2))
    print("\n" + text)
    print(f"written to {RESULTS_DIR / f'{name}-{stamp}.md'}")


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def start_run(*, needs_wrk: bool = True) -> dict[str, str]:
    """What every benchmark does first: refuse to start without wrk, stop cleanly (servers and
    databases removed) on SIGTERM or SIGHUP as on Ctrl-C, and print the machine's facts."""
    if needs_wrk and wrk_binary() is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    facts = machine_facts()
    print("\n".join(f"{key}: {value}" for key, value in facts.items()), flush=True)
    return facts


def run(main: Callable[[], int]) -> NoReturn:
    """`python -m bench.X`: run `main` and exit with its status; 130 when interrupted (its
    servers and databases are stopped on the way out)."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers and databases were stopped", file=sys.stderr)
        sys.exit(130)
