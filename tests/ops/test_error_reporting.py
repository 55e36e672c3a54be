"""With SENTRY_DSN set, unhandled errors reach Sentry (a real SDK, a local HTTP endpoint that
receives the envelope) with environment and release; without it nothing is sent."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import sentry_sdk
from fastapi.testclient import TestClient

from signupflow.app import create_app
from signupflow.ops.error_reporting import init_error_reporting
from tests.support.settings import make_settings


class Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        return None


@pytest.fixture
def sentry_endpoint() -> Iterator[tuple[str, list[bytes]]]:
    Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/42", Collector.received
    server.shutdown()
    server.server_close()
    sentry_sdk.init(dsn=None)  # leave the process without a configured client


def _app_with_failing_route(settings):
    app = create_app(settings)

    @app.get("/test/boom")
    def boom() -> None:
        raise RuntimeError("kaboom for the error report")

    return app


def test_unhandled_errors_are_reported_with_environment_and_release(database_url, sentry_endpoint):
    dsn, received = sentry_endpoint
    settings = make_settings(database_url, sentry_dsn=dsn, release="signupflow@9.9.9-test")
    assert init_error_reporting(settings)
    with TestClient(_app_with_failing_route(settings), raise_server_exceptions=False) as client:
        response = client.get("/test/boom")
    assert response.status_code == 500
    assert "kaboom" not in response.text
    sentry_sdk.flush(timeout=10)
    events = [
        json.loads(line)
        for envelope in received
        for line in envelope.splitlines()
        if line.startswith(b"{") and b'"exception"' in line
    ]
    assert events, f"no event received: {received!r}"
    event = events[0]
    assert event["environment"] == "test"
    assert event["release"] == "signupflow@9.9.9-test"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"


def test_without_a_dsn_nothing_is_sent(database_url, sentry_endpoint):
    _, received = sentry_endpoint
    settings = make_settings(database_url)
    assert not init_error_reporting(settings)
    with TestClient(_app_with_failing_route(settings), raise_server_exceptions=False) as client:
        assert client.get("/test/boom").status_code == 500
    sentry_sdk.flush(timeout=2)
    assert received == []
