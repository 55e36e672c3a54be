"""The loops of the backup service (`signupflow backup schedule`) and of the restore drill
(`signupflow backup drill`).

Once a day at BACKUP_SCHEDULE_AT (UTC), or every BACKUP_SCHEDULE_INTERVAL_S seconds, a job runs
its one step as a child process: the backup service `signupflow backup create` (which applies
retention; it needs only the public key), the drill `signupflow backup verify` on the newest
backup with the private key it was given. A crash or a leak in pg_dump/pg_restore ends that
run, not the service, and the exit codes are the documented ones. Every step is logged as one
JSON line; a failed run also POSTs JSON to BACKUP_ALERT_WEBHOOK_URL.

Metrics (Prometheus text) are served on BACKUP_METRICS_PORT and/or written atomically to
BACKUP_METRICS_FILE (a node exporter textfile). The state of the last runs is kept in a file in
BACKUP_DIR, so a restarted service still reports when the last good run was instead of "never".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import Field, SecretStr, field_validator

from signupflow.ops.logging import redact
from signupflow.settings import FileSecretsSettings

STEP_TIMEOUT_S = 6 * 3600  # a hung pg_dump must end the run, not the service
WEBHOOK_TIMEOUT_S = 10
OUTPUT_TAIL = 2000


class ScheduleSettings(FileSecretsSettings):
    """`signupflow backup schedule`: the backup service's loop (it also reads the backup
    settings for the commands it runs)."""

    backup_dir: str = "./var/backups"
    """Where backups and their manifests are written (and the backup service's state)."""
    backup_schedule_at: str = "02:30"
    """The daily run, HH:MM in UTC; ignored when `BACKUP_SCHEDULE_INTERVAL_S` is set."""
    backup_schedule_interval_s: float | None = Field(default=None, gt=0)
    """Seconds between runs instead of a daily time (tests, or several backups a day)."""
    backup_schedule_run_on_start: bool = False
    """Run once as soon as the service starts."""
    backup_metrics_host: str = "0.0.0.0"  # noqa: S104 -- the service's internal network only
    """Address the metrics endpoint listens on."""
    backup_metrics_port: int = Field(default=9108, ge=0, le=65535)
    """Port of the Prometheus metrics endpoint; 0: no HTTP endpoint."""
    backup_metrics_file: str | None = None
    """Also write the metrics to this file (a node exporter textfile), atomically."""
    backup_alert_webhook_url: SecretStr | None = None
    """A failed run POSTs JSON here; may hold a token (Slack, PagerDuty), so give it as a
    file. Only http(s); an empty file disables it."""

    @field_validator("backup_alert_webhook_url")
    @classmethod
    def _http_only(cls, value: SecretStr | None) -> SecretStr | None:
        # urllib would also open file:// and ftp:// URLs; a webhook is HTTP(S). An empty
        # secret file disables the hook.
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("BACKUP_ALERT_WEBHOOK_URL must be an http:// or https:// URL")
        return value

    @field_validator("backup_schedule_at")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value


def parse_clock(value: str) -> clock_time:
    try:
        hours, minutes = (int(part) for part in value.split(":"))
        return clock_time(hours, minutes, tzinfo=UTC)
    except ValueError:
        raise ValueError(f"BACKUP_SCHEDULE_AT must be HH:MM (UTC), got {value!r}") from None


def next_daily_run(now: datetime, at: clock_time) -> datetime:
    """The first moment at `at` (UTC) strictly after `now`."""
    candidate = datetime.combine(now.astimezone(UTC).date(), at)
    return candidate if candidate > now else candidate + timedelta(days=1)


@dataclass(frozen=True)
class Job:
    """What a scheduled service runs and how it reports it."""

    name: str  # event names (`<name>_step`, `<name>_failed`) and the metric prefix
    service: str  # named in the webhook's JSON
    state_file: str  # in BACKUP_DIR
    step: str
    arguments: tuple[str, ...]  # after `signupflow`
    output_prefix: str  # the step's line naming the backup: "<prefix> NAME ..."
    success_help: str

    @property
    def metric_prefix(self) -> str:
        return f"signupflow_{self.name}"


BACKUP_JOB = Job(
    name="backup",
    service="signupflow-backup",
    state_file=".schedule-state.json",
    step="create",
    arguments=("backup", "create"),
    output_prefix="created ",
    success_help="When the last backup that was created and checked on the server finished "
    "(Unix time).",
)


def drill_job(identity_file: str) -> Job:
    return Job(
        name="backup_drill",
        service="signupflow-backup-drill",
        state_file=".drill-state.json",
        step="verify",
        arguments=(
            "backup",
            "verify",
            "--identity-file",
            identity_file,
            "--remove-downloaded",
        ),
        output_prefix="verified ",
        success_help="When the last drill that restored the newest backup into a scratch "
        "database and matched its manifest finished (Unix time).",
    )


# --- state and metrics -------------------------------------------------------------------------


@dataclass
class State:
    last_success_at: float | None = None
    last_success_name: str | None = None
    last_run_at: float | None = None
    last_run_ok: bool | None = None
    last_failed_step: str | None = None
    last_exit_code: int | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    dump_bytes: int | None = None
    archive_bytes: int | None = None
    # The creation time of the backup the last good run made or restored, and what the server
    # checked of it (the manifest's dump_tables_listed and offsite_verified).
    last_success_backup_created_at: float | None = None
    dump_tables_listed: int | None = None
    offsite_verified: bool | None = None
    runs_ok: int = 0
    runs_failed: int = 0
    next_run_at: float | None = None

    @classmethod
    def load(cls, path: Path) -> State:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls()
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, json.dumps(asdict(self), indent=2) + "\n")


