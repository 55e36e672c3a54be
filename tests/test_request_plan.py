"""harness/request_plan: wrk sends a plan of requests, each with its own token and body, and
drains at the end, so that the counts it reports are exactly what the server did. Checked
against a small HTTP server that records every request it answers and answers slowly, so
that many requests are in flight when the window ends."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.request_plan import Plan, PlannedRequest, PlanRun, run_plan, sent_requests
from harness.wrk import wrk_binary
from tests.support.services import require_service

CONNECTIONS = 16
ANSWER_S = 0.05  # every request is in flight this long: at any moment about 16 are unanswered
FULL_EVENTS = 100_000  # events from this id on are full
_SIGN_UP = re.compile(r"^/api/v1/events/(\d+)/(signups|assignments)$")
_WITHDRAW = re.compile(r"^/api/v1/assignments/(\d+)$")


@dataclass
class Ledger:
    """What the server did: every request answered, and the assignments it holds."""

    answered: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, token
    created: dict[int, str] = field(default_factory=dict)  # id -> who may withdraw it
    withdrawn: list[tuple[int, str]] = field(default_factory=list)
    last_id: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    fail_path: str = ""


def _handler(ledger: Ledger) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _answer(self, status: int, body: dict[str, object] | None = None) -> None:
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _handle(self) -> None:
            time.sleep(ANSWER_S)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            with ledger.lock:
                ledger.answered.append((self.command, self.path, token))
                if self.path == ledger.fail_path:
                    self._answer(500, {"type": "about:blank"})
                elif self.command == "GET":
                    self._answer(200, {"items": []})
                elif self.command == "POST" and (match := _SIGN_UP.match(self.path)):
                    if int(match.group(1)) >= FULL_EVENTS:
                        self._answer(409, {"type": "/problems/slot-full", "status": 409})
                        return
                    ledger.last_id += 1
                    new_id = ledger.last_id
                    self_signup = match.group(2) == "signups"
                    person = token.removeprefix("person-") if self_signup else body["person_id"]
                    ledger.created[new_id] = token if self_signup else "admin-token"
                    self._answer(
                        201,
                        {
                            "id": new_id,
                            "event_id": int(match.group(1)),
                            "person_id": int(person),
                            "source": "self_signup" if self_signup else "manual",
                        },
                    )
                elif self.command == "DELETE" and (match := _WITHDRAW.match(self.path)):
                    assignment = int(match.group(1))
                    if ledger.created.get(assignment) != token:
                        self._answer(404, {"type": "/problems/not-found", "status": 404})
                        return
                    del ledger.created[assignment]
                    ledger.withdrawn.append((assignment, token))
                    self._answer(204)
                else:
                    self._answer(404, {"type": "/problems/not-found", "status": 404})

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Ledger]]:
    if wrk_binary() is None:
        require_service("wrk is not installed (apt-get install wrk)")
    ledger = Ledger()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ledger))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", ledger
    finally:
        httpd.shutdown()
        httpd.server_close()


def _run(url: str, plan: Plan, workdir: Path, *, connections: int, duration_s: float) -> PlanRun:
    return run_plan(
        url,
        plan,
        connections=connections,
        duration_s=duration_s,
        workdir=workdir,
        wrk=wrk_binary() or "wrk",
    )


def _sign_ups(count: int, *, first_event: int = 0) -> Plan:
    tokens = {str(p): f"person-{p}" for p in range(1, 11)}
    requests = [
        PlannedRequest(
            "POST",
            f"/api/v1/events/{first_event + i}/signups",
            str(i % 10 + 1),
            json.dumps({"role": "usher"}),
        )
        for i in range(count)
    ]
    return Plan(tokens=tokens, requests=requests, mode="once")


def test_every_request_sent_is_answered_and_counted_once_when_the_window_ends(
    server: tuple[str, Ledger], tmp_path: Path
) -> None:
    url, ledger = server
    plan = _sign_ups(5_000)
    run = _run(url, plan, tmp_path, connections=CONNECTIONS, duration_s=1.0)

    assert not run.exhausted
    assert run.errors() == {}
    sent = sent_requests(plan, run)
    # The server answered exactly the requests the run says it sent, each once: none was
    # still in flight (and then completed unseen) when wrk stopped.
    assert sorted((r.method, r.path, f"person-{r.token}") for r in sent) == sorted(ledger.answered)
    assert run.count("201") == len(sent) == len(ledger.created) == run.result.requests
    assert sorted(run.created) == sorted(ledger.created)
    assert 0 < run.window_s <= 1.5
    assert run.drain_s < 2
    assert run.requests_per_s == pytest.approx(len(sent) / run.window_s)


def test_a_plan_that_runs_out_ends_the_run_early_without_repeating_a_request(
    server: tuple[str, Ledger], tmp_path: Path
) -> None:
    url, ledger = server
    plan = _sign_ups(40)
    started = time.monotonic()
    run = _run(url, plan, tmp_path, connections=CONNECTIONS, duration_s=20.0)

    assert time.monotonic() - started < 10
    assert run.exhausted
    assert len(ledger.answered) == len(set(ledger.answered)) == 40
    assert [t.taken for t in run.threads] == [20, 20]


def test_refusals_are_counted_by_problem_type_and_server_errors_are_errors(
    server: tuple[str, Ledger], tmp_path: Path
) -> None:
    url, ledger = server
    ledger.fail_path = "/api/v1/events/3/signups"
    plan = _sign_ups(8, first_event=0)
    plan = Plan(
        tokens=plan.tokens,
        requests=[*plan.requests, *_sign_ups(4, first_event=FULL_EVENTS).requests],
        mode="once",
    )
    run = _run(url, plan, tmp_path, connections=4, duration_s=5.0)

    assert run.statuses == {"201": 7, "409 /problems/slot-full": 4, "500": 1}
    assert run.count("409") == 4
    assert run.errors() == {"500": 1}


def test_a_cycle_withdraws_every_assignment_it_created_by_whoever_may(
    server: tuple[str, Ledger], tmp_path: Path
) -> None:
    url, ledger = server
    people = _sign_ups(200)
    assignments = [
        PlannedRequest(
            "POST",
            f"/api/v1/events/{i}/assignments",
            "admin",
            json.dumps({"person_id": i % 10 + 1, "role": "usher"}),
        )
        for i in range(200)
    ]
    reads = [PlannedRequest("GET", "/api/v1/events?limit=50", "admin")] * 3
    requests = [
        request
        for pair in zip(people.requests, assignments, strict=True)
        for request in (*reads, pair[0], *reads, pair[1])
    ]
    plan = Plan(tokens={**people.tokens, "admin": "admin-token"}, requests=requests, mode="cycle")
    run = _run(url, plan, tmp_path, connections=CONNECTIONS, duration_s=1.5)

    assert run.errors() == {}
    assert run.count("201") > 0
    assert run.count("204") == run.count("201") == len(ledger.withdrawn)
    assert ledger.created == {}  # nothing created is left behind
    tokens = {token for _, token in ledger.withdrawn}
    assert "admin-token" in tokens
    assert any(t.startswith("person-") for t in tokens)
    assert run.count("200") > run.count("201")
