"""Traefik's configuration, checked without Traefik (no binary or image exists here).

1. Schema: the static file, every dynamic file, the generator's output and the app's Docker
   labels (translated into the dynamic-configuration tree the way Traefik's docker provider
   reads them) validate against Traefik v3's published JSON schemas (tests/deploy/schemas/).
2. Meaning: HTTP is redirected to HTTPS for good, the Let's Encrypt resolver exists and
   answers HTTP-01 on :80, every domain has an HTTPS router using that resolver, /metrics is
   never routed, and the edge's readiness check on the app is fast enough for the app's drain.
3. Each of those checks is shown to fail on a configuration with that piece removed.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from harness.compose import ENV_EXAMPLE, PROD, TRAEFIK, TRAEFIK_RENDER, resolved_config
from harness.repository import REPO
from signupflow.app import BODY_LIMIT_BY_PATH
from signupflow.settings import Settings

SCHEMAS = Path(__file__).resolve().parent / "schemas"
STATIC_SCHEMA = json.loads((SCHEMAS / "traefik-v3.json").read_text())
DYNAMIC_SCHEMA = json.loads((SCHEMAS / "traefik-v3-file-provider.json").read_text())
TRAEFIK_DIR = REPO / "deploy" / "edge" / "traefik"
DOMAINS = ["signup.example.org", "volunteer.example.net", "helfer.example.de"]
PROJECT = "signupflow"
RESOLVER = "letsencrypt"
APP_SERVICE = "app"
APP_PORT = 8000
READY_PATH = "/health/ready"
MAX_CHECK_INTERVAL_S = 2.0
# Traefik's defaults when a health check names no interval or timeout.
TRAEFIK_DEFAULT_INTERVAL = "30s"
TRAEFIK_DEFAULT_TIMEOUT = "5s"
# The paths the app gives a body limit of their own; the edge routes each separately.
OWN_BODY_LIMIT_PATHS = sorted(BODY_LIMIT_BY_PATH)
CONTAINER_ADDRESS = "172.31.240.2"  # stands for the replica's address on the edge network


# --- reading and validating --------------------------------------------------------------------


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def schema_errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def merge_dynamic(trees: list[dict[str, Any]]) -> dict[str, Any]:
    """The file provider's view of a directory: every file's tree merged; the same element
    defined twice is an error, as it is for Traefik."""
    merged: dict[str, Any] = {}

    def merge(target: dict[str, Any], source: Mapping[str, Any], path: str) -> None:
        for key, value in source.items():
            if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                merge(target[key], value, f"{path}.{key}")
            elif key in target:
                raise AssertionError(f"{path}.{key} is defined in more than one file")
            else:
                target[key] = copy.deepcopy(value)

    for tree in trees:
        merge(merged, tree, "")
    return merged


# --- Docker labels -> dynamic configuration tree ----------------------------------------------


class LabelError(ValueError):
    pass


# Labels that configure the docker provider itself, not routing.
PROVIDER_LABELS = ("traefik.enable", "traefik.docker.")
_INDEXED = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<index>\d+)\]$")


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _branches(node: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(node, schema)
    alternatives = [*node.get("oneOf", []), *node.get("anyOf", []), *node.get("allOf", [])]
    return [node, *(_resolve(branch, schema) for branch in alternatives)]


def _child(node: dict[str, Any], key: str, schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The schema of `key` under `node`, and the key as the schema spells it (Traefik matches
    label segments to field names without regard to case: `loadbalancer` is `loadBalancer`)."""
    branches = _branches(node, schema)
    for branch in branches:
        for name, sub in (branch.get("properties") or {}).items():
            if name.lower() == key.lower():
                return name, sub
    for branch in branches:
        for pattern, sub in (branch.get("patternProperties") or {}).items():
            if re.search(pattern, key):
                return key, sub
        extra = branch.get("additionalProperties")
        if isinstance(extra, dict):
            return key, extra  # a name chosen by the user: a router, a service, a header
    raise LabelError(f"unknown field {key!r}")


