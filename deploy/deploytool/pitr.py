"""Backups and point-in-time restores of the stack's PostgreSQL with pgBackRest
(compose.pgbackrest.yml): `deploy.py backup` and `deploy.py restore`.

A restore, step by step (each under the deploy lock, which also pauses `deploy.py watch`):
 1. check     the target parses, has a time zone and is in the past; the repository holds a
              backup that ended before it (refused otherwise, before anything is touched).
 2. edge      maintenance on: every request gets 503 with Retry-After (maintenance.py).
 3. archive   `pgbackrest check` in the running database: the current WAL segment is
              switched and archived, so a target up to this moment is reachable.
 4. stop      app replicas, worker, backup service, pgBackRest sidecar, then PostgreSQL.
 5. restore   `pgbackrest restore --delta` into the data volume, from a one-off container of
              the sidecar's service (same image, volumes and secrets): only changed files
              are rewritten; an empty volume (a new host) is filled.
 6. recover   PostgreSQL starts, replays archived WAL up to the target (or to the end of the
              archive), and promotes; the step ends when pg_is_in_recovery() is false.
 7. start     `compose up -d --wait`: everything else, healthy; the ready replicas are put
              in the edge's rotation (reload-edge).
 8. edge      maintenance off.
A failure after step 2 leaves the edge in maintenance (the data may be half restored);
`deploy.py maintenance off` ends it by hand.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .deployer import Deployer
from .lock import DeployLock
from .maintenance import set_maintenance
from .runner import DeployError, say

STANZA = "signupflow"
SIDECAR = "pgbackrest"
DATABASE = "postgres"
# Stopped before the database, in this order, and started again by `compose up`.
WRITERS = ("app", "worker", "backup", SIDECAR)
STOP_TIMEOUT_S = 60  # the app drains in 25 s; PostgreSQL's fast shutdown needs a checkpoint
BACKUP_KINDS = ("full", "diff", "incr")
TARGET_EXAMPLE = "2026-11-25 14:19:58+00"
POLL_S = 1.0
# `pgbackrest info` status codes that describe the repository (0 ok, 2 no valid backup);
# the others say it cannot be read (missing stanza, wrong passphrase, storage error).
INFO_READABLE = (0, 2)


class BadTarget(DeployError):
    """The --target given cannot be restored to; the message says why."""


def parse_target(text: str, *, now: datetime) -> datetime:
    """'YYYY-MM-DD HH:MM:SS[.ffffff]+00' (any UTC offset) as an aware datetime in the past."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadTarget(f"--target {text!r} is not a time: give it as '{TARGET_EXAMPLE}'") from None
    if parsed.tzinfo is None:
        raise BadTarget(
            f"--target {text!r} has no time zone: add one, e.g. '{TARGET_EXAMPLE}' (UTC)"
        )
    if parsed > now:
        raise BadTarget(
            f"--target {parsed.astimezone(UTC):%Y-%m-%d %H:%M:%S%z} is in the future "
            f"(now {now:%Y-%m-%d %H:%M:%S%z})"
        )
    return parsed


@dataclass(frozen=True)
class Backup:
    label: str
    kind: str
    started: datetime
    stopped: datetime

    @classmethod
    def from_info(cls, entry: dict[str, Any]) -> Backup:
        stamps = entry["timestamp"]
        return cls(
            label=str(entry["label"]),
            kind=str(entry["type"]),
            started=datetime.fromtimestamp(int(stamps["start"]), UTC),
            stopped=datetime.fromtimestamp(int(stamps["stop"]), UTC),
        )


@dataclass
class RestoreReport:
    target: datetime | None
    backup: Backup
    durations: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        until = f"to {self.target.isoformat()}" if self.target else "to the last archived WAL"
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.durations.items())
        return f"restored {until} from backup {self.backup.label} ({steps})"


