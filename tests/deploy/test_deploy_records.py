"""The deploy tool's records, without a stack: the release it writes into the env file is what
Compose reads, the rest of the file is left alone, and the journal finds the deployment a
crash interrupted (test_stack.py kills the tool at every step of a real deploy)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from deploy.deploytool.envfile import check_writable, read_env_file, set_values
from deploy.deploytool.records import Records
from deploy.deploytool.runner import DeployError

from harness.compose import ENV_EXAMPLE, PROD, resolved_config

OPERATOR_ENV = """\
# The operator's settings.
APP_IMAGE=signupflow:1.0.0
DOMAINS=signup.example.org
export PUBLIC_URL=https://signup.example.org
APP_RELEASE=
WORKER_IMAGE=signupflow-worker:1.0.0
SMTP_HOST=smtp.example.org
APP_IMAGE=signupflow:0.9.0
"""


def test_the_recorded_release_is_what_compose_reads(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(OPERATOR_ENV)
    env_file.chmod(0o640)
    set_values(env_file, {"APP_IMAGE": "signupflow:1.4.0", "APP_RELEASE": "1.4.0 (abc)"})
    services = resolved_config((PROD,), env={}, env_file=env_file)["services"]
    assert services["app"]["image"] == services["migrate"]["image"] == "signupflow:1.4.0"
    assert services["app"]["environment"]["RELEASE"] == "1.4.0 (abc)"
    assert services["worker"]["image"] == "signupflow-worker:1.0.0"
    text = env_file.read_text()
    # Everything else as it was: comments, order, `export`, the file's mode; the later
    # duplicate (which Compose would have read instead) is gone.
    assert text.splitlines()[0] == "# The operator's settings."
    assert "export PUBLIC_URL=https://signup.example.org" in text
    assert text.count("APP_IMAGE=") == 1
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
    assert read_env_file(env_file)["SMTP_HOST"] == "smtp.example.org"


def test_recording_adds_what_the_file_lacks_and_creates_none_readable_by_others(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    set_values(env_file, {"APP_IMAGE": "signupflow:2", "WORKER_IMAGE": "w:2"})
    assert read_env_file(env_file) == {"APP_IMAGE": "signupflow:2", "WORKER_IMAGE": "w:2"}
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    example = tmp_path / "example.env"
    example.write_text(ENV_EXAMPLE.read_text())
    set_values(example, {"APP_RELEASE": "v2"})
    assert read_env_file(example)["APP_RELEASE"] == "v2"
    assert read_env_file(example)["APP_IMAGE"] == read_env_file(ENV_EXAMPLE)["APP_IMAGE"]


def test_the_release_is_recorded_only_in_a_regular_file(tmp_path: Path) -> None:
    check_writable(tmp_path / ".env")  # not there yet: made at the first deploy
    with pytest.raises(DeployError, match="not a regular file"):
        check_writable(Path("/dev/null"))


def test_the_journal_names_the_deployment_a_crash_interrupted(tmp_path: Path) -> None:
    records = Records(tmp_path)
    assert records.unfinished() is None
    records.journal_step("d1", "begin", image="a:1", old=["x"])
    records.journal_step("d1", "start", new=["y"])
    records.journal_step("d1", "end", result="succeeded")
    assert records.unfinished() is None
    records.journal_step("d2", "survey")  # before its begin: nothing to recover yet
    records.journal_step("d2", "begin", image="a:2", old=["y"])
    records.journal_step("d2", "migrate")
    records.journal_step("d2", "start", new=["z"])
    with records.journal.open("a") as handle:
        handle.write('{"deployment": "d2", "step": "rea')  # the crash cut the line short
    unfinished = records.unfinished()
    assert unfinished is not None
    assert (unfinished.id, unfinished.steps, unfinished.last) == (
        "d2",
        ["migrate", "start"],
        "start",
    )
    assert unfinished.begin["old"] == ["y"]
    assert records.begun("d1")["image"] == "a:1"
    lines = records.journal.read_text().splitlines()
    assert json.loads(lines[0])["step"] == "begin"
