"""docs/configuration.md is rendered from the settings models and stays so; the production
stack passes the app only variables the models know, and `.env.example` only variables the
stack uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from signupflow.backup.settings import BackupSettings
from signupflow.cli.main import cli
from signupflow.settings_reference import (
    REFERENCE_PATH,
    SECTIONS,
    Section,
    drift,
    render,
    unknown_variables,
)

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / REFERENCE_PATH
COMPOSE_DIR = REPO / "deploy" / "compose"
# Services that run `signupflow` and so read the settings models.
APP_SERVICES = ("migrate", "app", "worker", "backup")
# Variables Compose itself reads from .env (not interpolated in the files).
COMPOSE_OWN = {"COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "COMPOSE_FILE"}
# The files .env.example serves (the development stack and the pgBackRest overlay keep their
# variables in their own headers).
PRODUCTION_FILES = ("compose.prod.yml", "compose.pebble.yml", "compose.traefik.yml")
# Read by Python or a library, not by SignUpFlow's settings.
PROCESS_VARIABLES = {"PYTHONPATH", "PYTHONUNBUFFERED", "PROMETHEUS_MULTIPROC_DIR", "TMPDIR", "TZ"}


class GrownBackupSettings(BackupSettings):
    backup_parallel_uploads: int = 4
    """Uploads at once (a field added to the model but not to the reference)."""


class UndescribedBackupSettings(BackupSettings):
    backup_mystery: int = 4


def test_the_committed_reference_is_the_one_the_models_render() -> None:
    assert drift(REFERENCE, cli) is None, drift(REFERENCE, cli)


def test_a_field_added_to_a_model_makes_the_committed_reference_stale() -> None:
    grown = [
        Section(GrownBackupSettings, s.title, s.readers) if s.model is BackupSettings else s
        for s in SECTIONS
    ]
    problem = drift(REFERENCE, cli, grown)
    assert problem is not None
    assert "+| `BACKUP_PARALLEL_UPLOADS` | integer | `4` |" in problem
    assert "make config-docs" in problem


def test_a_field_without_a_docstring_cannot_be_rendered() -> None:
    bare = [
        Section(UndescribedBackupSettings, s.title, s.readers) if s.model is BackupSettings else s
        for s in SECTIONS
    ]
    with pytest.raises(ValueError, match=r"UndescribedBackupSettings\.backup_mystery has no"):
        render(cli, bare)


def test_the_reference_does_not_depend_on_the_environment_it_is_rendered_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("BCRYPT_ROUNDS=14\n")
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    monkeypatch.setenv("BACKUP_KEEP_LAST", "3")
    assert render(cli) == REFERENCE.read_text()


def test_the_reference_gives_each_variable_its_profile_defaults_and_requirements() -> None:
    text = REFERENCE.read_text()
    rows = {
        line.split(" | ")[0].strip("| `"): line
        for line in text.splitlines()
        if line.startswith("| `")
    }
    assert "development, test: `true`; staging, production: `false`" in rows["AUTO_MIGRATE"]
    assert "| production, staging |" in rows["REDIS_URL"]
    assert "| production |" in rows["SMTP_HOST"]
    assert "yes; use it (secret)" in rows["SECRET_KEY"]
    assert "no (names a file itself)" in rows["SMTP_CA_FILE"]
    assert "`signupflow serve`" in rows["WEB_CONCURRENCY"]


def test_config_reference_check_exits_1_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(REFERENCE.read_text().replace("`BACKUP_KEEP_LAST`", "`BACKUP_KEEP_MOST`"))
    runner = CliRunner()
    good = runner.invoke(cli, ["config", "reference", "--check", str(REFERENCE)])
    bad = runner.invoke(cli, ["config", "reference", "--check", str(stale)])
    assert good.exit_code == 0, good.output
    assert bad.exit_code == 1
    assert "BACKUP_KEEP_MOST" in bad.stderr
    assert "make config-docs" in bad.stderr


def test_config_reference_writes_the_file_make_config_docs_commits(tmp_path: Path) -> None:
    written = tmp_path / "configuration.md"
    result = CliRunner().invoke(cli, ["config", "reference", "--output", str(written)])
    assert result.exit_code == 0, result.output
    assert written.read_text() == REFERENCE.read_text()


class _ComposeLoader(yaml.SafeLoader):
    """Compose's merge tags (`!reset`, `!override`) read as the plain value under them."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_ComposeLoader.add_multi_constructor("!", _untagged)


def _compose_environment(path: Path) -> dict[str, set[str]]:
    document = yaml.load(path.read_text(), Loader=_ComposeLoader)  # noqa: S506
    found: dict[str, set[str]] = {}
    for name, service in (document.get("services") or {}).items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        found[name] = {key for key in environment if key != "<<"}
    return found


def test_the_stack_passes_the_app_only_variables_the_settings_models_know() -> None:
    for compose_file in sorted(COMPOSE_DIR.glob("compose*.yml")):
        for service, names in _compose_environment(compose_file).items():
            if service in APP_SERVICES:
                unknown = unknown_variables(names - PROCESS_VARIABLES, cli)
                assert not unknown, f"{compose_file.name}: {service} gets unknown {unknown}"


def test_a_misspelt_variable_given_to_the_app_is_reported() -> None:
    assert unknown_variables({"SMTP_HOST", "SECRET_KEY_FILE", "SMTP_HOSTNAME"}, cli) == [
        "SMTP_HOSTNAME"
    ]


def env_example_unused(env_example: str, compose_texts: list[str]) -> list[str]:
    """Variables `.env.example` sets that no Compose file interpolates."""
    assigned = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example, re.MULTILINE)
    used = set()
    for text in compose_texts:
        used |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    return sorted(set(assigned) - used - COMPOSE_OWN)


def test_every_variable_in_env_example_is_used_by_the_stack() -> None:
    texts = [path.read_text() for path in COMPOSE_DIR.glob("compose*.yml")]
    unused = env_example_unused((COMPOSE_DIR / ".env.example").read_text(), texts)
    assert not unused, f".env.example sets variables no compose file reads: {unused}"


def env_example_missing(env_example: str, compose_text: str) -> list[str]:
    """Variables a Compose file interpolates that `.env.example` does not list."""
    assigned = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example, re.MULTILINE))
    return sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_text)) - assigned)


@pytest.mark.parametrize("name", PRODUCTION_FILES)
def test_env_example_lists_every_variable_the_production_files_read(name: str) -> None:
    env_example = (COMPOSE_DIR / ".env.example").read_text()
    missing = env_example_missing(env_example, (COMPOSE_DIR / name).read_text())
    assert not missing, f"{name} reads variables .env.example does not list: {missing}"


def test_a_variable_missing_from_env_example_is_reported() -> None:
    assert env_example_missing("APP_IMAGE=x\n", "${APP_IMAGE} ${EDGE_BIND:-0.0.0.0}") == [
        "EDGE_BIND"
    ]


def test_an_env_example_variable_no_compose_file_reads_is_reported() -> None:
    assert env_example_unused("APP_IMAGE=x\nSMTP_HOSTNAME=y\n", ["image: ${APP_IMAGE}"]) == [
        "SMTP_HOSTNAME"
    ]