class PointInTime:
    """The stack's pgBackRest: backups through the sidecar, restores into the data volume."""

    def __init__(self, deployer: Deployer) -> None:
        self.deployer = deployer
        self.runner = deployer.runner
        self.stack = deployer.stack

    # --- pgBackRest ----------------------------------------------------------------------

    def _compose(self, *args: str, timeout: float) -> str:
        return self.runner.compose_run(*args, timeout=timeout, env={})

    def _compose_unchecked(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return self.runner.run([*self.runner.compose, *args], timeout=timeout, check=False)

    def _running(self, service: str) -> bool:
        return any(c.running for c in self.stack.containers(service))

    def one_off(self, *args: str, timeout: float = 300) -> str:
        """pgbackrest in a one-off container of the sidecar's service: works whether the
        stack runs or not (a new host has nothing running)."""
        return self._compose(
            "run", "--rm", "--no-deps", "-T", SIDECAR,
            "pgbackrest", f"--stanza={STANZA}", *args,
            timeout=timeout,
        )  # fmt: skip

    def backups(self) -> list[Backup]:
        """The repository's good backups, oldest first; DeployError if it cannot be read."""
        printed = self.one_off("--output=json", "info", timeout=180).strip()
        if not printed.startswith("["):
            # Compose can exit 0 when the container's entrypoint failed (e.g. an unreadable
            # secret): no JSON is no answer, never "no backup".
            raise DeployError(f"pgbackrest info printed no repository information: {printed!r}")
        info = json.loads(printed)
        found = []
        for stanza in info:
            status = stanza.get("status") or {}
            if status.get("code") not in INFO_READABLE:
                raise DeployError(
                    f"pgbackrest info: {status.get('message', 'no status')} "
                    f"(code {status.get('code')})"
                )
            found += [Backup.from_info(e) for e in stanza.get("backup") or [] if not e.get("error")]
        return sorted(found, key=lambda b: b.stopped)

    def backup(self, kind: str) -> Backup:
        if kind not in BACKUP_KINDS:
            raise DeployError(f"backup type {kind!r}: one of {', '.join(BACKUP_KINDS)}")
        if not self._running(SIDECAR):
            raise DeployError(
                f"no running `{SIDECAR}` container in project {self.deployer.settings.project}: "
                "is the stack up with compose.pgbackrest.yml (COMPOSE_FILE in .env)?"
            )
        started = time.monotonic()
        self._compose(
            "exec", "-T", SIDECAR, "pgbackrest", f"--stanza={STANZA}", f"--type={kind}", "backup",
            timeout=12 * 3600,
        )  # fmt: skip
        found = self.backups()
        if not found:
            raise DeployError("pgbackrest backup exited 0 but the repository lists no backup")
        newest = found[-1]
        say(f"{kind} backup {newest.label} in {time.monotonic() - started:.1f} s")
        return newest

    def base_for(self, target: datetime | None) -> Backup:
        """The backup a restore to `target` starts from; BadTarget if there is none."""
        backups = self.backups()
        if not backups:
            raise BadTarget("the repository holds no backup: nothing to restore from")
        if target is None:
            return backups[-1]
        usable = [b for b in backups if b.stopped <= target]
        if not usable:
            raise BadTarget(
                f"no backup ended before {target.isoformat()}: the oldest ended at "
                f"{backups[0].stopped.isoformat()}"
            )
        return usable[-1]

    # --- the restore ---------------------------------------------------------------------

    def restore(
        self,
        target: datetime | None,
        lock: DeployLock,
        *,
        recovery_timeout: float,
        up_timeout: float,
    ) -> RestoreReport:
        started = time.monotonic()
        base = self.base_for(target)
        report = RestoreReport(target, base)
        say(f"restoring from backup {base.label} (ended {base.stopped.isoformat()})")
        self._step(report, "maintenance", self._enter_maintenance)
        lock.check()
        self._step(report, "archive", self._archive_current_wal)
        self._step(report, "stop", self._stop_writers)
        lock.check()
        self._step(report, "restore", lambda: self._restore_data(target))
        self._step(report, "recover", lambda: self._recover(recovery_timeout))
        lock.check()
        self._step(report, "start", lambda: self._start(lock, up_timeout))
        set_maintenance(self.deployer.edge, on=False)
        report.durations["total"] = time.monotonic() - started
        return report

    def _step(self, report: RestoreReport, name: str, action: Any) -> None:
        started = time.monotonic()
        action()
        report.durations[name] = time.monotonic() - started

    def _enter_maintenance(self) -> None:
        if not self._running(self.deployer.settings.edge_service):
            # A new host: the edge comes first (with what it depends on, if anything), so
            # that it answers 503 from the start.
            self._compose("up", "--detach", "--wait",
                          self.deployer.settings.edge_service, timeout=180)  # fmt: skip
        set_maintenance(self.deployer.edge, on=True, reason="restore")

    def _archive_current_wal(self) -> None:
        if not self._running(DATABASE):
            say("PostgreSQL is not running: restoring what the repository holds")
            return
        result = self._compose_unchecked(
            "exec", "-T", DATABASE, "pgbackrest", f"--stanza={STANZA}", "check", timeout=300
        )
        if result.returncode == 0:
            say("current WAL archived")
        else:
            say(
                "warning: could not archive the current WAL (`pgbackrest check` exited "
                f"{result.returncode}); the restore reaches only what is archived: "
                + (result.stdout + result.stderr).strip()[-500:]
            )

    def _stop_writers(self) -> None:
        for service in (*WRITERS, DATABASE):
            running = [c.id for c in self.stack.containers(service) if c.running]
            if running:
                self.runner.docker_run(
                    "stop", "-t", str(STOP_TIMEOUT_S), *running, timeout=STOP_TIMEOUT_S + 60
                )
                say(f"stopped {service} ({len(running)})")

    def _restore_data(self, target: datetime | None) -> None:
        options = ["--delta"]
        if target is not None:
            stamp = target.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
            options += ["--type=time", f"--target={stamp}", "--target-action=promote"]
        self.one_off(*options, "restore", timeout=6 * 3600)
        say("data volume restored")

    def _recover(self, timeout: float) -> None:
        self._compose("up", "--detach", "--no-deps", DATABASE, timeout=120)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self._running(DATABASE):
                logs = self._compose_unchecked(
                    "logs", "--no-color", "--tail", "30", DATABASE, timeout=60
                ).stdout
                raise DeployError(f"PostgreSQL stopped during recovery:\n{logs[-3000:]}")
            result = self._compose_unchecked(
                "exec", "-T", DATABASE, "psql", "--username=signupflow", "--dbname=postgres",
                "--no-psqlrc", "-Atc", "SELECT pg_is_in_recovery()",
                timeout=30,
            )  # fmt: skip
            last = (result.stdout + result.stderr).strip()
            if result.returncode == 0 and last == "f":
                say("recovery complete: PostgreSQL accepts writes")
                return
            time.sleep(POLL_S)
        raise DeployError(f"PostgreSQL still recovering after {timeout:.0f} s: {last[-300:]}")

    def _start(self, lock: DeployLock, timeout: float) -> None:
        self._compose("up", "--detach", "--wait", timeout=timeout)
        names = self.deployer.reload_edge(lock)
        say("edge now proxies to " + ", ".join(names))
