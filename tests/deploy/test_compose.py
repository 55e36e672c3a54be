"""The Compose files: Compose itself accepts them (alone and with the edge overlays), they
validate against the Compose specification, every service rotates its logs and restarts,
no secret value is written in them, and the production stack (without the edge, for which
no image exists here) really starts: secrets, migration, two ready replicas, crash restart.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.compose import (
    COMPOSE_DIR,
    DEV,
    ENV_EXAMPLE,
    LOKI,
    PEBBLE,
    PROD,
    TRAEFIK,
    TRAEFIK_RENDER,
    compose_stack,
    create_secrets,
    free_edge_subnet,
    resolved_config,
)
from harness.docker import docker_cmd
from harness.repository import REPO
from signupflow.settings import Settings
from tests.deploy.containers import AppImage, report
from tests.support.services import require_service

EDGE_DIR = REPO / "deploy" / "edge"
DOMAINS = "signup.example.org,volunteer.example.net"
PROD_ENV = {
    "APP_IMAGE": "signupflow:under-test",
    "DOMAINS": DOMAINS,
    "PUBLIC_URL": "https://signup.example.org",
    "WORKER_IMAGE": "signupflow-worker:under-test",
    "SMTP_HOST": "smtp.example.org",
    "EDGE_SUBNET": "172.31.200.0/24",
}
PGBACKREST = COMPOSE_DIR / "compose.pgbackrest.yml"
BACKUP = {"COMPOSE_PROFILES": "backup"}
COMBINATIONS = {
    "dev": (DEV,),
    "prod": (PROD,),
    "prod+pgbackrest": (PROD, PGBACKREST),
    "prod+traefik": (PROD, TRAEFIK),
    "prod+pebble": (PROD, PEBBLE),
    "prod+loki": (PROD, LOKI),
}
LOG_OPTIONS = {"max-size", "max-file"}
ONE_SHOT = {"migrate"}
# The Pebble overlay's test CA: a restarted Pebble has a new root, so restarting it would not
# repair a test anyway. Its logs still rotate.
TEST_ONLY = {"pebble", "challtestsrv"}
REPLICA_READY_TIMEOUT_S = 180
ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (what the edge and the app must bind)
SERVE = ["serve", "--host", ALL_INTERFACES, "--port", "8000"]
CRASH_RECOVERY_S = 30


def files_of(name: str) -> tuple[Path, ...]:
    files = COMBINATIONS[name]
    missing = [path.name for path in files if not path.exists()]
    if missing:
        require_service(f"{', '.join(missing)} not written yet (owned by the Caddy/deploy work)")
    return files


def config_of(name: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    files = files_of(name)
    env_file = ENV_EXAMPLE if PROD in files else None
    return resolved_config(files, env={**PROD_ENV, **(env or {})}, env_file=env_file)


def profiled_services(files: tuple[Path, ...]) -> dict[str, list[str]]:
    """Each service of these files that is in a Compose profile, with its profiles: Compose
    leaves such a service out of the configuration until one of them is on."""
    found: dict[str, list[str]] = {}
    for path in files:
        document = yaml.load(path.read_text(), Loader=ComposeLoader)  # noqa: S506
        for name, service in ((document or {}).get("services") or {}).items():
            found[name] = [*found.get(name, []), *((service or {}).get("profiles") or [])]
    return {name: profiles for name, profiles in found.items() if profiles}


def config_with_every_profile(files: tuple[Path, ...]) -> dict[str, Any]:
    """The configuration with every profile the files name on (read from the files, so a
    new profile is checked the day it is written), and so with every profiled service."""
    profiled = profiled_services(files)
    every = ",".join(sorted({p for profiles in profiled.values() for p in profiles}))
    env_file = ENV_EXAMPLE if PROD in files else None
    config = resolved_config(files, env={**PROD_ENV, "COMPOSE_PROFILES": every}, env_file=env_file)
    left_out = set(profiled) - set(config["services"])
    assert not left_out, f"profiled services left out: {sorted(left_out)}"
    return config


# --- Compose accepts them ----------------------------------------------------------------------


@pytest.mark.parametrize("combination", list(COMBINATIONS))
def test_compose_accepts_the_files(combination: str) -> None:
    config = config_of(combination)
    assert config["services"], f"{combination}: no services"
    # Warnings such as "variable is not set, defaulting to a blank string" are mistakes too.
    assert not config["x-stderr"].strip(), config["x-stderr"]


class ComposeLoader(yaml.SafeLoader):
    """YAML with Compose's merge tags: `!reset` and `!override` only steer how Compose merges
    files, so the value under the tag is what the specification has to accept."""


def _merge_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


for _tag in ("!reset", "!override"):
    ComposeLoader.add_constructor(_tag, _merge_tag)


@pytest.mark.parametrize("path", [PROD, DEV, TRAEFIK, PEBBLE, PGBACKREST], ids=lambda p: p.name)
def test_compose_file_matches_the_compose_specification(path: Path, tmp_path: Path) -> None:
    if not path.exists():
        require_service(f"{path.name} not written yet (owned by the Caddy/deploy work)")
    checker = Path(sys.executable).parent / "check-jsonschema"
    if not checker.exists():
        require_service("check-jsonschema is not installed (pip install check-jsonschema)")
    document = tmp_path / f"{path.stem}.json"
    document.write_text(json.dumps(yaml.load(path.read_text(), Loader=ComposeLoader)))  # noqa: S506
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(document)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{path.name}: {result.stdout}{result.stderr}"


def test_production_file_requires_image_domains_and_public_url() -> None:
    for missing in ("APP_IMAGE", "DOMAINS", "PUBLIC_URL", "WORKER_IMAGE", "SMTP_HOST"):
        env = {k: v for k, v in PROD_ENV.items() if k != missing}
        with pytest.raises(AssertionError, match=f"required variable {missing} is missing"):
            resolved_config((PROD,), env={**env, missing: ""})


# --- the example settings name every variable without a default --------------------------------

# `${NAME}`, `${NAME?err}`, `${NAME:?err}`, `${NAME-default}`, `${NAME:-default}`, ...; `$${` is
# a literal dollar sign.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?")
EXAMPLE_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=", re.M)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in [*value, *value.values()] for text in strings_in(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


def variables_without_default(text: str) -> set[str]:
    """Variables a Compose file interpolates with no default (plain or required): each must
    be set, or Compose substitutes nothing (or refuses). Comments do not count."""
    document = yaml.load(text, Loader=ComposeLoader)  # noqa: S506  (safe loader + two tags)
    return {
        match.group(1)
        for string in strings_in(document)
        for match in INTERPOLATION.finditer(string)
        if match.group(2) in (None, "?", ":?")
    }


def test_example_settings_name_every_variable_the_compose_files_need() -> None:
    named = set(EXAMPLE_ASSIGNMENT.findall(ENV_EXAMPLE.read_text()))
    needed = {
        path.name: variables_without_default(path.read_text())
        for path in sorted(COMPOSE_DIR.glob("compose*.yml"))
    }
    assert needed["compose.prod.yml"] >= {"APP_IMAGE", "DOMAINS", "PUBLIC_URL", "SMTP_HOST"}
    missing = {name: sorted(found - named) for name, found in needed.items() if found - named}
    assert not missing, f"not in .env.example: {missing}"


def test_variable_check_sees_what_has_no_default() -> None:
    text = """
