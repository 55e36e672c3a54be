"""The exporters' metrics the rules read, from the real Debian exporters: postgres-exporter 0.11
against a throwaway cluster, node exporter 1.5 on this host, blackbox exporter 0.23 probing a
TLS server. So a rule never reads a metric name that was guessed."""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.postgres import PostgresCluster
from harness.processes import stop_process
from tests.ops.monitoring_files import LAYOUT, check, require_tool
from tests.support.settings import BACKEND
from tests.support.tls import CertificateAuthority

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="real exporters: run once, in the PostgreSQL pass"
)

SCRAPE_DEADLINE_S = 30


@contextmanager
def running(command: list[str], env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        stop_process(process, timeout_s=10)


def scrape(url: str, ready: str) -> str:
    """The exporter's answer once it contains `ready` (it starts, then connects)."""
    deadline = time.monotonic() + SCRAPE_DEADLINE_S
    text = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 -- http://127.0.0.1 only
                text = response.read().decode()
        except (urllib.error.URLError, ConnectionError):
            text = ""
        if ready in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{url} never showed {ready!r}:\n{text[-2000:]}")


def names(text: str) -> set[str]:
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def rules_read(prefix: str, *, but: str = "\0") -> set[str]:
    return {
        name
        for name in check.read_by_rules(LAYOUT.rule_files())
        if name.startswith(prefix) and not name.startswith(but)
    }


def test_postgres_exporter_exposes_the_connection_metrics_the_rules_read(
    pg_cluster: PostgresCluster,
) -> None:
    binary = require_tool("prometheus-postgres-exporter")
    port = free_port()
    dsn = pg_cluster.url(driver="postgresql") + "?sslmode=disable"
    env = {**os.environ, "DATA_SOURCE_NAME": dsn}
    with running([binary, f"--web.listen-address=127.0.0.1:{port}"], env):
        text = scrape(f"http://127.0.0.1:{port}/metrics", "pg_up 1")
    # pg_archiver_* come from deploy/pgbackrest/backup_metrics.py (tests/pitr).
    needed = rules_read("pg_", but="pg_archiver_")
    assert needed == {"pg_stat_activity_count", "pg_settings_max_connections"}
    assert needed <= names(text)
    assert re.search(
        r'^pg_stat_activity_count\{datname="postgres",.*state="active"\} \d', text, re.M
    )
    assert re.search(r"^pg_settings_max_connections\{.*\} \d+", text, re.M)


def test_node_exporter_exposes_the_host_metrics_the_rules_read() -> None:
    binary = require_tool("prometheus-node-exporter")
    port = free_port()
    with running([binary, f"--web.listen-address=127.0.0.1:{port}"]):
        text = scrape(f"http://127.0.0.1:{port}/metrics", "node_filesystem_avail_bytes")
    needed = rules_read("node_")
    assert needed >= {"node_filesystem_avail_bytes", "node_cpu_seconds_total"}
    assert needed <= names(text)
    # The disk rule filters and labels by these.
    assert re.search(
        r'^node_filesystem_size_bytes\{device="[^"]*",fstype="[^"]*",mountpoint="/"\}', text, re.M
    )


@contextmanager
def tls_server(context: ssl.SSLContext) -> Iterator[int]:
    """A TLS listener on 127.0.0.1 that completes handshakes until stopped."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_blackbox_exporter_exposes_the_certificate_expiry_the_rules_read(tmp_path: Path) -> None:
    binary = require_tool("prometheus-blackbox-exporter")
    authority = CertificateAuthority.create(tmp_path / "ca")
    config = tmp_path / "blackbox.yml"
    config.write_text(
        "modules:\n  tls:\n    prober: tcp\n    timeout: 5s\n    tcp:\n      tls: true\n"
        f"      tls_config:\n        ca_file: {authority.pem_file}\n"
    )
    port = free_port()
    with (
        tls_server(authority.server_context("127.0.0.1")) as target,
        running([binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"]),
    ):
        text = scrape(
            f"http://127.0.0.1:{port}/probe?module=tls&target=127.0.0.1:{target}", "probe_success 1"
        )
    assert rules_read("probe_") <= names(text)
    expiry = float(re.findall(r"^probe_ssl_earliest_cert_expiry (\S+)", text, re.M)[0])
    assert 0 < expiry - time.time() <= 86400  # the test certificates live one day
