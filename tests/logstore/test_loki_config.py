"""The Loki overlay's configuration, checked offline by deploy/loki/check_config.py (Loki
and Alloy cannot run here): the shipped files pass, and each kind of broken file is refused
with a message naming the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.repository import REPO, script_module

CHECK = REPO / "deploy" / "loki" / "check_config.py"
LOKI = REPO / "deploy" / "loki" / "loki.yml"
ALLOY = REPO / "deploy" / "loki" / "config.alloy"


CHECKER = script_module(CHECK)


def problems(loki: Path = LOKI, alloy: Path = ALLOY) -> str:
    """What the checker reports, one line each (in-process: the command's own functions)."""
    found = CHECKER.check_loki(yaml.safe_load(loki.read_text()))
    found += CHECKER.check_alloy(alloy.read_text())
    return "\n".join(found)


def check(loki: Path = LOKI, alloy: Path = ALLOY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), str(loki), str(alloy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_shipped_configuration_is_valid() -> None:
    result = check()
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_the_command_refuses_a_broken_file_with_exit_1(tmp_path: Path) -> None:
    broken = tmp_path / "loki.yml"
    broken.write_text(LOKI.read_text().replace("auth_enabled:", "auth_enable:"))
    result = check(loki=broken)
    assert result.returncode == 1
    assert "'auth_enable' was unexpected" in result.stderr
    assert str(broken) in result.stderr


def with_change(tmp_path: Path, path: str, value: object) -> Path:
    """loki.yml with the key at `path` (a/b/0/c) set to `value` (None deletes it)."""
    config = yaml.safe_load(LOKI.read_text())
    *parents, last = path.split("/")
    node = config
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    changed = tmp_path / "loki.yml"
    changed.write_text(yaml.safe_dump(config))
    return changed


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("retention", "30d", "Additional properties are not allowed ('retention' was unexpected)"),
        ("compactor/delete_request_store", None, "'delete_request_store' is a required property"),
        ("schema_config/configs/0/index/period", "168h", "the tsdb index needs 24h"),
        ("schema_config/configs/0/schema", "v12", "needs the latest schema period on store tsdb"),
        ("schema_config/configs/0/from", "2026-13-40", "not a date"),
        ("schema_config/configs/0/store", "bigtable", "'bigtable' is not one of"),
        ("schema_config/configs/0/index/period", "a day", "does not match"),
        ("limits_config/retention_period", "12h", "12h is under 24h"),
        ("limits_config/retention_period", None, "retention_period: missing"),
        ("server/http_listen_port", "3100", "'3100' is not of type 'integer'"),
    ],
)
def test_a_broken_loki_configuration_is_refused(
    tmp_path: Path, path: str, value: object, message: str
) -> None:
    assert message in problems(loki=with_change(tmp_path, path, value))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("loki.write.default.receiver", "loki.write.main.receiver", "loki.write.main.receiver: no"),
        ('loki.write "default" {', 'loki.writer "default" {', "not a component this checker"),
        ("  endpoint {\n", "  endpoint {\n  {\n", "never closed"),
        (
            'url = "http://loki:3100/loki/api/v1/push"',
            'url = "http://loki:3100',
            "string not closed",
        ),
        ('local.file_match "containers" {', "local.file_match containers {", "is not `component"),
    ],
)
def test_a_broken_alloy_configuration_is_refused(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = ALLOY.read_text()
    assert old in text
    broken = tmp_path / "config.alloy"
    broken.write_text(text.replace(old, new, 1))
    assert message in problems(alloy=broken)
