"""The monitoring stack's stand-in images (deploy/images/: Prometheus, Alertmanager and the
exporters from Debian packages) keep the official images' contract that compose.prod.yml
relies on, and the start scripts in deploy/monitoring/ do their job inside them: the
certificate targets written from DOMAINS, the webhook URL put into Alertmanager's
configuration from its secret, and a clear refusal of bad input. Short-lived containers only.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.docker import docker_cmd
from harness.repository import REPO

MONITORING = REPO / "deploy" / "monitoring"
LOCKED_DOWN = (
    "--rm",
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges:true",
)
# name in BASE_IMAGES -> (the official entrypoint, the user it runs as, its version line)
CONTRACT = {
    "prometheus": ("/bin/prometheus", "65534:65534", "prometheus, version 2.42"),
    "alertmanager": ("/bin/alertmanager", "65534:65534", "alertmanager, version 0.25"),
    "node-exporter": ("/bin/node_exporter", "65534:65534", "node_exporter, version 1."),
    "postgres-exporter": ("/bin/postgres_exporter", "65534:65534", "postgres_exporter"),
    "redis-exporter": ("/redis_exporter", "59000:59000", "Redis Metrics Exporter"),
    "blackbox-exporter": ("/bin/blackbox_exporter", "65534:65534", "blackbox_exporter, version"),
}


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return docker_cmd("run", *LOCKED_DOWN, *arguments, timeout=120, check=False)


@pytest.mark.parametrize("name", list(CONTRACT))
def test_monitoring_image_keeps_the_official_entrypoint_and_user(
    name: str, base_images: dict[str, str]
) -> None:
    entrypoint, user, version = CONTRACT[name]
    image = base_images[name]
    config = docker_cmd(
        "image", "inspect", "--format", "{{json .Config.Entrypoint}} {{.Config.User}}", image
    ).stdout.split()
    assert config == [f'["{entrypoint}"]', user]
    # Runs with no capability at all and a read-only root file system, as compose.prod.yml
    # starts it.
    result = run(image, "--version")
    assert result.returncode == 0, result.stderr
    assert version in result.stdout + result.stderr


def start_script(
    image: str, script: str, *options: str, then: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run a start script from deploy/monitoring/ in `image` with `--version` as the program's
    arguments (it execs the program, which prints its version and exits), then `then`."""
    command = f"sh /etc/monitoring/{script} --version >/dev/null && {then or 'true'}"
    return run(
        "--tmpfs",
        "/tmp",
        "--volume",
        f"{MONITORING}:/etc/monitoring:ro",
        *options,
        "--entrypoint",
        "/bin/sh",
        image,
        "-c",
        command,
    )


def prometheus_start(
    base_images: dict[str, str], *variables: str, then: str = ""
) -> subprocess.CompletedProcess[str]:
    """prometheus-start.sh with these NAME=value settings."""
    options = [option for variable in variables for option in ("--env", variable)]
    return start_script(base_images["prometheus"], "prometheus-start.sh", *options, then=then)


def test_prometheus_start_writes_one_certificate_target_per_domain(
    base_images: dict[str, str],
) -> None:
    result = prometheus_start(
        base_images,
        "DOMAINS=signup.example.org,volunteer.example.net",
        then="cat /tmp/prometheus-targets/certificates.json",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        '[{"targets": ["signup.example.org", "volunteer.example.net"]}]'
    )


def test_prometheus_start_records_how_many_app_replicas_the_stack_runs(
    base_images: dict[str, str],
) -> None:
    result = prometheus_start(
        base_images,
        "DOMAINS=signup.example.org",
        "APP_REPLICAS=3",
        then="promtool check rules /tmp/prometheus-rules/replicas.yml >&2 && "
        "cat /tmp/prometheus-rules/replicas.yml",
    )
    assert result.returncode == 0, result.stderr
    assert "record: signupflow:app_replicas_expected" in result.stdout
    assert "expr: vector(3)" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("APP_REPLICAS", "two"),
        ("APP_REPLICAS", "2; rm -rf /"),
        ("APP_REPLICAS", "-1"),
        ("APP_REPLICAS", "1.5"),
        ("DOMAINS", ""),
        ("DOMAINS", 'signup.example.org,evil"]'),
        ("DOMAINS", "signup..example.org"),
        ("DOMAINS", "-x.example.org"),
        ("DOMAINS", ","),
    ],
)
def test_prometheus_start_refuses_a_bad_setting(
    variable: str, value: str, base_images: dict[str, str]
) -> None:
    settings = {"DOMAINS": "signup.example.org", variable: value}
    result = prometheus_start(base_images, *(f"{k}={v}" for k, v in settings.items()))
    assert result.returncode == 2, result.stdout + result.stderr
    assert variable in result.stderr


def alertmanager_start(
    base_images: dict[str, str], url_file: Path | None, *, then: str = ""
) -> subprocess.CompletedProcess[str]:
    mount = ("--volume", f"{url_file}:/run/secrets/alert_webhook_url:ro") if url_file else ()
    return start_script(base_images["alertmanager"], "alertmanager-start.sh", *mount, then=then)


def test_alertmanager_start_puts_the_secret_webhook_url_into_the_configuration(
    tmp_path: Path, base_images: dict[str, str]
) -> None:
    # Characters sed would have taken for its own (&, |, /) arrive as written.
    url = "https://hooks.example.org/services/T0/B1?token=a&b=c|d"
    url_file = tmp_path / "alert_webhook_url"
    url_file.write_text(url + "\n")
    url_file.chmod(0o644)  # the test's container user is not the file's owner
    rendered = "/tmp/alertmanager/alertmanager.yml"
    result = alertmanager_start(
        base_images,
        url_file,
        then=f"grep -F 'url: ' {rendered} && stat -c %a {rendered} && "
        f"amtool check-config {rendered} >/dev/null",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.split("\n")
    assert lines[0].strip() == f"- url: {url}"
    assert lines[1] == "600"
    assert "alert-webhook-url.invalid" not in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the webhook URL"),
        ("hooks.example.org/alerts\n", "does not hold an http(s) URL"),
        ('https://hooks.example.org/"quoted"\n', "quote, backslash or space"),
    ],
    ids=["missing", "no-scheme", "quote"],
)
def test_alertmanager_start_refuses_a_missing_or_bad_webhook_url(
    tmp_path: Path, base_images: dict[str, str], content: str | None, message: str
) -> None:
    url_file = None
    if content is not None:
        url_file = tmp_path / "alert_webhook_url"
        url_file.write_text(content)
        url_file.chmod(0o644)
    result = alertmanager_start(base_images, url_file)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