services:
  app:
    image: ${APP_IMAGE}
    command: ["${REQUIRED:?set it}", "${OPTIONAL:-x}", "${EMPTY_OK-}", "$${LITERAL}"]
    environment:
      ALSO: ${ALSO?}
      # NOT_READ: ${IN_A_COMMENT}
"""
    assert variables_without_default(text) == {"APP_IMAGE", "REQUIRED", "ALSO"}
    assert "NOT_IN_EXAMPLE" not in EXAMPLE_ASSIGNMENT.findall(ENV_EXAMPLE.read_text())


# --- every service: logs rotate, containers restart -------------------------------------------


def services_without_log_rotation(config: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in config["services"].items():
        logging = service.get("logging") or {}
        missing = LOG_OPTIONS - set(logging.get("options") or {})
        if logging.get("driver") != "json-file":
            problems.append(f"{name} has no json-file log driver")
        elif missing:
            problems.append(f"{name} logs without {sorted(missing)}")
    return problems


@pytest.mark.parametrize("combination", list(COMBINATIONS))
def test_every_service_rotates_its_logs(combination: str) -> None:
    # Every profile too: the backup service and the drill run for months in theirs.
    config = config_with_every_profile(files_of(combination))
    if PROD in COMBINATIONS[combination]:
        assert {"backup", "backup-drill"} <= set(profiled_services(files_of(combination)))
    assert services_without_log_rotation(config) == [], combination


def test_a_service_in_a_profile_of_its_own_is_checked_for_rotation(tmp_path: Path) -> None:
    overlay = tmp_path / "compose.audit.yml"
    overlay.write_text(
        "services:\n  audit:\n    image: busybox:1\n    profiles: [audit]\n"
        "    logging:\n      driver: json-file\n"
    )
    config = config_with_every_profile((PROD, overlay))
    assert services_without_log_rotation(config) == ["audit logs without ['max-file', 'max-size']"]


@pytest.mark.parametrize("combination", list(COMBINATIONS))
def test_every_long_running_service_restarts(combination: str) -> None:
    for name, service in config_with_every_profile(files_of(combination))["services"].items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", f"{name} must run once"
        elif name not in TEST_ONLY:
            assert service.get("restart") in {"unless-stopped", "always"}, (
                f"{combination}: {name} is not restarted after a crash"
            )


@pytest.mark.parametrize("combination", list(COMBINATIONS))
def test_every_service_has_a_memory_limit(combination: str) -> None:
    # Every profile too (the backup service and the drill are in one): none may grow until the
    # host swaps.
    config = config_with_every_profile(files_of(combination))
    for name, service in config["services"].items():
        limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        limit = limits.get("memory") or service.get("mem_limit")
        assert limit, f"{combination}: {name} has no memory limit"
        assert 64 * 2**20 <= int(limit) <= 4 * 2**30, f"{combination}: {name}: {limit} bytes"


# --- no secret values --------------------------------------------------------------------------

SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api_?key|private_?key|dsn)")
CREDENTIALS_IN_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@${}]*:[^@\s/${}]+@")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
LONG_RANDOM = re.compile(
    r"(?<![\w/.-])(?=[A-Za-z0-9+/_=-]*\d)(?=[A-Za-z0-9+/_=-]*[A-Za-z])[A-Za-z0-9+/_=-]{32,}"
)
# An environment variable's name (BACKUP_S3_SECRET_ACCESS_KEY_FILE) is long but not random.
ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
ENV_FILE_NAME = re.compile(r"^\s*[A-Z][A-Z0-9_]*=")
ASSIGNMENT = re.compile(r"^\s*-?\s*([A-Za-z_][\w.-]*)\s*[:=]\s*(.*?)\s*$")


def names_or_paths(token: str) -> bool:
    """A long token that is only names: a variable (PGBACKREST_S3_BUCKET), a variable with a
    short value (PGBACKREST_S3_BUCKET=signupflow-pitr), or a path whose every part is short
    (/run/secrets/pgbackrest_s3_key_secret)."""
    if ENV_NAME.fullmatch(token):
        return True
    name, equals, value = token.partition("=")
    if equals:
        return bool(ENV_NAME.fullmatch(name)) and not LONG_RANDOM.search(value)
    if token.startswith("/"):
        return not any(LONG_RANDOM.fullmatch(part) for part in token.split("/"))
    return False


def secret_looking_lines(text: str) -> list[str]:
    """Lines that hold what looks like a secret value rather than a reference to one: a
    credential in a URL, a private key, a long random token, or a literal value for a
    password/secret/token-like name (`${VAR}` and `*_FILE` paths are references)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        problem = None
        if CREDENTIALS_IN_URL.search(line):
            problem = "credentials in a URL"
        elif PRIVATE_KEY.search(line):
            problem = "a private key"
        elif any(
            not names_or_paths(m.group())
            # An env file's `NAME=value`: the value alone (an image reference with a long
            # variable name in front is not one random token).
            for m in LONG_RANDOM.finditer(ENV_FILE_NAME.sub("", line))
        ):
            problem = "a long random-looking value"
        elif match := ASSIGNMENT.match(line):
            name, value = match.groups()
            value = value.strip("\"'")
            is_reference = (
                not value
                or value.startswith(
                    ("${", "*", "&", "./", "/")
                )  # variable, YAML alias/anchor, path
                or name.upper().endswith(("_FILE", "_DIR"))
            )
            if SECRET_NAME.search(name) and not is_reference:
                problem = f"a literal value for {name}"
        if problem:
            found.append(f"line {number}: {problem}: {line.strip()}")
    return found


