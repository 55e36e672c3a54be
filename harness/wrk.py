"""Run wrk against 127.0.0.1 and read its report (requests/s, latency percentiles, errors)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

ROTATE_PATHS_LUA = Path(__file__).with_name("rotate_paths.lua")
# wrk's own default is 2 s: a request slower than that is counted as a timeout and its latency
# is lost. Ten seconds keeps the latency of an overloaded server measured instead of discarded.
REQUEST_TIMEOUT_S = 10
# Room for wrk to start, connect and print after its run, before it is considered hung.
WRK_GRACE_S = 30

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"
_PERCENTILE = re.compile(rf"^\s*(50|75|90|99)(?:\.0+)?%\s+{_DURATION}\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_SOCKET = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_NON_2XX_3XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_STATUS_JSON = re.compile(r"^STATUS_JSON (\{.*\})$", re.MULTILINE)


class WrkError(RuntimeError):
    """wrk did not run, or printed something that is not a wrk report."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    # Filled only when the run used rotate_paths.lua, which sees every status code.
    statuses: dict[str, int] | None = None

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts

    @property
    def non_2xx(self) -> int:
        """Responses outside 2xx: exact with rotate_paths.lua, else wrk's non-2xx-or-3xx."""
        if self.statuses is None:
            return self.non_2xx_3xx
        return sum(n for code, n in self.statuses.items() if not code.startswith("2"))


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_report(output: str) -> WrkResult:
    """Read the report `wrk --latency` prints; raise WrkError if a figure is missing."""
    percentiles = {m.group(1): _ms(m.group(2), m.group(3)) for m in _PERCENTILE.finditer(output)}
    total = _TOTAL.search(output)
    rate = _RATE.search(output)
    if total is None or rate is None or not {"50", "99"} <= percentiles.keys():
        raise WrkError(f"not a `wrk --latency` report:\n{output}")
    socket = _SOCKET.search(output)
    connect, read, write, timeout = (int(g) for g in socket.groups()) if socket else (0, 0, 0, 0)
    non_ok = _NON_2XX_3XX.search(output)
    status_json = _STATUS_JSON.search(output)
    statuses = None
    if status_json is not None:
        statuses = {str(k): int(v) for k, v in json.loads(status_json.group(1)).items()}
    return WrkResult(
        requests=int(total.group(1)),
        seconds=_ms(total.group(2), total.group(3)) / 1000,
        requests_per_s=float(rate.group(1)),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        non_2xx_3xx=int(non_ok.group(1)) if non_ok else 0,
        connect_errors=connect,
        read_errors=read,
        write_errors=write,
        timeouts=timeout,
        statuses=statuses,
    )


def wrk_command(
    url: str,
    *,
    connections: int,
    duration_s: int,
    token: str | None = None,
    rotate_paths: list[str] | None = None,
    wrk: str = "wrk",
) -> list[str]:
    """The wrk command line. Two client threads once there is more than one connection."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"load is only ever sent to 127.0.0.1, not {url}")
    threads = 1 if connections == 1 else 2
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        f"--timeout={REQUEST_TIMEOUT_S}s",
        "--latency",
    ]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    if rotate_paths:
        command += ["-s", str(ROTATE_PATHS_LUA), url, "--", *rotate_paths]
    else:
        command.append(url)
    return command


def shown(command: list[str]) -> str:
    """The command as it can be pasted into a shell, with the bearer token left out."""
    parts = []
    for part in command:
        if part.startswith("Authorization: Bearer "):
            part = "Authorization: Bearer $TOKEN"
        parts.append(f'"{part}"' if (" " in part or "?" in part or "$" in part) else part)
    return " ".join(parts)


def run_wrk(command: list[str], *, duration_s: int) -> tuple[WrkResult, str]:
    """Run wrk to completion (bounded by its duration plus a grace period); the parsed report
    and the raw output."""
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=duration_s + REQUEST_TIMEOUT_S + WRK_GRACE_S,
        check=False,
    )
    if completed.returncode != 0:
        raise WrkError(
            f"{shown(command)} exited {completed.returncode}:\n{completed.stdout}{completed.stderr}"
        )
    return parse_report(completed.stdout), completed.stdout


def run_drained(
    client: httpx.Client, url: str, *, connections: int, duration_s: int, token: str | None
) -> tuple[WrkResult, list[str]]:
    """One wrk run of `url`, and the command that ran. wrk stops without waiting for the
    answers still queued in the server: one request of our own comes back only after them, so
    the next run starts on an idle server."""
    command = wrk_command(
        url, connections=connections, duration_s=duration_s, token=token, wrk=wrk_binary() or "wrk"
    )
    result = run_wrk(command, duration_s=duration_s)[0]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client.get(url, headers=headers).raise_for_status()
    return result, command