def _write_atomically(path: Path, text: str) -> None:
    # A reader (node exporter, a restarted service) never sees half a file.
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.chmod(partial, 0o644)
    os.replace(partial, path)


def render_metrics(state: State, now: float, job: Job = BACKUP_JOB) -> str:
    lines: list[str] = []
    prefix = job.metric_prefix

    def gauge(name: str, help_text: str, samples: Sequence[tuple[str, float]]) -> None:
        lines.append(f"# HELP {prefix}_{name} {help_text}")
        lines.append(f"# TYPE {prefix}_{name} gauge")
        lines.extend(f"{prefix}_{name}{labels} {value:.17g}" for labels, value in samples)

    gauge("scheduler_up", f"1 while the {job.service} service runs.", [("", 1)])
    if state.last_success_at is not None:
        # Absent until a first good run (the alert on no backup at all uses that).
        gauge("last_success_timestamp_seconds", job.success_help, [("", state.last_success_at)])
        gauge(
            "last_success_age_seconds",
            "Seconds since the last good run (for people; alerts use the timestamp).",
            [("", now - state.last_success_at)],
        )
    if state.last_success_backup_created_at is not None:
        gauge(
            "last_success_backup_created_timestamp_seconds",
            "When the backup the last good run made or restored was created (Unix time).",
            [("", state.last_success_backup_created_at)],
        )
    if state.dump_tables_listed is not None:
        gauge(
            "last_success_tables_listed",
            "Tables whose data pg_restore --list found in the last good run's dump (every "
            "fingerprinted table must be among them).",
            [("", state.dump_tables_listed)],
        )
    if state.offsite_verified is not None:
        gauge(
            "last_success_offsite_verified",
            "1 if the last good run's backup is in S3 and was checked there, 0 if local only.",
            [("", 1.0 if state.offsite_verified else 0.0)],
        )
    if state.last_run_at is not None:
        gauge(
            "last_run_timestamp_seconds",
            "When the last run finished (Unix time).",
            [("", state.last_run_at)],
        )
        gauge(
            "last_run_success",
            f"1 if the last run's `{job.step}` succeeded, 0 if it failed.",
            [("", 1.0 if state.last_run_ok else 0.0)],
        )
        gauge(
            "last_run_exit_code",
            "Exit code of the last run's failed step (0 when it succeeded).",
            [("", float(state.last_exit_code or 0))],
        )
    if state.step_seconds:
        gauge(
            "step_duration_seconds",
            "Duration of each step of the last run.",
            [
                (f'{{step="{step}"}}', seconds)
                for step, seconds in sorted(state.step_seconds.items())
            ],
        )
    if state.dump_bytes is not None and state.archive_bytes is not None:
        gauge(
            "last_size_bytes",
            "Size of the last good run's backup: the pg_dump archive and the encrypted file.",
            [('{kind="dump"}', state.dump_bytes), ('{kind="encrypted"}', state.archive_bytes)],
        )
    lines.append(f"# HELP {prefix}_runs_total Runs since the state file was created.")
    lines.append(f"# TYPE {prefix}_runs_total counter")
    lines.append(f'{prefix}_runs_total{{status="ok"}} {state.runs_ok}')
    lines.append(f'{prefix}_runs_total{{status="failed"}} {state.runs_failed}')
    if state.next_run_at is not None:
        gauge(
            "next_run_timestamp_seconds",
            "When the next run is due (Unix time).",
            [("", state.next_run_at)],
        )
    return "\n".join(lines) + "\n"