def scanned_files() -> list[Path]:
    # What the repository ships; a deployment's own .env, secrets/ and traefik/ are not ours.
    files = [*COMPOSE_DIR.glob("compose*.yml"), ENV_EXAMPLE, COMPOSE_DIR / "README.md"]
    files += [path for path in EDGE_DIR.rglob("*") if path.is_file() and path.suffix != ".py"]
    return sorted(path for path in files if "__pycache__" not in path.parts)


def test_no_secret_values_in_the_compose_and_edge_files() -> None:
    problems = {
        str(path.relative_to(REPO)): found
        for path in scanned_files()
        if (found := secret_looking_lines(path.read_text()))
    }
    assert not problems


@pytest.mark.parametrize(
    "planted",
    [
        "      POSTGRES_PASSWORD: hunter2-is-not-a-password",
        "      DATABASE_URL: postgresql+psycopg://signupflow:s3cr3t@postgres/signupflow",
        "SECRET_KEY=0123456789abcdef0123456789abcdef",
        "      METRICS_TOKEN: 'letmein'",
        "      token: Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo",
        "-----BEGIN EC PRIVATE KEY-----",
        "PGBACKREST_REPO1_CIPHER_PASS=Q2lwaGVyUGFzc3BocmFzZTEyMzQ1Njc4OTBhYmNkZWZnaGlqa2xt",
        "      CA: /run/secrets/3f9a1c0e5b7d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c",
    ],
)
def test_secret_scan_finds_a_planted_secret(planted: str) -> None:
    text = PROD.read_text() + "\n" + planted + "\n"
    assert secret_looking_lines(text), f"not flagged: {planted}"


@pytest.mark.parametrize("combination", list(COMBINATIONS))
def test_no_secret_reaches_a_container_environment(combination: str) -> None:
    for name, service in config_of(combination)["services"].items():
        for key, value in (service.get("environment") or {}).items():
            value = value or ""
            assert not CREDENTIALS_IN_URL.search(value), f"{name}: {key} carries credentials"
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                # A password-like variable may only say how to authenticate, not with what.
                assert key == "POSTGRES_HOST_AUTH_METHOD" or not value, f"{name}: {key}={value}"


# --- the production contract -------------------------------------------------------------------


