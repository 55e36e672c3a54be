"""Requests sent at the same moment from their own threads, against a live server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

# (method, path, headers, body): a str body is sent as it is (e.g. CSV), anything else as JSON
Call = tuple[str, str, dict[str, str], Any]


def all_at_once(base_url: str, calls: list[Call]) -> list[tuple[int, Any]]:
    """Send every call from its own thread, released together by a barrier; return each
    (status, JSON body or None) in order. Every error answer must be problem+json."""
    start = threading.Barrier(len(calls))

    def send(call: Call) -> tuple[int, Any]:
        method, path, headers, body = call
        with httpx.Client(base_url=base_url, timeout=60) as http:
            start.wait()
            if isinstance(body, str):
                response = http.request(method, path, headers=headers, content=body)
            else:
                response = http.request(method, path, headers=headers, json=body)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", response.text
        return response.status_code, response.json() if response.content else None

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def signups_and_joins(event_id: int, newcomers: list[Any], joiners: list[Any]) -> list[Call]:
    """Each newcomer signing up as usher, each joiner joining the usher waitlist."""
    base = f"/api/v1/events/{event_id}"
    usher = {"role": "usher"}
    return [("POST", f"{base}/signups", n.headers, usher) for n in newcomers] + [
        ("POST", f"{base}/waitlist", j.headers, usher) for j in joiners
    ]