class MetricsServer:
    """GET /metrics on a port of the internal network; ages are computed at scrape time."""

    def __init__(self, host: str, port: int, current: Callable[[], State], job: Job) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = render_metrics(current(), time.time(), job).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per scrape would drown the run logs

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- one run -----------------------------------------------------------------------------------


def log_event(event: str, **fields: Any) -> None:
    entry = {"timestamp": datetime.now(UTC).isoformat(), "event": event, **fields}
    print(json.dumps(entry, default=str), flush=True)


@dataclass
class StepResult:
    step: str
    exit_code: int
    seconds: float
    stdout: str
    stderr: str


def run_step(step: str, command: Sequence[str], *, event: str) -> StepResult:
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 -- our own console script and a backup name
            list(command),
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired:
        code, out, err = 124, "", f"timed out after {STEP_TIMEOUT_S} s"
    result = StepResult(step, code, time.monotonic() - started, out, err)
    log_event(
        event,
        step=step,
        status="ok" if code == 0 else "failed",
        exit_code=code,
        duration_s=round(result.seconds, 3),
        output=redact((out + err).strip()[-OUTPUT_TAIL:]),
    )
    return result


def signupflow_command() -> list[str]:
    # The console script next to this interpreter: the same installation runs every step.
    executable = Path(sys.executable).with_name("signupflow")
    found = str(executable) if executable.exists() else shutil.which("signupflow")
    if found is None:
        raise RuntimeError("the signupflow command is not installed next to this Python")
    return [found]