def test_production_images_default_to_the_real_ones_and_can_be_replaced() -> None:
    defaults = {name: s["image"] for name, s in config_of("prod")["services"].items()}
    assert defaults["edge"].startswith("caddy:2")
    assert defaults["postgres"] == "postgres:15-bookworm"
    assert defaults["redis"] == "redis:7-bookworm"
    assert defaults["app"] == defaults["migrate"] == PROD_ENV["APP_IMAGE"]
    replaced = config_of(
        "prod",
        {
            "CADDY_IMAGE": "local/caddy:test",
            "POSTGRES_IMAGE": "signupflow-base/postgres:15",
            "REDIS_IMAGE": "signupflow-base/redis:7",
        },
    )["services"]
    assert replaced["edge"]["image"] == "local/caddy:test"
    traefik = config_of("prod+traefik")["services"]["edge"]["image"]
    assert traefik.startswith("traefik:v3")
    assert (
        config_of("prod+traefik", {"TRAEFIK_IMAGE": "local/traefik:test"})["services"]["edge"][
            "image"
        ]
        == "local/traefik:test"
    )
    assert replaced["postgres"]["image"] == "signupflow-base/postgres:15"
    assert replaced["redis"]["image"] == "signupflow-base/redis:7"
    monitoring = {
        "prometheus": ("PROMETHEUS_IMAGE", "prom/prometheus:v2.42.0"),
        "alertmanager": ("ALERTMANAGER_IMAGE", "prom/alertmanager:v0.25.0"),
        "node-exporter": ("NODE_EXPORTER_IMAGE", "prom/node-exporter:v1.5.0"),
        "postgres-exporter": (
            "POSTGRES_EXPORTER_IMAGE",
            "prometheuscommunity/postgres-exporter:v0.11.1",
        ),
        "redis-exporter": ("REDIS_EXPORTER_IMAGE", "oliver006/redis_exporter:v1.45.0-alpine"),
        "blackbox-exporter": ("BLACKBOX_EXPORTER_IMAGE", "prom/blackbox-exporter:v0.23.0"),
    }
    local = config_of("prod", {v: f"local/{n}:test" for n, (v, _) in monitoring.items()})
    for name, (_, image) in monitoring.items():
        assert defaults[name] == image
        assert local["services"][name]["image"] == f"local/{name}:test"