def _coerce(raw: str, node: dict[str, Any], schema: dict[str, Any]) -> Any:
    node = _resolve(node, schema)
    declared = node.get("type", "string")
    types = declared if isinstance(declared, list) else [declared]
    if "boolean" in types:
        if raw.lower() not in {"true", "false"}:
            raise LabelError(f"{raw!r} is not a boolean")
        return raw.lower() == "true"
    if "integer" in types:
        if not re.fullmatch(r"-?\d+", raw):
            raise LabelError(f"{raw!r} is not an integer")
        return int(raw)
    if "number" in types:
        return float(raw)
    if "array" in types:
        items = node.get("items") or {}
        return [_coerce(item.strip(), items, schema) for item in raw.split(",") if item.strip()]
    if "object" in types and "string" not in types:
        raise LabelError(f"{raw!r} given where an object is expected")
    return raw


def labels_to_tree(
    labels: Mapping[str, str],
    *,
    schema: dict[str, Any] = DYNAMIC_SCHEMA,
    address: str = CONTAINER_ADDRESS,
    exposed_port: int = APP_PORT,
) -> dict[str, Any]:
    """`traefik.http.services.app.loadbalancer.server.port=8000` ->
    {"http": {"services": {"app": {"loadBalancer": {"servers": [{"url": ...}]}}}}}.

    As Traefik's docker provider does: segments match schema fields case-insensitively,
    values become the schema's types (booleans, integers, comma-separated lists),
    `name[0]` indexes a list, and `loadbalancer.server.{port,scheme}` (labels only) become the
    container's URL in `servers`. Unknown fields and badly typed values raise LabelError."""
    tree: dict[str, Any] = {}
    servers: dict[tuple[str, ...], dict[str, str]] = {}
    for label, raw in sorted(labels.items()):
        if not label.startswith("traefik.") or label.startswith(PROVIDER_LABELS):
            continue
        segments = label.split(".")[1:]
        node: dict[str, Any] = schema
        target: Any = tree
        path: list[str] = []
        try:
            for position, segment in enumerate(segments):
                last = position == len(segments) - 1
                if path[-1:] == ["loadBalancer"] and segment.lower() == "server":
                    if segments[position + 1 :] not in (["port"], ["scheme"]):
                        raise LabelError("expected server.port or server.scheme")
                    servers.setdefault(tuple(path), {})[segments[-1].lower()] = raw
                    target.setdefault("servers", [])
                    break
                indexed = _INDEXED.match(segment)
                key, node = _child(node, indexed["name"] if indexed else segment, schema)
                path.append(key)
                if indexed:
                    items = _resolve(node, schema).get("items") or {}
                    entries = target.setdefault(key, [])
                    index = int(indexed["index"])
                    while len(entries) <= index:
                        entries.append({})
                    target, node = entries[index], items
                    if last:
                        raise LabelError("a list element needs a field")
                elif last:
                    target[key] = _coerce(raw, node, schema)
                else:
                    target = target.setdefault(key, {})
        except LabelError as exc:
            raise LabelError(f"{label}={raw}: {exc}") from None
    for path, server in servers.items():
        balancer: Any = tree
        for key in path:
            balancer = balancer[key]
        scheme, port = server.get("scheme", "http"), server.get("port", str(exposed_port))
        if not port.isdigit():
            raise LabelError(f"server.port={port}: not a port number")
        balancer["servers"] = [{"url": f"{scheme}://{address}:{port}"}]
    return tree


# --- what the edge runs with -------------------------------------------------------------------


@dataclass
class EdgeConfig:
    static: dict[str, Any]
    dynamic: dict[str, Any]
    labels: dict[str, str]
    app_environment: dict[str, str]
    app_healthcheck: dict[str, Any] | None
    domains: list[str]


