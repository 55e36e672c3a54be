"""Request bodies over MAX_REQUEST_BODY_BYTES are refused with 413 problem+json before the app
parses them: a declared Content-Length at once, a chunked body as soon as it passes the limit.
Only the routes in BODY_LIMIT_BY_PATH (the CSV import) accept more."""

from __future__ import annotations

import json
import select
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from signupflow.app import BODY_LIMIT_BY_PATH
from signupflow.ops.middleware import RequestBodyLimitMiddleware
from signupflow.people import csv_io
from signupflow.settings import Settings
from tests.api.test_people_csv import upload
from tests.factories import new_org, ok
from tests.support.live_server import served

LOGIN = "/api/v1/auth/login"
IMPORT = "/api/v1/people/import"
CHUNK = 64 * 1024
SOCKET_TIMEOUT_S = 15


def head(url: str, path: str, *, framing: str) -> bytes:
    host = urlsplit(url).netloc
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host.split(':')[0]}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read until the server closes the connection (a 413 says `Connection: close`)."""
    received = b""
    while part := sock.recv(65536):
        received += part
    status_line, _, rest = received.partition(b"\r\n")
    raw_headers, _, body = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in raw_headers.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT_S)
    return sock


def assert_too_large(status: int, content_type: str, body: Any, limit: int) -> None:
    assert status == 413
    assert content_type == "application/problem+json"
    assert body["code"] == "request.body_too_large"
    assert body["params"] == {"limit": limit, "max_kib": limit // 1024}


def test_a_declared_body_over_the_limit_is_refused_before_any_of_it_is_sent(
    live_url: str, settings: Settings
) -> None:
    # 50 MB announced to the unauthenticated login, and not one byte of it sent: the answer
    # comes from the headers alone (before, the server waited for the body).
    with connect(live_url) as sock:
        sock.sendall(head(live_url, LOGIN, framing=f"Content-Length: {50 * 1024 * 1024}"))
        status, headers, body = read_response(sock)
    assert_too_large(
        status, headers["content-type"], json.loads(body), settings.max_request_body_bytes
    )
    assert headers["connection"] == "close"


def test_a_chunked_body_is_refused_once_it_passes_the_limit(
    live_url: str, settings: Settings
) -> None:
    limit = settings.max_request_body_bytes
    with connect(live_url) as sock:
        sock.sendall(head(live_url, LOGIN, framing="Transfer-Encoding: chunked"))
        sent = 0
        while sent <= limit:  # one byte past the limit, never the final empty chunk
            piece = b"x" * min(CHUNK, limit + 1 - sent)
            sock.sendall(chunked(piece))
            sent += len(piece)
        status, headers, body = read_response(sock)
    assert_too_large(status, headers["content-type"], json.loads(body), limit)


class CountingApp:
    """Reads the whole body, as a JSON endpoint would, counting what reaches it."""

    def __init__(self) -> None:
        self.received = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            self.received += len(message.get("body", b""))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})


def test_the_app_never_receives_much_more_than_the_limit_of_an_endless_body() -> None:
    limit = 256 * 1024
    counting = CountingApp()
    answered: list[int] = []
    limited = RequestBodyLimitMiddleware(counting, limit=limit, limit_by_path={})

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
            await send(message)

        await limited(scope, receive, send_and_record)

    offered = 0
    with served(recording, lifespan="off") as url, connect(url) as sock:
        sock.sendall(head(url, "/upload", framing="Transfer-Encoding: chunked"))
        # The client keeps sending (up to 64 times the limit) until the server answers.
        try:
            while offered < 64 * limit and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunked(b"y" * CHUNK))
                offered += CHUNK
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while more was on its way
        deadline = time.monotonic() + SOCKET_TIMEOUT_S
        while not answered and time.monotonic() < deadline:
            time.sleep(0.01)
    assert answered == [413]
    assert offered > limit
    # What a single receive() can hand over on top: the server's read size.
    assert counting.received <= limit + CHUNK


def test_a_body_of_exactly_the_limit_is_parsed(client: TestClient, settings: Settings) -> None:
    padding = "p" * (settings.max_request_body_bytes - len('{"email":"a@example.org","x":""}'))
    body = f'{{"email":"a@example.org","x":"{padding}"}}'.encode()
    assert len(body) == settings.max_request_body_bytes
    response = client.post(LOGIN, content=body, headers={"Content-Type": "application/json"})
    # Parsed and validated (no password, an unknown field), not refused for its size.
    assert response.status_code == 422
    assert response.json().get("code") != "request.body_too_large"


def test_a_body_one_byte_over_the_limit_is_refused(client: TestClient, settings: Settings) -> None:
    limit = settings.max_request_body_bytes
    response = client.post(
        LOGIN, content=b"{" + b" " * limit, headers={"Content-Type": "application/json"}
    )
    assert_too_large(response.status_code, response.headers["content-type"], response.json(), limit)


def test_the_csv_import_keeps_its_own_larger_limit(client: TestClient, settings: Settings) -> None:
    assert BODY_LIMIT_BY_PATH[IMPORT] == csv_io.MAX_BYTES > settings.max_request_body_bytes
    org = new_org(client)
    name = "n" * 150
    rows = "".join(f"{name} {i},p{i}@{org.slug}.example.org\n" for i in range(7_000))
    body = "name,email\n" + rows
    assert settings.max_request_body_bytes < len(body) <= csv_io.MAX_BYTES
    assert ok(upload(org, body, dry_run=True))["created"] == 7_000
    too_large = upload(org, b"name,email\n" + b"x" * csv_io.MAX_BYTES)
    assert_too_large(
        too_large.status_code, too_large.headers["content-type"], too_large.json(), csv_io.MAX_BYTES
    )


@pytest.mark.parametrize("path", ["/api/v1/auth/signup", "/api/v1/people/import/"])
def test_other_paths_get_the_default_limit(
    client: TestClient, settings: Settings, path: str
) -> None:
    limit = settings.max_request_body_bytes
    response = client.post(
        path, content=b"x" * (limit + 1), headers={"Content-Type": "application/json"}
    )
    assert_too_large(response.status_code, response.headers["content-type"], response.json(), limit)
