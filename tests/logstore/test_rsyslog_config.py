"""The log store's rsyslog.conf, run by the real rsyslogd against json-file logs written the
way Docker writes them (no Docker needed): each line stored once with its service, replica,
container, time and the app's JSON fields, in the file of its own UTC day; other projects'
containers left out; nothing lost or repeated across Docker's rotation (rename to .1) and a
stop and start of rsyslogd while the container keeps logging."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.logstore import RSYSLOG_CONF
from tests.support.services import require_service

RSYSLOGD = Path("/usr/sbin/rsyslogd")
CONFIG = RSYSLOG_CONF
CONTAINER = "f" * 12 + "0123456789abcdef" * 3 + "0" * 4
OTHER = "e" * 64
WAIT_S = 20


@dataclass
class Host:
    root: Path

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    @property
    def store(self) -> Path:
        return self.root / "store"

    def log_file(self, container: str) -> Path:
        return self.containers / container / f"{container}-json.log"

    def write(self, container: str, lines: list[str], project: str = "proj", **attrs: str) -> None:
        path = self.log_file(container)
        path.parent.mkdir(parents=True, exist_ok=True)
        labels = {
            "com.docker.compose.project": project,
            "com.docker.compose.service": attrs.get("service", "app"),
            "com.docker.compose.container-number": attrs.get("replica", "1"),
        }
        with path.open("a") as stream:
            for line in lines:
                entry = {"log": line + "\n", "stream": "stdout", "attrs": labels}
                entry["time"] = attrs.get("time", "2026-12-05T10:00:00.123456789Z")
                stream.write(json.dumps(entry) + "\n")

    def stored(self) -> list[dict[str, object]]:
        return [
            json.loads(line)
            for path in sorted(self.store.glob("*/*/*.log"))
            for line in path.read_text().splitlines()
        ]


@pytest.fixture
def host(tmp_path: Path) -> Host:
    if not RSYSLOGD.exists():
        require_service("rsyslog is not installed (apt-get install rsyslog)")
    return Host(tmp_path)


@pytest.fixture
def rsyslog(host: Host) -> Iterator[RsyslogProcess]:
    process = RsyslogProcess(host)
    try:
        yield process
    finally:
        process.stop()


class RsyslogProcess:
    def __init__(self, host: Host) -> None:
        self.host = host
        config = CONFIG.read_text()
        for real, local in (
            ("/var/lib/docker/containers", host.containers),
            ("/var/log/signupflow", host.store),
            ("/var/lib/signupflow-logstore", host.root / "state"),
        ):
            assert real in config
            config = config.replace(real, str(local))
        for directory in (host.containers, host.store, host.root / "state"):
            directory.mkdir(parents=True, exist_ok=True)
        self.config = host.root / "rsyslog.conf"
        self.config.write_text(config)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(RSYSLOGD), "-n", "-f", str(self.config), "-i", str(self.host.root / "pid")]
        self.process = subprocess.Popen(
            command, env={"LOG_PROJECT": "proj", "PATH": "/usr/bin:/bin"}
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None


def wait_for(host: Host, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + WAIT_S
    stored = host.stored()
    while len(stored) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        stored = host.stored()
    return stored


def app_line(index: int, **fields: object) -> str:
    return json.dumps({"level": "info", "request_id": f"r-{index}", "message": "m", **fields})


def check(config: Path) -> subprocess.CompletedProcess[str]:
    """rsyslogd's own check, which `signupflow-logs serve` runs before it starts rsyslogd."""
    return subprocess.run(
        [str(RSYSLOGD), "-N1", "-f", str(config)], capture_output=True, text=True, check=False
    )


def test_the_configuration_is_valid_and_a_broken_one_refused(host: Host) -> None:
    config = RsyslogProcess(host).config
    result = check(config)
    assert result.returncode == 0, result.stderr
    config.write_text(config.read_text().replace('type="mmjsonparse"', 'type="mmjsonprase"'))
    refused = check(config)
    assert refused.returncode != 0
    assert "mmjsonprase" in refused.stderr


def test_each_line_is_stored_with_its_service_time_and_fields(
    host: Host, rsyslog: RsyslogProcess
) -> None:
    host.write(CONTAINER, [app_line(1, route="/api/v1/events", status=401)], replica="2")
    host.write(CONTAINER, ["Traceback (most recent call last): not JSON"])
    host.write(OTHER, [app_line(99)], project="someone-else")
    host.write(CONTAINER, [app_line(2)], time="2026-12-06T00:00:00.000000001Z", service="worker")
    rsyslog.start()
    stored = wait_for(host, 3)
    assert stored == [
        {
            "time": "2026-12-05T10:00:00.123456789Z",
            "service": "app",
            "replica": "2",
            "container": CONTAINER[:12],
            "stream": "stdout",
            "fields": {
                "level": "info",
                "request_id": "r-1",
                "message": "m",
                "route": "/api/v1/events",
                "status": 401,
            },
        },
        {
            "time": "2026-12-05T10:00:00.123456789Z",
            "service": "app",
            "replica": "1",
            "container": CONTAINER[:12],
            "stream": "stdout",
            "message": "Traceback (most recent call last): not JSON\n",
        },
        {
            "time": "2026-12-06T00:00:00.000000001Z",
            "service": "worker",
            "replica": "1",
            "container": CONTAINER[:12],
            "stream": "stdout",
            "fields": {"level": "info", "request_id": "r-2", "message": "m"},
        },
    ]
    assert sorted(p.relative_to(host.store).as_posix() for p in host.store.glob("*/*/*")) == [
        "2026-12-05/10/app.log",
        "2026-12-06/00/worker.log",
    ]


def test_nothing_is_lost_or_repeated_across_rotation_and_a_restart(
    host: Host, rsyslog: RsyslogProcess
) -> None:
    host.write(CONTAINER, [app_line(i) for i in range(100)])
    rsyslog.start()
    assert len(wait_for(host, 100)) == 100
    # Docker's rotation: the full file is renamed to .1 and a new one started.
    host.log_file(CONTAINER).rename(host.log_file(CONTAINER).with_name(f"{CONTAINER}-json.log.1"))
    host.write(CONTAINER, [app_line(i) for i in range(100, 200)])
    assert len(wait_for(host, 200)) == 200
    # Stopped while the container keeps logging, rotated meanwhile, started again.
    rsyslog.stop()
    host.write(CONTAINER, [app_line(i) for i in range(200, 250)])
    rotated = host.log_file(CONTAINER).with_name(f"{CONTAINER}-json.log.1")
    shutil.move(rotated, rotated.with_name(f"{CONTAINER}-json.log.2"))
    host.log_file(CONTAINER).rename(rotated)
    host.write(CONTAINER, [app_line(i) for i in range(250, 300)])
    rsyslog.start()
    stored = wait_for(host, 300)
    time.sleep(2)  # anything read twice would arrive now
    ids = [line["fields"]["request_id"] for line in host.stored()]  # type: ignore[index]
    assert sorted(ids, key=lambda i: int(str(i)[2:])) == [f"r-{i}" for i in range(300)]
    assert len(stored) == 300