def render(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TRAEFIK_RENDER), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("traefik")
    result = render(out, "--domains", ",".join(DOMAINS), "--project", PROJECT)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def app_service() -> dict[str, Any]:
    env = {
        "APP_IMAGE": "signupflow:under-test",
        "DOMAINS": ",".join(DOMAINS),
        "PUBLIC_URL": f"https://{DOMAINS[0]}",
        "WORKER_IMAGE": "signupflow-worker:under-test",
        "SMTP_HOST": "smtp.example.org",
    }
    service = resolved_config((PROD, TRAEFIK), env=env, env_file=ENV_EXAMPLE)["services"]["app"]
    assert isinstance(service, dict)
    return service


@pytest.fixture
def edge(rendered: Path, app_service: dict[str, Any]) -> EdgeConfig:
    dynamic_files = sorted((rendered / "dynamic").glob("*.yml"))
    return EdgeConfig(
        static=load_yaml(rendered / "traefik.yml"),
        dynamic=merge_dynamic([load_yaml(path) for path in dynamic_files]),
        labels=dict(app_service.get("labels") or {}),
        app_environment={k: str(v) for k, v in (app_service.get("environment") or {}).items()},
        app_healthcheck=app_service.get("healthcheck"),
        domains=list(DOMAINS),
    )


# --- the checks --------------------------------------------------------------------------------


