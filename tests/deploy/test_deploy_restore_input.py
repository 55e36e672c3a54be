"""deploy.py's restore input and stack files, without Docker: the target time it accepts and
refuses, and the Compose files it reads from COMPOSE_FILE in the env file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from deploy.deploytool.cli import compose_files, main
from deploy.deploytool.pitr import BadTarget, parse_target
from deploy.deploytool.runner import DeployError

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-05 19:59:58+00", datetime(2026, 12, 5, 19, 59, 58, tzinfo=UTC)),
        ("2026-12-05 19:59:58.426228+00:00", datetime(2026, 12, 5, 19, 59, 58, 426228, UTC)),
        ("2026-12-05T21:30:00+02:00", datetime(2026, 12, 5, 19, 30, tzinfo=UTC)),
    ],
)
def test_a_past_time_with_its_zone_is_a_target(text: str, expected: datetime) -> None:
    assert parse_target(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "is not a time"),
        ("2026-13-05 10:00:00+00", "is not a time"),
        ("2026-12-05 19:00:00", "has no time zone"),
        ("2026-12-05 20:00:01+00", "is in the future"),
    ],
)
def test_a_bad_target_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(BadTarget, match=message):
        parse_target(text, now=NOW)


def test_restore_refuses_a_bad_target_before_touching_docker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DOMAINS=signup.example.org\n")
    code = main([
        "--env-file", str(env_file), "--state-dir", str(tmp_path / "state"),
        "--docker", "/nonexistent/docker", "--compose", "/nonexistent/compose",
        "restore", "--target", "2026-12-05 19:00:00", "--yes",
    ])  # fmt: skip
    assert code == 2
    assert "has no time zone" in capsys.readouterr().err


def test_compose_file_in_the_env_file_names_the_stack(tmp_path: Path) -> None:
    for name in ("compose.prod.yml", "compose.pgbackrest.yml"):
        (tmp_path / name).write_text("services: {}\n")
    env = {"COMPOSE_FILE": "compose.prod.yml:compose.pgbackrest.yml"}
    assert compose_files(env, tmp_path) == [
        tmp_path / "compose.prod.yml",
        tmp_path / "compose.pgbackrest.yml",
    ]
    separated = {"COMPOSE_FILE": "compose.prod.yml;compose.pgbackrest.yml"}
    assert len(compose_files({**separated, "COMPOSE_PATH_SEPARATOR": ";"}, tmp_path)) == 2
    assert compose_files({}, tmp_path)[0].name == "compose.prod.yml"


def test_compose_file_naming_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="do not exist"):
        compose_files({"COMPOSE_FILE": "compose.prod.yml:compose.typo.yml"}, tmp_path)
