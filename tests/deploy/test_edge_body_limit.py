"""The edges refuse what the app refuses: Caddy and Traefik set the same request-body limits
as the app's MAX_REQUEST_BODY_BYTES default and its per-path table (app.py
BODY_LIMIT_BY_PATH), so an oversized body stops at the edge and never reaches a replica.
Read from the files; no edge runs for this."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.repository import REPO
from signupflow.app import BODY_LIMIT_BY_PATH
from signupflow.settings import Settings
from tests.deploy.test_traefik_config import DOMAINS, dig, load_yaml, merge_dynamic, render

EDGE_DIR = REPO / "deploy" / "edge"
CADDYFILE = EDGE_DIR / "caddy" / "Caddyfile"
DEFAULT = Settings.model_fields["max_request_body_bytes"].default
# Path -> limit, None standing for every other path.
EXPECTED: dict[str | None, int] = {None: DEFAULT, **BODY_LIMIT_BY_PATH}
UNITS = {"": 1, "B": 1, "KB": 10**3, "KiB": 2**10, "MB": 10**6, "MiB": 2**20, "GB": 10**9}
SIZE = re.compile(r"^(\d+)([KMG]i?B|B)?$")


def caddy_bytes(size: str) -> int:
    match = SIZE.fullmatch(size)
    assert match, f"not a size Caddy reads exactly: {size}"
    return int(match[1]) * UNITS[match[2] or ""]


def caddy_body_limits(text: str) -> dict[str | None, int]:
    """`request_body [@matcher] { max_size N }` by the paths its matcher selects."""
    matchers: dict[str, str | None] = {}
    for name, negated, paths in re.findall(r"^\s*@(\S+)\s+(not\s+)?path\s+(.+?)\s*$", text, re.M):
        if negated:
            # "Every other path" only when it leaves out exactly the paths with their own limit.
            assert set(paths.split()) == set(BODY_LIMIT_BY_PATH), f"@{name} excludes {paths}"
            matchers[name] = None
        elif len(paths.split()) == 1:
            matchers[name] = paths
    limits: dict[str | None, int] = {}
    blocks = re.findall(r"request_body\s*(?:@(\S+))?\s*\{\s*max_size\s+(\S+)\s*\}", text)
    assert len(blocks) == text.count("request_body"), "a request_body block this test cannot read"
    for matcher, size in blocks:
        key = matchers[matcher] if matcher else None
        assert key not in limits, f"two request_body limits for {key or 'every path'}"
        limits[key] = caddy_bytes(size)
    return limits


def traefik_body_limits(rendered: Path, domain: str) -> dict[str | None, int]:
    dynamic = merge_dynamic([load_yaml(p) for p in sorted((rendered / "dynamic").glob("*.yml"))])
    middlewares = dig(dynamic, "http", "middlewares") or {}
    routers = dig(dynamic, "http", "routers") or {}
    limits: dict[str | None, int] = {}
    default_rule = ""
    for router in routers.values():
        rule = str(router.get("rule", ""))
        if f"Host(`{domain}`)" not in rule:
            continue
        used = [
            dig(middlewares, name.removesuffix("@file"), "buffering", "maxRequestBodyBytes")
            for name in router.get("middlewares") or []
        ]
        sizes = [size for size in used if size is not None]
        assert len(sizes) == 1, f"{rule}: one body limit per router, not {sizes}"
        path = re.search(r"Path\(`([^`]+)`\)", rule)
        limits[path[1] if path else None] = sizes[0]
        if not path:
            default_rule = rule
        else:
            # Traefik's default priority is the rule's length: the path's router must win.
            assert "priority" not in router
            assert len(rule) > len(default_rule or f"Host(`{domain}`)")
    return limits


def test_caddy_limits_request_bodies_as_the_app_does() -> None:
    assert caddy_body_limits(CADDYFILE.read_text()) == EXPECTED


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("traefik")
    result = render(out, "--domains", ",".join(DOMAINS))
    assert result.returncode == 0, result.stderr
    return out


def test_traefik_limits_request_bodies_as_the_app_does(rendered: Path) -> None:
    for domain in DOMAINS:
        assert traefik_body_limits(rendered, domain) == EXPECTED, domain


def test_every_edge_configuration_is_checked() -> None:
    # A new edge (nginx, HAProxy) must get its body limits checked here too.
    assert sorted(p.name for p in EDGE_DIR.iterdir() if p.is_dir()) == ["caddy", "traefik"]


def test_the_caddy_reader_sees_a_missing_or_different_limit() -> None:
    text = CADDYFILE.read_text()
    assert caddy_body_limits(text.replace("max_size 1MiB", "max_size 1MB")) != EXPECTED
    without = re.sub(r"request_body @other_bodies \{[^}]*\}", "", text)
    assert caddy_body_limits(without) != EXPECTED