class Scheduler:
    def __init__(self, settings: ScheduleSettings, job: Job = BACKUP_JOB) -> None:
        self.settings = settings
        self.job = job
        self.backup_dir = Path(settings.backup_dir)
        self.state_path = self.backup_dir / job.state_file
        self.state = State.load(self.state_path)
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def current(self) -> State:
        with self.lock:
            return State(**asdict(self.state))

    def publish(self) -> None:
        with self.lock:
            self.state.save(self.state_path)
            if self.settings.backup_metrics_file:
                path = Path(self.settings.backup_metrics_file)
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_atomically(path, render_metrics(self.state, time.time(), self.job))

    def run_once(self) -> bool:
        """The job's step; True when it succeeded."""
        job = self.job
        log_event(f"{job.name}_run_started")
        done = run_step(job.step, [*signupflow_command(), *job.arguments], event=f"{job.name}_step")
        failure: StepResult | None = None if done.exit_code == 0 else done
        name = None
        manifest: dict[str, Any] = {}
        if failure is None:
            name = _named_backup(done.stdout, job.output_prefix)
            if name is None:
                failure = StepResult(job.step, 1, 0, done.stdout, "no backup name in the output")
            else:
                manifest = json.loads((self.backup_dir / f"{name}.manifest.json").read_text())
        finished = time.time()
        with self.lock:
            state = self.state
            state.last_run_at = finished
            state.step_seconds = {job.step: done.seconds}
            state.last_run_ok = failure is None
            state.last_failed_step = failure.step if failure else None
            state.last_exit_code = failure.exit_code if failure else 0
            if failure is None:
                state.last_success_at = finished
                state.last_success_name = name
                state.dump_bytes = int(manifest["dump_bytes"])
                state.archive_bytes = int(manifest["archive_bytes"])
                state.last_success_backup_created_at = datetime.fromisoformat(
                    manifest["created_at"]
                ).timestamp()
                state.dump_tables_listed = manifest.get("dump_tables_listed")
                state.offsite_verified = bool(manifest.get("offsite_verified"))
                state.runs_ok += 1
            else:
                state.runs_failed += 1
        self.publish()
        if failure is None:
            log_event(
                f"{job.name}_run_finished", status="ok", backup=name, steps=state.step_seconds
            )
        else:
            log_event(
                f"{job.name}_run_finished",
                status="failed",
                step=failure.step,
                exit_code=failure.exit_code,
                steps=state.step_seconds,
            )
            self.alert(failure)
        return failure is None

    def alert(self, failure: StepResult) -> None:
        url = self.settings.backup_alert_webhook_url
        if url is None:
            return
        payload = {
            "event": f"{self.job.name}_failed",
            "service": self.job.service,
            "host": socket.gethostname(),
            "step": failure.step,
            "exit_code": failure.exit_code,
            "message": redact((failure.stderr or failure.stdout).strip()[-OUTPUT_TAIL:]),
            "last_success_at": self.state.last_success_at,
            "time": datetime.now(UTC).isoformat(),
        }
        # The standard library: the app image carries no HTTP client beyond it.
        request = urllib.request.Request(  # noqa: S310 -- the operator's own webhook URL
            url.get_secret_value(),
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:  # noqa: S310
                log_event(f"{self.job.name}_alert_sent", status_code=response.status)
        except urllib.error.HTTPError as exc:
            log_event(f"{self.job.name}_alert_failed", status_code=exc.code)
        except (OSError, ValueError) as exc:
            # The URL may carry a token: name only the error's type.
            log_event(f"{self.job.name}_alert_failed", error=type(exc).__name__)

    def next_run(self, now: datetime, last_start: datetime | None) -> datetime:
        interval = self.settings.backup_schedule_interval_s
        if interval is not None:
            if last_start is None:
                return now
            return max(now, last_start + timedelta(seconds=interval))
        return next_daily_run(now, parse_clock(self.settings.backup_schedule_at))

    def loop(self) -> None:
        last_start: datetime | None = None
        run_now = self.settings.backup_schedule_run_on_start
        while not self.stopping.is_set():
            now = datetime.now(UTC)
            due = now if run_now else self.next_run(now, last_start)
            run_now = False
            with self.lock:
                self.state.next_run_at = due.timestamp()
            self.publish()
            log_event(f"{self.job.name}_run_scheduled", at=due.isoformat())
            if self.stopping.wait(max(0.0, (due - datetime.now(UTC)).total_seconds())):
                break
            last_start = datetime.now(UTC)
            self.run_once()
        log_event(f"{self.job.name}_service_stopped")


def _named_backup(stdout: str, prefix: str) -> str | None:
    for line in stdout.splitlines():
        if line.startswith(prefix):
            return line.split()[1]
    return None


def serve(settings: ScheduleSettings, job: Job = BACKUP_JOB) -> None:
    scheduler = Scheduler(settings, job)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log_event(f"{job.name}_service_stopping", signal=signal.Signals(signum).name)
        scheduler.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    metrics = None
    if settings.backup_metrics_port:
        metrics = MetricsServer(
            settings.backup_metrics_host, settings.backup_metrics_port, scheduler.current, job
        )
        metrics.start()
    log_event(
        f"{job.name}_service_started",
        schedule=(
            f"every {settings.backup_schedule_interval_s} s"
            if settings.backup_schedule_interval_s
            else f"daily at {settings.backup_schedule_at} UTC"
        ),
        metrics_port=metrics.port if metrics else None,
        metrics_file=settings.backup_metrics_file,
        alert_webhook=settings.backup_alert_webhook_url is not None,
    )
    try:
        scheduler.loop()
    finally:
        if metrics is not None:
            metrics.stop()
