"""wrk driven by a plan of requests (request_plan.lua): each request with its own method, path,
bearer token and JSON body, every answer counted by status (4xx by problem type), and a drain
at the end, so that every request sent has been answered when the counts are read.

`wrk -d` cannot stop cleanly on its own: at the end of its duration it drops the requests still
in flight, which the server may then complete unseen, so a benchmark could not tell how many
writes it made. Here the window ends when the driver creates a stop file; the script then sends
nothing new (in "cycle" mode, only the withdrawals it still owes), each thread stops once it has
its last answer, and the driver ends wrk with SIGINT, on which wrk prints its report as usual.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from harness.wrk import REQUEST_TIMEOUT_S, WRK_GRACE_S, WrkError, WrkResult, parse_report, shown

PLAN_LUA = Path(__file__).with_name("request_plan.lua")
# Once the window ends, a request still in flight has at most wrk's timeout left to answer.
DRAIN_TIMEOUT_S = REQUEST_TIMEOUT_S + 5
READY_TIMEOUT_S = 60  # reading a plan of 100,000 requests takes wrk's threads well under 1 s
_PLAN_JSON = re.compile(r"^PLAN_JSON (\{.*\})$", re.MULTILINE)
_FIELD = re.compile(r"[\t\r\n]")

Mode = Literal["once", "cycle"]


@dataclass(frozen=True)
class PlannedRequest:
    method: str
    path: str
    token: str  # a key of Plan.tokens
    body: str = ""


@dataclass(frozen=True)
class Plan:
    """`once`: each request at most once, in order; `cycle`: round and round, every assignment
    answered 201 withdrawn again (DELETE /api/v1/assignments/ID, by the volunteer for a
    sign-up, else by the token keyed "admin") when a later POST's turn comes and while
    draining, so that the data does not grow."""

    tokens: Mapping[str, str]
    requests: Sequence[PlannedRequest]
    mode: Mode

    def write(self, path: Path) -> None:
        lines = [f"token\t{key}\t{token}" for key, token in self.tokens.items()]
        lines += [f"request\t{r.method}\t{r.path}\t{r.token}\t{r.body}" for r in self.requests]
        for line in lines:
            if any(_FIELD.search(part) for part in line.split("\t")):
                raise ValueError(f"a plan field holds a tab or a line break: {line!r}")
        path.write_text("\n".join(lines) + "\n")

    def check(self, threads: int) -> None:
        if len(self.requests) < threads:
            raise ValueError(f"a plan needs at least {threads} requests (one per wrk thread)")
        missing = {r.token for r in self.requests} - set(self.tokens)
        if self.mode == "cycle":
            missing |= {"admin"} - set(self.tokens)
        if missing:
            raise ValueError(f"the plan uses tokens it does not define: {sorted(missing)}")


@dataclass(frozen=True)
class ThreadCounts:
    taken: int  # planned requests taken from the thread's share of the plan
    sent: int
    received: int
    withdrawals_left: int


@dataclass(frozen=True)
class PlanRun:
    result: WrkResult
    window_s: float  # while new planned requests went out: wrk's run without the drain
    drain_s: float
    statuses: dict[str, int]
    threads: list[ThreadCounts]
    created: list[int] = field(repr=False)  # ids answered 201 ("once" mode)
    exhausted: bool  # a "once" plan ran out before the window ended
    command: str

    @property
    def requests_per_s(self) -> float:
        return self.result.requests / self.window_s if self.window_s > 0 else 0.0

    @property
    def unanswered(self) -> int:
        return sum(max(t.sent - t.received, 0) for t in self.threads)

    @property
    def withdrawals_left(self) -> int:
        return sum(t.withdrawals_left for t in self.threads)

    def count(self, status: str) -> int:
        """Answers with this status (`"409"` counts every 409, whatever its problem type)."""
        return sum(n for key, n in self.statuses.items() if key.split(" ")[0] == status)

    def errors(self) -> dict[str, int]:
        """What is never an expected outcome: socket errors (wrk's timeouts included), 5xx
        answers, requests without an answer, and withdrawals still owed after the drain."""
        found = {
            "connect errors": self.result.connect_errors,
            "read errors": self.result.read_errors,
            "write errors": self.result.write_errors,
            "timeouts": self.result.timeouts,
            "unanswered": self.unanswered,
            "withdrawals left": self.withdrawals_left,
        }
        found |= {key: n for key, n in self.statuses.items() if key.startswith("5")}
        return {key: n for key, n in found.items() if n}


def wrk_threads(connections: int) -> int:
    """As harness.wrk.wrk_command: one client thread for one connection, else two."""
    return 1 if connections == 1 else 2


def sent_requests(plan: Plan, run: PlanRun) -> list[PlannedRequest]:
    """The planned requests a "once" run sent: thread k took the first `taken` of its share
    (requests k, k + threads, ...)."""
    if plan.mode != "once":
        raise ValueError("only a 'once' plan sends each request at most once")
    count = len(run.threads)
    sent: list[PlannedRequest] = []
    for index, thread in enumerate(run.threads):
        sent += list(plan.requests[index::count][: thread.taken])
    return sent


@dataclass
class _Progress:
    """What wrk's output says so far: every thread has read the plan; every thread drained."""

    threads: int
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    drained: threading.Event = field(default_factory=threading.Event)

    def follow(self, stream: IO[str]) -> None:
        counts = {"READY": 0, "DRAINED": 0}
        for line in stream:
            self.lines.append(line)
            word = line.split(" ", 1)[0]
            if word in counts:
                counts[word] += 1
                if counts[word] == self.threads:
                    (self.ready if word == "READY" else self.drained).set()
        # wrk has exited: nothing more to wait for (its exit status and output tell why).
        self.ready.set()
        self.drained.set()


def run_plan(
    url: str,
    plan: Plan,
    *,
    connections: int,
    duration_s: float,
    workdir: Path,
    wrk: str = "wrk",
) -> PlanRun:
    """Send `plan` to `url` (127.0.0.1 only) for `duration_s` seconds at `connections`
    connections, drain, and read the counts. `workdir` holds the plan and the stop file."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"load is only ever sent to 127.0.0.1, not {url}")
    threads = wrk_threads(connections)
    plan.check(threads)
    workdir.mkdir(parents=True, exist_ok=True)
    plan_file, stop_file = workdir / "plan.tsv", workdir / "stop"
    stop_file.unlink(missing_ok=True)
    plan.write(plan_file)
    # wrk's own end comes after the window and the drain: the driver stops it before.
    wrk_duration_s = int(duration_s + DRAIN_TIMEOUT_S + WRK_GRACE_S)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{wrk_duration_s}s",
        f"--timeout={REQUEST_TIMEOUT_S}s",
        "--latency",
        "-s",
        str(PLAN_LUA),
        url,
        "--",
        str(plan_file),
        str(stop_file),
        str(threads),
        plan.mode,
    ]
    progress = _Progress(threads)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        reader = threading.Thread(target=progress.follow, args=(process.stdout,), daemon=True)
        reader.start()
        try:
            # The window starts once every thread has read the plan and wrk starts sending.
            progress.ready.wait(READY_TIMEOUT_S)
            drained_early = progress.drained.wait(duration_s)
            window_end = time.monotonic()
            if not drained_early:
                stop_file.touch()
                progress.drained.wait(DRAIN_TIMEOUT_S)
            stopped = time.monotonic()
            process.send_signal(signal.SIGINT)
            process.wait(timeout=WRK_GRACE_S)
        finally:
            if process.poll() is None:
                process.kill()
            reader.join()
    output = "".join(progress.lines)
    if process.returncode != 0:
        raise WrkError(f"{shown(command)} exited {process.returncode}:\n{output}")
    result = parse_report(output)
    counts = _PLAN_JSON.search(output)
    if counts is None:
        raise WrkError(f"no PLAN_JSON line from {PLAN_LUA.name}:\n{output}")
    raw = json.loads(counts.group(1))
    drain_s = stopped - window_end
    counts_per_thread = [ThreadCounts(**t) for t in raw["threads"]]
    exhausted = plan.mode == "once" and all(
        t.taken == len(plan.requests[k::threads]) for k, t in enumerate(counts_per_thread)
    )
    return PlanRun(
        result=result,
        window_s=max(result.seconds - drain_s, 0.0),
        drain_s=drain_s,
        statuses={str(k): int(v) for k, v in raw["statuses"].items()},
        threads=counts_per_thread,
        created=[int(i) for i in raw["created"]],
        exhausted=exhausted,
        command=shown(command),
    )