def test_production_app_runs_two_draining_replicas_behind_the_migration() -> None:
    config = config_of("prod", {"APP_RELEASE": "abc123"})
    app = config["services"]["app"]
    assert app["deploy"]["replicas"] == 2
    # Either said here or left to the image's CMD (the runtime test checks what runs).
    assert app.get("command") in (None, SERVE)
    assert app["stop_grace_period"] == "30s"
    assert app["restart"] == "unless-stopped"
    env = app["environment"]
    assert env["APP_ENV"] == "production"
    assert env["RELEASE"] == "abc123"
    assert env["ALLOWED_HOSTS"] == DOMAINS
    assert env["TRUSTED_PROXIES"] == PROD_ENV["EDGE_SUBNET"]
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN"):
        assert name not in env
        assert env[f"{name}_FILE"] == f"/run/secrets/{name.lower()}"
    depends = {name: spec["condition"] for name, spec in app["depends_on"].items()}
    assert depends["migrate"] == "service_completed_successfully"
    assert depends["redis"] == "service_healthy"
    migrate = config["services"]["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["image"] == app["image"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "deploy" not in migrate or migrate["deploy"].get("replicas", 1) == 1


def test_production_networks_keep_the_data_services_internal() -> None:
    config = config_of("prod", BACKUP)
    networks = config["networks"]
    assert networks["backend"].get("internal") is True
    assert networks["edge"]["ipam"]["config"] == [{"subnet": PROD_ENV["EDGE_SUBNET"]}]
    attached = {name: set(s.get("networks") or {}) for name, s in config["services"].items()}
    assert attached == {
        "edge": {"edge", "monitoring"},
        # The deploy tool connects each replica to `edge`, under its colour alias, once it is
        # ready (deploy/edge/caddy/Caddyfile); with Traefik they join it from the start.
        "app": {"backend", "monitoring"},
        "migrate": {"backend"},
        "postgres": {"backend"},
        "redis": {"backend"},
        "backup": {"backend", "backup-egress", "monitoring"},
        "worker": {"backend", "worker-egress", "monitoring"},
        # The monitoring stack: only the exporters of PostgreSQL and Redis reach the backend,
        # only Alertmanager has a way out (to its webhook).
        "prometheus": {"monitoring"},
        "alertmanager": {"monitoring", "alert-egress"},
        "node-exporter": {"monitoring"},
        "postgres-exporter": {"backend", "monitoring"},
        "redis-exporter": {"backend", "monitoring"},
        "blackbox-exporter": {"monitoring"},
        # The log store reads files and writes files: no network at all.
        "logstore": set(),
    }
    assert config["services"]["logstore"]["network_mode"] == "none"
    assert networks["monitoring"].get("internal") is True
    # The backup service's way out to S3 and the webhook, the worker's to the SMTP relay,
    # Alertmanager's to its webhook; nothing else may use them.
    assert not networks["backup-egress"].get("internal")
    assert not networks["worker-egress"].get("internal")
    assert not networks["alert-egress"].get("internal")
    published = {name for name, s in config["services"].items() if s.get("ports")}
    assert published == {"edge"}
    traefik = config_of("prod+traefik", BACKUP)["services"]["app"]
    assert set(traefik["networks"]) == {"edge", "backend", "monitoring"}


def test_production_edge_publishes_http_and_https_where_told() -> None:
    edge = config_of("prod", {"EDGE_BIND": "127.0.0.1", "HTTP_PORT": "8080", "HTTPS_PORT": "8443"})
    ports = {(p["host_ip"], p["published"], p["target"]) for p in edge["services"]["edge"]["ports"]}
    assert ports == {("127.0.0.1", "8080", 80), ("127.0.0.1", "8443", 443)}
    default = config_of("prod")["services"]["edge"]["ports"]
    assert {(p["host_ip"], p["published"]) for p in default} == {
        (ALL_INTERFACES, "80"),
        (ALL_INTERFACES, "443"),
    }


def test_production_secrets_are_files_in_the_secrets_directory(tmp_path: Path) -> None:
    config = config_of("prod", {"SECRETS_DIR": str(tmp_path)})
    sources = {name: Path(spec["file"]) for name, spec in config["secrets"].items()}
    assert sources
    assert all(path.parent == tmp_path for path in sources.values()), sources
    assert config["services"]["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == (
        "/run/secrets/postgres_password"
    )
    # Redis gets its password from the ACL file, never from its command line.
    redis = config["services"]["redis"]
    assert "--aclfile" in redis["command"]
    assert not any("pass" in part.lower() for part in redis["command"])


def test_development_stack_listens_on_loopback_only() -> None:
    config = config_of("dev")
    for name, service in config["services"].items():
        for port in service.get("ports") or []:
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port}"
    app = config["services"]["app"]
    assert Path(app["build"]["context"]) == REPO
    assert app["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert "--reload" in app["command"]
    assert app["environment"]["APP_ENV"] == "development"
    mounts = {m["target"]: Path(m["source"]) for m in app.get("volumes") or []}
    assert mounts.get("/app/src") == REPO / "src"


# --- the production stack, running (everything but the edge) -----------------------------------


def created_secrets(directory: Path) -> dict[str, str]:
    create_secrets(directory)
    return {path.name: path.read_text().strip() for path in directory.iterdir()}


def edge_address(stack_inspect: dict[str, Any], network: str) -> str:
    networks = stack_inspect["NetworkSettings"]["Networks"]
    return str(networks[network]["IPAddress"])


def wait_ready(base: str, *, deadline: float) -> dict[str, Any]:
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/health/ready", timeout=2)
            if response.status_code == 200:
                return dict(response.json())
            last = response.text
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{base}/health/ready never answered 200: {last}")


def test_production_stack_serves_two_ready_replicas_and_restarts_a_crashed_one(
    app_image: AppImage, base_images: dict[str, str], tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        require_service("the secrets must belong to the containers' users: run as root")
    secrets = created_secrets(tmp_path / "secrets")
    subnet = free_edge_subnet()
    env = {
        **PROD_ENV,
        "APP_IMAGE": app_image.tag,
        "POSTGRES_IMAGE": base_images["postgres"],
        "REDIS_IMAGE": base_images["redis"],
        "SECRETS_DIR": str(tmp_path / "secrets"),
        "TRAEFIK_CONFIG_DIR": str(tmp_path / "traefik"),
        "EDGE_SUBNET": subnet,
        "APP_RELEASE": "compose-test",
    }
    probe_network = f"sf-prod-probe-{os.getpid()}"
    docker_cmd("network", "create", probe_network)
    try:
        recovered_after, ready_after = _serve_and_crash(env, probe_network, secrets)
    finally:
        docker_cmd("network", "rm", probe_network, check=False)
    report(
        f"prod stack (no edge): replicas ready in {ready_after:.1f} s, "
        f"crashed replica healthy again in {recovered_after:.1f} s"
    )


def _serve_and_crash(
    env: dict[str, str], probe_network: str, secrets: dict[str, str]
) -> tuple[float, float]:
    with compose_stack((PROD,), prefix="sf-prod", env=env, env_file=ENV_EXAMPLE) as stack:
        started = time.monotonic()
        wait = ("--wait", "--wait-timeout", str(REPLICA_READY_TIMEOUT_S))
        up = stack.compose(
            "up", "--detach", *wait, "app", timeout=REPLICA_READY_TIMEOUT_S + 60, check=False
        )
        assert up.returncode == 0, f"{up.stderr[-3000:]}\n{stack.logs()}"

        migrate = stack.container_ids("migrate")
        assert len(migrate) == 1
        assert stack.inspect(migrate[0])["State"]["ExitCode"] == 0
        replicas = stack.container_ids("app")
        assert len(replicas) == 2
        assert [stack.inspect(c)["Config"]["Cmd"] for c in replicas] == [SERVE, SERVE]
        deadline = time.monotonic() + REPLICA_READY_TIMEOUT_S
        for container in replicas:
            # On the internal backend network only (the deploy tool connects a ready replica to
            # the edge network): reach it through a network of the test's own.
            docker_cmd("network", "connect", probe_network, container)
            base = f"http://{edge_address(stack.inspect(container), probe_network)}:8000"
            wait_ready(base, deadline=deadline)
            health = httpx.get(f"{base}/health", headers={"Host": "signup.example.org"}, timeout=5)
            assert health.status_code == 200
            body = health.json()
            assert body["release"] == "compose-test"
            assert body["components"]["database"]["status"] == "healthy"
            assert body["components"]["redis"]["status"] == "healthy"
            assert body["components"]["redis"]["backend"] == "redis"
            refused = httpx.get(f"{base}/", headers={"Host": "evil.example"}, timeout=5)
            assert refused.status_code == 400
        ready_after = time.monotonic() - started

        # No secret value in any container's environment, command or labels.
        for service in ("app", "migrate", "postgres", "redis"):
            for container in stack.container_ids(service):
                config = str(stack.inspect(container)["Config"])
                for name, value in secrets.items():
                    for line in value.splitlines():
                        assert line not in config, f"{name} visible in {service}'s config"

        # A crash (SIGKILL to the server, not `docker stop`) is repaired by the restart policy.
        victim = replicas[0]
        before = stack.inspect(victim)
        os.kill(int(before["State"]["Pid"]), signal.SIGKILL)
        crashed = time.monotonic()
        while True:
            state = stack.inspect(victim)
            back = (
                state["RestartCount"] > before["RestartCount"]
                and state["State"]["Running"]
                and state["State"].get("Health", {}).get("Status") == "healthy"
            )
            if back:
                break
            assert time.monotonic() - crashed < CRASH_RECOVERY_S, (
                f"not back within {CRASH_RECOVERY_S} s: {state['State']}"
            )
            time.sleep(0.5)
        recovered_after = time.monotonic() - crashed
    return recovered_after, ready_after


def test_rendered_edge_configuration_is_what_the_edge_mounts(tmp_path: Path) -> None:
    out = tmp_path / "traefik"
    subprocess.run(
        [sys.executable, str(TRAEFIK_RENDER), "--out", str(out), "--domains", DOMAINS],
        check=True,
        capture_output=True,
        timeout=60,
    )
    edge = config_of("prod+traefik", {"TRAEFIK_CONFIG_DIR": str(out)})["services"]["edge"]
    mount = next(v for v in edge["volumes"] if v["target"] == "/etc/traefik")
    assert Path(mount["source"]) == out
    assert mount["read_only"] is True
    assert (Path(mount["source"]) / "traefik.yml").is_file()
    assert (Path(mount["source"]) / "dynamic" / "routers.yml").is_file()


def test_secrets_directory_default_is_beside_the_compose_file() -> None:
    secrets = config_of("prod")["secrets"]
    assert {Path(spec["file"]).parent for spec in secrets.values()} == {COMPOSE_DIR / "secrets"}


# --- what is kept 30 days, and where (docs/logs.md, docs/monitoring.md) -----------------------

# Where each keeps its data inside the container, and the named volume that must hold it: a
# path left in the container's layer (or a tmpfs) is gone with the next `up` that recreates it.
KEPT_ON_VOLUMES = {
    "logstore": ("/var/log/signupflow", "logs"),
    "prometheus": ("/prometheus", "prometheus-data"),
    "alertmanager": ("/alertmanager", "alertmanager-data"),
}
STORAGE_FLAGS = {"prometheus": "--storage.tsdb.path", "alertmanager": "--storage.path"}


@pytest.mark.parametrize("settings", ["the files' defaults", ".env.example"])
def test_logs_and_metrics_are_kept_30_days_on_named_volumes(settings: str) -> None:
    env_file = ENV_EXAMPLE if settings == ".env.example" else None
    config = resolved_config((PROD,), env=PROD_ENV, env_file=env_file)
    services = config["services"]
    # docs/logs.md: today and the 30 days before it; docs/monitoring.md: 30 days of metrics
    # (or PROMETHEUS_RETENTION_SIZE first), enough to compare this month with the last.
    assert services["logstore"]["environment"]["LOG_RETENTION_DAYS"] == "30"
    assert "--storage.tsdb.retention.time=30d" in services["prometheus"]["command"]
    for name, (path, volume) in KEPT_ON_VOLUMES.items():
        mounts = {m["target"]: m for m in services[name]["volumes"]}
        assert mounts.get(path, {}).get("type") == "volume", f"{name}: {path} is not a volume"
        assert mounts[path]["source"] == volume, f"{name}: {path} on {mounts[path]['source']}"
        options = config["volumes"][volume].get("driver_opts") or {}
        assert options.get("type") != "tmpfs", f"{volume} is in memory"
        if name in STORAGE_FLAGS:
            assert f"{STORAGE_FLAGS[name]}={path}" in services[name]["command"], name
    # The Loki option keeps the same 30 days (its compactor deletes older chunks).
    loki = yaml.safe_load((REPO / "deploy" / "loki" / "loki.yml").read_text())
    assert loki["limits_config"]["retention_period"] == "720h"


# --- the backup service ------------------------------------------------------------------------


def test_backup_service_runs_the_schedule_with_secrets_as_files() -> None:
    from signupflow.backup.schedule import ScheduleSettings
    from signupflow.backup.settings import BackupSettings

    config = config_of("prod", {**BACKUP, "BACKUP_AGE_RECIPIENT": "age1publickey"})
    backup = config["services"]["backup"]
    app = config["services"]["app"]
    # The app image plus pg_dump, built FROM it (tests/deploy/test_backup_image.py runs it).
    assert backup["image"] == "signupflow-backup:0.1.0"
    assert config_of("prod", {**BACKUP, "BACKUP_IMAGE": "local/b:1"})["services"]["backup"][
        "image"
    ] == ("local/b:1")
    assert app["image"] == PROD_ENV["APP_IMAGE"]
    assert backup["command"] == ["backup", "schedule"]
    assert backup["restart"] == "unless-stopped"
    assert backup["read_only"] is True
    assert not backup.get("ports"), "metrics stay on the internal network"
    assert backup["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "9108/metrics" in " ".join(backup["healthcheck"]["test"])
    env = backup["environment"]
    assert env["APP_ENV"] == "production"
    assert env["BACKUP_AGE_RECIPIENT"] == "age1publickey"
    assert env["BACKUP_SCHEDULE_AT"] == "02:30"
    # Every secret arrives as a file; the value is never in the environment.
    for name in (
        "DATABASE_URL",
        "BACKUP_AGE_IDENTITY",
        "BACKUP_S3_ACCESS_KEY_ID",
        "BACKUP_S3_SECRET_ACCESS_KEY",
        "BACKUP_ALERT_WEBHOOK_URL",
    ):
        assert name not in env
    secrets = {s["source"] if isinstance(s, dict) else s for s in backup["secrets"]}
    # The server holds only the public key: no private key, in any form, reaches it.
    assert "backup_age_identity" not in secrets
    assert not any("IDENTITY" in variable for variable in env)
    assert "identity" not in " ".join(backup["command"])
    # Settings that are themselves paths (SMTP_CA_FILE, a CA certificate) are not secrets.
    paths = {name.upper() for name in Settings.model_fields if name.endswith("_file")}
    for variable, value in env.items():
        if variable.endswith("_FILE") and variable not in paths:
            assert value.startswith("/run/secrets/"), variable
            assert value.removeprefix("/run/secrets/") in secrets, variable
    # No misspelt setting: each BACKUP_* variable is one the service reads.
    known = {
        name.upper() for name in (*BackupSettings.model_fields, *ScheduleSettings.model_fields)
    }
    for variable in env:
        if variable.startswith("BACKUP_"):
            assert variable in known or variable.removesuffix("_FILE") in known, (
                f"{variable} is read by nobody"
            )
    volumes = {(v["source"], v["target"]) for v in backup["volumes"]}
    assert ("backups", "/app/var") in volumes
    assert env["BACKUP_DIR"].startswith("/app/var/")


def test_the_restore_drill_gets_the_private_key_as_a_file_in_its_own_profile() -> None:
    from signupflow.backup.schedule import ScheduleSettings
    from signupflow.backup.settings import BackupSettings

    assert "backup-drill" not in config_of("prod", BACKUP)["services"]
    config = config_of("prod", {"COMPOSE_PROFILES": "drill", "BACKUP_DRILL_AT": "05:15"})
    drill = config["services"]["backup-drill"]
    assert drill["profiles"] == ["drill"]
    assert drill["image"] == "signupflow-backup:0.1.0"
    assert drill["command"] == [
        "backup",
        "drill",
        "--identity-file",
        "/run/secrets/backup_age_identity",
    ]
    secrets = {s["source"] if isinstance(s, dict) else s for s in drill["secrets"]}
    assert "backup_age_identity" in secrets
    env = drill["environment"]
    assert env["BACKUP_SCHEDULE_AT"] == "05:15"
    assert not any("IDENTITY" in variable for variable in env)
    assert "BACKUP_AGE_RECIPIENT" not in env
    known = {
        name.upper() for name in (*BackupSettings.model_fields, *ScheduleSettings.model_fields)
    }
    for variable in env:
        if variable.startswith("BACKUP_"):
            assert variable in known or variable.removesuffix("_FILE") in known, variable
    assert drill["read_only"] is True
    assert drill["restart"] == "unless-stopped"
    assert not drill.get("ports")
    assert {(v["source"], v["target"]) for v in drill["volumes"]} == {("backup-drill", "/app/var")}
    assert set(drill["networks"]) == {"backend", "backup-egress"}


def test_backup_service_is_in_the_backup_profile_which_the_example_settings_leave_off() -> None:
    # Its secrets are not made by create_secrets.py (deploy/README.md, step 3): a stack set up
    # from the example settings must start without them.
    with_example = config_of("prod")
    assert "backup" not in with_example["services"]
    assert "# COMPOSE_PROFILES=backup" in ENV_EXAMPLE.read_text()
    files = files_of("prod")
    # Without the profile (a stack whose backup secrets do not exist yet) it is not started.
    bare = resolved_config(files, env=PROD_ENV)
    assert "backup" not in bare["services"]
    assert (
        "backup"
        in resolved_config(files, env={**PROD_ENV, "COMPOSE_PROFILES": "backup"})["services"]
    )


# --- the pgBackRest overlay --------------------------------------------------------------------


def test_pgbackrest_overlay_archives_from_postgres_and_backs_up_from_a_sidecar() -> None:
    services = config_of("prod+pgbackrest")["services"]
    postgres, sidecar = services["postgres"], services["pgbackrest"]
    assert postgres["image"] == sidecar["image"] == "signupflow-postgres:15"
    assert sidecar["command"] == ["pgbackrest-scheduler"]
    assert sidecar["restart"] == "unless-stopped"
    assert not sidecar.get("ports")
    # The backend to reach PostgreSQL, the egress network to reach the object store, and
    # the monitoring network for Prometheus to read the sidecar's metrics.
    assert set(sidecar["networks"]) == {"backend", "pgbackrest-egress", "monitoring"}
    assert set(postgres["networks"]) == {"backend", "pgbackrest-egress"}
    assert sidecar["depends_on"]["postgres"]["condition"] == "service_healthy"
    mounts = {
        name: {v["source"]: v["target"] for v in s["volumes"]}
        for name, s in services.items()
        if name in ("postgres", "pgbackrest")
    }
    # The sidecar reads the server's PGDATA, repository and socket: the very same volumes.
    for volume in ("postgres-data", "pgbackrest-repo", "postgres-run"):
        assert mounts["pgbackrest"][volume] == mounts["postgres"][volume]
    assert mounts["postgres"]["pgbackrest-repo"] == "/var/lib/pgbackrest"
    # Merged with compose.prod.yml's settings, not replacing them.
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    for service in (postgres, sidecar):
        env = service["environment"]
        assert env["PGBACKREST_REPO1_CIPHER_PASS_FILE"] == "/run/secrets/pgbackrest_cipher_pass"
        assert "PGBACKREST_REPO1_CIPHER_PASS" not in env
        # Repository 1 off the host: S3, encrypted, 30 days by time, TLS verified.
        assert env["PGBACKREST_REPO1_TYPE"] == "s3"
        assert env["PGBACKREST_REPO1_CIPHER_TYPE"] == "aes-256-cbc"
        assert env["PGBACKREST_REPO1_RETENTION_FULL_TYPE"] == "time"
        assert env["PGBACKREST_REPO1_RETENTION_FULL"] == "30"
        assert env["PGBACKREST_REPO1_STORAGE_VERIFY_TLS"] == "y"
        assert env["PGBACKREST_REPO1_S3_KEY_FILE"] == "/run/secrets/pgbackrest_s3_key"
        assert env["PGBACKREST_REPO1_S3_KEY_SECRET_FILE"] == "/run/secrets/pgbackrest_s3_key_secret"
        sources = {s["source"] if isinstance(s, dict) else s for s in service["secrets"]}
        assert {
            "pgbackrest_cipher_pass",
            "pgbackrest_s3_key",
            "pgbackrest_s3_key_secret",
        } <= sources
    assert {"postgres_password", "pgbackrest_cipher_pass"} <= {
        s["source"] if isinstance(s, dict) else s for s in postgres["secrets"]
    }
    replaced = config_of("prod+pgbackrest", {"PGBACKREST_POSTGRES_IMAGE": "local/pg:test"})
    assert replaced["services"]["postgres"]["image"] == "local/pg:test"


# --- what the guides say a lost or stolen host costs -------------------------------------------

DOCS = REPO / "docs"
# Runs on the recovery host, which holds the age private key (docs/backups.md), never here.
RECOVERY_HOST_ONLY = {"backup-drill"}


def section(doc: Path, heading: str) -> str:
    """The text under `## heading`, up to the next heading of that level."""
    text = doc.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_backup_guide_names_every_backup_key_a_stolen_server_holds() -> None:
    config = config_with_every_profile(files_of("prod+pgbackrest"))
    on_server = {
        secret["source"] if isinstance(secret, dict) else secret
        for name, service in config["services"].items()
        if name not in RECOVERY_HOST_ONLY
        for secret in service.get("secrets") or []
    }
    # The keys that read (or delete) backups: pgBackRest's passphrase and S3 keys, the logical
    # backups' S3 keys. The age private key is not among them.
    backup_keys = {
        name for name in on_server if name.startswith(("pgbackrest_", "backup_storage_"))
    }
    assert {"pgbackrest_cipher_pass", "pgbackrest_s3_key", "backup_storage_access_key_id"} <= (
        backup_keys
    )
    assert "backup_age_identity" not in on_server
    told = section(DOCS / "backups.md", "What a stolen server can read")
    unsaid = sorted(key for key in backup_keys if f"`{key}`" not in told)
    assert not unsaid, f"docs/backups.md does not say a stolen server holds {unsaid}"


def test_the_disaster_recovery_guide_states_the_loss_window_production_sets() -> None:
    settings = (REPO / "deploy" / "pgbackrest" / "postgresql.archiving.conf").read_text()
    timeout = re.search(r"^archive_timeout = (\d+)s$", settings, re.M)
    assert timeout, "archive_timeout is not set in seconds"
    guide = DOCS / "disaster-recovery.md"
    told = section(guide, "What losing the host loses")
    assert f"`archive_timeout` ({timeout.group(1)} s)" in told
    assert "synchronous replication to a standby" in told
    # The drill's figures, said twice, add up: what came back and what was lost.
    lost = re.search(r"(\d+) of (\d+) acknowledged writes lost", told)
    back = re.search(r"(\d+) of (\d+) acknowledged writes came back and (\d+)", guide.read_text())
    assert lost, told
    assert back
    assert int(back[1]) + int(lost[1]) == int(lost[2]) == int(back[2])
    assert back[3] == lost[1]


# --- logs: every line says where it came from (docs/logs.md) ----------------------------------

LOG_LABELS = {
    "com.docker.compose.project",
    "com.docker.compose.service",
    "com.docker.compose.container-number",
}


@pytest.mark.parametrize("combination", [c for c in COMBINATIONS if c != "dev"])
def test_every_production_service_labels_its_log_lines_for_the_store(combination: str) -> None:
    # The log store keeps only lines of its own project and files them by service.
    config = config_with_every_profile(files_of(combination))
    for name, service in config["services"].items():
        labels = str(((service.get("logging") or {}).get("options") or {}).get("labels", ""))
        missing = LOG_LABELS - set(labels.split(","))
        assert not missing, f"{combination}: {name}'s log lines lack {missing}"
        assert "compress" not in (service.get("logging") or {}).get("options", {}), (
            f"{combination}: {name}: the store cannot read compressed rotated files"
        )