def dig(tree: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(tree, Mapping) or key not in tree:
            return None
        tree = tree[key]
    return tree


def seconds(duration: str) -> float:
    """A Go duration (`1s`, `500ms`, `1m30s`) in seconds; a bare number is seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", duration):
        return float(duration)
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def check_entry_points(edge: EdgeConfig) -> list[str]:
    found = []
    entry_points = edge.static.get("entryPoints") or {}
    if dig(entry_points, "web", "address") != ":80":
        found.append("entry point web must listen on :80 (HTTP-01 and the redirect)")
    if dig(entry_points, "websecure", "address") != ":443":
        found.append("entry point websecure must listen on :443")
    redirect = dig(entry_points, "web", "http", "redirections", "entryPoint") or {}
    if redirect.get("to") != "websecure" or redirect.get("scheme") != "https":
        found.append("web must redirect every request to websecure (https)")
    elif redirect.get("permanent") is not True:
        found.append("the redirect from web to websecure must be permanent")
    return found


def check_resolver(edge: EdgeConfig) -> list[str]:
    acme = dig(edge.static, "certificatesResolvers", RESOLVER, "acme")
    if not acme:
        return [f"certificate resolver {RESOLVER!r} (ACME) is missing"]
    found = []
    if dig(acme, "httpChallenge", "entryPoint") != "web":
        found.append(f"resolver {RESOLVER!r} must answer HTTP-01 challenges on web (:80)")
    if not str(acme.get("storage", "")).startswith("/var/lib/traefik/"):
        found.append("ACME storage must be on the traefik-acme volume (/var/lib/traefik)")
    if not str(acme.get("caServer", "https://")).startswith("https://"):
        found.append("the ACME CA server must be an https:// URL")
    return found


def check_providers(edge: EdgeConfig) -> list[str]:
    found = []
    docker = dig(edge.static, "providers", "docker")
    if not docker:
        found.append("the docker provider (app replicas) is missing")
    else:
        if docker.get("exposedByDefault") is not False:
            found.append("the docker provider must not expose containers by default")
        if docker.get("network") != f"{PROJECT}_edge":
            found.append(f"the docker provider must reach containers on {PROJECT}_edge")
    if dig(edge.static, "providers", "file", "directory") != "/etc/traefik/dynamic":
        found.append("the file provider must read /etc/traefik/dynamic (the rendered routers)")
    if dig(edge.static, "accessLog", "format") != "json":
        found.append("access logs must be JSON")
    return found


def all_routers(edge: EdgeConfig) -> dict[str, dict[str, Any]]:
    routers = dict(dig(edge.dynamic, "http", "routers") or {})
    labelled = dig(labels_to_tree(edge.labels), "http", "routers") or {}
    routers.update({f"{name}@docker": router for name, router in labelled.items()})
    return routers


def check_routers(edge: EdgeConfig) -> list[str]:
    found = []
    routers = all_routers(edge)
    resolvers = set(edge.static.get("certificatesResolvers") or {})
    middlewares = dig(edge.dynamic, "http", "middlewares") or {}
    label_services = set(dig(labels_to_tree(edge.labels), "http", "services") or {})
    for name, router in routers.items():
        if dig(router, "tls", "certResolver") not in resolvers or RESOLVER not in resolvers:
            found.append(f"router {name} must use TLS with the {RESOLVER!r} resolver")
        if router.get("entryPoints") != ["websecure"]:
            found.append(f"router {name} must listen on websecure only")
        if "!PathPrefix(`/metrics`)" not in str(router.get("rule", "")):
            found.append(f"router {name} must not route /metrics")
        service = str(router.get("service", ""))
        if service != f"{APP_SERVICE}@docker" or APP_SERVICE not in label_services:
            found.append(f"router {name} must send traffic to {APP_SERVICE}@docker (the labels)")
        headers = dig(middlewares, "security-headers", "headers") or {}
        if "security-headers@file" not in (router.get("middlewares") or []):
            found.append(f"router {name} must use the security-headers middleware")
        elif not headers.get("stsSeconds"):
            found.append("the security-headers middleware must send HSTS")
    for domain in edge.domains:
        if not any(f"Host(`{domain}`)" in str(r.get("rule", "")) for r in routers.values()):
            found.append(f"no router for {domain}")
    return found


def check_health(edge: EdgeConfig) -> list[str]:
    found = []
    if not edge.app_healthcheck or edge.app_healthcheck.get("disable"):
        found.append("the app needs a Docker health check: Traefik waits for 'healthy'")
    balancer = dig(labels_to_tree(edge.labels), "http", "services", APP_SERVICE, "loadBalancer")
    if not balancer:
        return [*found, f"the app's labels define no {APP_SERVICE!r} service"]
    urls = [server.get("url", "") for server in balancer.get("servers") or []]
    if not urls or not all(url.endswith(f":{APP_PORT}") for url in urls):
        found.append(f"the {APP_SERVICE!r} service must send traffic to port {APP_PORT}")
    check = balancer.get("healthCheck")
    if not check:
        return [*found, f"the {APP_SERVICE!r} service has no health check"]
    if check.get("path") != READY_PATH:
        found.append(f"the health check must ask {READY_PATH} (503 while draining)")
    interval = seconds(str(check.get("interval", TRAEFIK_DEFAULT_INTERVAL)))
    timeout = seconds(str(check.get("timeout", TRAEFIK_DEFAULT_TIMEOUT)))
    if interval > MAX_CHECK_INTERVAL_S:
        found.append(f"the health-check interval ({interval} s) must be at most 2 s")
    default_drain = Settings.model_fields["drain_delay_s"].default
    drain = float(edge.app_environment.get("DRAIN_DELAY_S", default_drain))
    if drain <= interval + timeout:
        found.append(
            f"DRAIN_DELAY_S ({drain} s) must exceed the health check's interval + timeout "
            f"({interval + timeout} s), or a draining replica stops before it leaves rotation"
        )
    return found


CHECKS: tuple[Callable[[EdgeConfig], list[str]], ...] = (
    check_entry_points,
    check_resolver,
    check_providers,
    check_routers,
    check_health,
)


def problems(edge: EdgeConfig) -> list[str]:
    return [problem for check in CHECKS for problem in check(edge)]


# --- 1. schemas --------------------------------------------------------------------------------


def test_static_configuration_matches_the_schema(rendered: Path) -> None:
    assert schema_errors(load_yaml(TRAEFIK_DIR / "traefik.yml"), STATIC_SCHEMA) == []
    assert schema_errors(load_yaml(rendered / "traefik.yml"), STATIC_SCHEMA) == []


@pytest.mark.parametrize(
    "path", sorted((TRAEFIK_DIR / "dynamic").glob("*.yml")), ids=lambda p: p.name
)
def test_dynamic_file_matches_the_schema(path: Path) -> None:
    assert schema_errors(load_yaml(path), DYNAMIC_SCHEMA) == []


def test_rendered_dynamic_configuration_matches_the_schema(edge: EdgeConfig) -> None:
    assert dig(edge.dynamic, "http", "routers"), "nothing rendered"
    assert schema_errors(edge.dynamic, DYNAMIC_SCHEMA) == []


def test_app_labels_match_the_schema(edge: EdgeConfig) -> None:
    tree = labels_to_tree(edge.labels)
    assert dig(tree, "http", "services", APP_SERVICE, "loadBalancer", "healthCheck")
    assert schema_errors(tree, DYNAMIC_SCHEMA) == []
    # Together with the files they form one consistent configuration.
    assert schema_errors(merge_dynamic([edge.dynamic, tree]), DYNAMIC_SCHEMA) == []


def test_schema_validation_rejects_a_misspelt_static_key() -> None:
    static = load_yaml(TRAEFIK_DIR / "traefik.yml")
    static["entryPoints"]["web"]["adress"] = static["entryPoints"]["web"].pop("address")
    assert schema_errors(static, STATIC_SCHEMA)


def test_schema_validation_rejects_a_router_without_a_service(edge: EdgeConfig) -> None:
    dynamic = copy.deepcopy(edge.dynamic)
    del next(iter(dynamic["http"]["routers"].values()))["service"]
    assert schema_errors(dynamic, DYNAMIC_SCHEMA)


def test_label_translation_follows_traefiks_rules() -> None:
    tree = labels_to_tree(
        {
            "traefik.enable": "true",
            "traefik.docker.network": "x_edge",
            "traefik.http.routers.r.rule": "Host(`a.example`)",
            "traefik.http.routers.r.entrypoints": "websecure,other",
            "traefik.http.routers.r.priority": "10",
            "traefik.http.routers.r.tls.domains[0].main": "a.example",
            "traefik.http.routers.r.tls.domains[0].sans": "b.example,c.example",
            "traefik.http.services.s.loadbalancer.server.port": "8000",
            "traefik.http.services.s.loadbalancer.passhostheader": "false",
            "traefik.http.middlewares.h.headers.stsseconds": "60",
            "traefik.http.middlewares.h.headers.customresponseheaders.X-Test": "1",
        }
    )
    assert tree == {
        "http": {
            "routers": {
                "r": {
                    "rule": "Host(`a.example`)",
                    "entryPoints": ["websecure", "other"],
                    "priority": 10,
                    "tls": {"domains": [{"main": "a.example", "sans": ["b.example", "c.example"]}]},
                }
            },
            "services": {
                "s": {
                    "loadBalancer": {
                        "servers": [{"url": f"http://{CONTAINER_ADDRESS}:8000"}],
                        "passHostHeader": False,
                    }
                }
            },
            "middlewares": {
                "h": {"headers": {"stsSeconds": 60, "customResponseHeaders": {"X-Test": "1"}}}
            },
        }
    }


@pytest.mark.parametrize(
    ("label", "value", "error"),
    [
        ("traefik.http.services.app.loadbalancer.healthcheck.pathh", "/x", "unknown field"),
        ("traefik.http.services.app.loadbalancer.server.address", "x", "server.port"),
        ("traefik.http.routers.r.priority", "high", "not an integer"),
        ("traefik.http.services.app.loadbalancer.passhostheader", "yes", "not a boolean"),
        ("traefik.http.routers.r.tls", "true", "object"),
        ("traefik.http.services.app.loadbalancer.server.port", "eighty", "not a port"),
    ],
)
def test_label_translation_rejects_what_traefik_would(label: str, value: str, error: str) -> None:
    with pytest.raises(LabelError, match=error):
        labels_to_tree({label: value})


# --- 2. meaning --------------------------------------------------------------------------------


def test_shipped_configuration_passes_every_check(edge: EdgeConfig) -> None:
    assert problems(edge) == []


def test_every_domain_gets_its_own_https_router_and_certificate(edge: EdgeConfig) -> None:
    routers = dig(edge.dynamic, "http", "routers")
    # Per domain: its router, and one per path with its own body limit (the CSV import).
    assert len(routers) == len(DOMAINS) * (1 + len(OWN_BODY_LIMIT_PATHS))
    for domain in DOMAINS:
        mine = [r for r in routers.values() if f"Host(`{domain}`)" in r["rule"]]
        assert len(mine) == 1 + len(OWN_BODY_LIMIT_PATHS)
        assert all(router["tls"] == {"certResolver": RESOLVER} for router in mine)


def test_health_check_is_faster_than_the_drain(edge: EdgeConfig) -> None:
    check = labels_to_tree(edge.labels)["http"]["services"][APP_SERVICE]["loadBalancer"]
    interval = seconds(check["healthCheck"]["interval"])
    timeout = seconds(check["healthCheck"]["timeout"])
    assert interval <= MAX_CHECK_INTERVAL_S
    assert Settings.model_fields["drain_delay_s"].default > interval + timeout


# --- 3. each check fails when its piece is removed ---------------------------------------------


def _without_labels(fragment: str) -> Callable[[EdgeConfig], None]:
    def mutate(edge: EdgeConfig) -> None:
        edge.labels = {k: v for k, v in edge.labels.items() if fragment not in k.lower()}

    return mutate


def _set_label(suffix: str, value: str) -> Callable[[EdgeConfig], None]:
    def mutate(edge: EdgeConfig) -> None:
        (key,) = (k for k in edge.labels if k.lower().endswith(suffix))
        edge.labels[key] = value

    return mutate


def _routers(edge: EdgeConfig) -> dict[str, Any]:
    routers: dict[str, Any] = edge.dynamic["http"]["routers"]
    return routers


def _edit_first_router(change: Callable[[dict[str, Any]], None]) -> Callable[[EdgeConfig], None]:
    def mutate(edge: EdgeConfig) -> None:
        change(next(iter(_routers(edge).values())))

    return mutate


def _drop_router_for(domain: str) -> Callable[[EdgeConfig], None]:
    def mutate(edge: EdgeConfig) -> None:
        routers = _routers(edge)
        for name in [n for n, r in routers.items() if f"Host(`{domain}`)" in r["rule"]]:
            del routers[name]

    return mutate


MUTATIONS: dict[str, tuple[Callable[[EdgeConfig], None], str]] = {
    "redirect removed": (
        lambda e: e.static["entryPoints"]["web"].pop("http"),
        "redirect every request to websecure",
    ),
    "redirect made temporary": (
        lambda e: e.static["entryPoints"]["web"]["http"]["redirections"]["entryPoint"].update(
            permanent=False
        ),
        "must be permanent",
    ),
    "resolver removed": (lambda e: e.static.pop("certificatesResolvers"), "resolver"),
    "HTTP-01 challenge removed": (
        lambda e: e.static["certificatesResolvers"][RESOLVER]["acme"].pop("httpChallenge"),
        "HTTP-01",
    ),
    "router removed": (_drop_router_for(DOMAINS[1]), f"no router for {DOMAINS[1]}"),
    "router without TLS": (_edit_first_router(lambda r: r.pop("tls")), "must use TLS"),
    "router with another resolver": (
        _edit_first_router(lambda r: r["tls"].update(certResolver="other")),
        "must use TLS",
    ),
    "router also on plain HTTP": (
        _edit_first_router(lambda r: r.update(entryPoints=["web", "websecure"])),
        "websecure only",
    ),
    "metrics routed": (
        _edit_first_router(lambda r: r.update(rule=r["rule"].split(" && ")[0])),
        "must not route /metrics",
    ),
    "security headers removed": (
        _edit_first_router(lambda r: r.pop("middlewares")),
        "security-headers",
    ),
    "health check removed": (_without_labels(".healthcheck."), "has no health check"),
    "health check on liveness": (_set_label("healthcheck.path", "/health/live"), READY_PATH),
    "health check slowed down": (_set_label("healthcheck.interval", "10s"), "at most 2 s"),
    "drain shorter than the check": (
        lambda e: e.app_environment.update(DRAIN_DELAY_S="1.5"),
        "DRAIN_DELAY_S",
    ),
    "app port removed": (_without_labels(".server.port"), f"port {APP_PORT}"),
    "app port changed": (_set_label("server.port", "9000"), f"port {APP_PORT}"),
    "docker health check disabled": (
        lambda e: setattr(e, "app_healthcheck", {"disable": True}),
        "Docker health check",
    ),
    "containers exposed by default": (
        lambda e: e.static["providers"]["docker"].update(exposedByDefault=True),
        "expose containers by default",
    ),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_check_fails_when_a_piece_is_removed(edge: EdgeConfig, mutation: str) -> None:
    mutate, expected = MUTATIONS[mutation]
    broken = copy.deepcopy(edge)
    mutate(broken)
    found = problems(broken)
    assert any(expected in problem for problem in found), f"{mutation}: {found}"


# --- the generator -----------------------------------------------------------------------------


def test_generator_writes_one_router_per_domain_deduplicated(tmp_path: Path) -> None:
    result = render(
        tmp_path, "--domains", "Signup.Example.org, volunteer.example.net signup.example.org."
    )
    assert result.returncode == 0, result.stderr
    routers = load_yaml(tmp_path / "dynamic" / "routers.yml")["http"]["routers"]
    rules = sorted(router["rule"] for router in routers.values() if "Path(`" not in router["rule"])
    assert rules == [
        "Host(`signup.example.org`) && !PathPrefix(`/metrics`)",
        "Host(`volunteer.example.net`) && !PathPrefix(`/metrics`)",
    ]
    assert len(routers) == 2 * (1 + len(OWN_BODY_LIMIT_PATHS))
    assert not list(tmp_path.rglob(".*")), "temporary files left behind"


def test_generator_replaces_routers_of_removed_domains(tmp_path: Path) -> None:
    assert render(tmp_path, "--domains", "a.example.org,b.example.org").returncode == 0
    assert render(tmp_path, "--domains", "b.example.org").returncode == 0
    routers = load_yaml(tmp_path / "dynamic" / "routers.yml")["http"]["routers"]
    assert {r["rule"].split(" && ")[0] for r in routers.values()} == {"Host(`b.example.org`)"}


def test_generator_writes_the_deployments_acme_settings(tmp_path: Path) -> None:
    result = render(
        tmp_path,
        "--domains",
        "a.example.org",
        "--acme-email",
        "ops@example.org",
        "--acme-ca-server",
        "https://acme-staging-v02.api.letsencrypt.org/directory",
        "--project",
        "sf-staging",
    )
    assert result.returncode == 0, result.stderr
    static = load_yaml(tmp_path / "traefik.yml")
    acme = static["certificatesResolvers"][RESOLVER]["acme"]
    assert acme["email"] == "ops@example.org"
    assert acme["caServer"] == "https://acme-staging-v02.api.letsencrypt.org/directory"
    docker = static["providers"]["docker"]
    assert docker["network"] == "sf-staging_edge"
    assert docker["constraints"] == "Label(`com.docker.compose.project`, `sf-staging`)"
    assert schema_errors(static, STATIC_SCHEMA) == []


def test_generator_defaults_to_lets_encrypt_production(rendered: Path) -> None:
    acme = load_yaml(rendered / "traefik.yml")["certificatesResolvers"][RESOLVER]["acme"]
    assert acme["caServer"] == "https://acme-v02.api.letsencrypt.org/directory"


@pytest.mark.parametrize(
    "arguments",
    [
        ["--domains", ""],
        ["--domains", "*.example.org"],
        ["--domains", "https://a.example.org"],
        ["--domains", "a.example.org:8443"],
        ["--domains", "localhost"],
        ["--domains", "a.example.org", "--acme-ca-server", "http://insecure.example/dir"],
        ["--domains", "a.example.org", "--acme-email", "not-an-address"],
        ["--domains", "a.example.org", "--project", "Bad Name"],
    ],
)
def test_generator_refuses_bad_input(tmp_path: Path, arguments: list[str]) -> None:
    result = render(tmp_path / "out", *arguments)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert not (tmp_path / "out").exists()
