"""The GitHub Actions pipeline keeps its promises (tests/workflow_rules.py), and each rule,
the deploy script's input checks and `make workflow-check`'s tools fail on a bad copy."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflow_rules import RELEASE, ROLLBACK, RULES, Workflows, load

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
SCRIPT = REPO / ".github" / "scripts" / "deploy-over-ssh.sh"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def workflows() -> Workflows:
    return load(WORKFLOWS)


def test_the_pipeline_has_its_three_workflows(workflows: Workflows) -> None:
    assert set(workflows) == {"ci.yml", RELEASE, ROLLBACK}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_workflows_keep_the_rule(workflows: Workflows, rule: str) -> None:
    assert RULES[rule](workflows) == []


def job(workflows: Workflows, name: str, job_id: str) -> dict[str, Any]:
    found: dict[str, Any] = workflows[name]["jobs"][job_id]
    return found


def deploy_env(workflows: Workflows, name: str, job_id: str) -> dict[str, str]:
    steps = job(workflows, name, job_id)["steps"]
    env: dict[str, str] = next(s for s in steps if "deploy-over-ssh" in s.get("run", ""))["env"]
    return env


Mutation = Callable[[Workflows], None]

MUTATIONS: dict[str, tuple[str, Mutation]] = {
    "production loses its environment": (
        "environments_and_concurrency",
        lambda w: job(w, RELEASE, "deploy-production").pop("environment"),
    ),
    "production deploys to another environment": (
        "environments_and_concurrency",
        lambda w: job(w, RELEASE, "deploy-production").update(environment={"name": "prod"}),
    ),
    "production loses its concurrency group": (
        "environments_and_concurrency",
        lambda w: job(w, RELEASE, "deploy-production").pop("concurrency"),
    ),
    "production shares staging's group": (
        "environments_and_concurrency",
        lambda w: job(w, RELEASE, "deploy-production")["concurrency"].update(
            group="deploy-staging"
        ),
    ),
    "a new deploy cancels the one under way": (
        "environments_and_concurrency",
        lambda w: job(w, RELEASE, "deploy-staging")["concurrency"].update(
            {"cancel-in-progress": True}
        ),
    ),
    "the production rollback loses its environment": (
        "environments_and_concurrency",
        lambda w: job(w, ROLLBACK, "rollback-production").pop("environment"),
    ),
    "the production rollback loses its concurrency group": (
        "environments_and_concurrency",
        lambda w: job(w, ROLLBACK, "rollback-production").pop("concurrency"),
    ),
    "the production rollback job is gone": (
        "environments_and_concurrency",
        lambda w: w[ROLLBACK]["jobs"].pop("rollback-production"),
    ),
    "production no longer waits for staging": (
        "staging_before_production",
        lambda w: job(w, RELEASE, "deploy-production").update(needs=["build"]),
    ),
    "production runs although staging failed": (
        "staging_before_production",
        lambda w: job(w, RELEASE, "deploy-production").update({"if": "${{ always() }}"}),
    ),
    "production deploys a tag instead of the built digest": (
        "the_digest_built_once",
        lambda w: deploy_env(w, RELEASE, "deploy-production").update(
            APP_DIGEST="${{ github.sha }}"
        ),
    ),
    "staging builds its own image": (
        "the_digest_built_once",
        lambda w: job(w, RELEASE, "deploy-staging")["steps"].insert(
            0, {"run": "docker build -f deploy/docker/Dockerfile ."}
        ),
    ),
    "the build's digest output is not the pushed image's": (
        "the_digest_built_once",
        lambda w: job(w, RELEASE, "build")["outputs"].update(
            {"app-digest": "${{ steps.names.outputs.app }}"}
        ),
    ),
    "a rollback deploys something it did not resolve": (
        "the_digest_built_once",
        lambda w: deploy_env(w, ROLLBACK, "rollback-staging").update(
            WORKER_DIGEST="${{ inputs.tag }}"
        ),
    ),
    "an action pinned to a tag": (
        "pinned_actions",
        lambda w: job(w, "ci.yml", "check")["steps"][1].update(uses="actions/checkout@v4"),
    ),
    "an action pinned to a short SHA": (
        "pinned_actions",
        lambda w: job(w, RELEASE, "build")["steps"][2].update(
            uses="docker/setup-buildx-action@e468171"
        ),
    ),
    "write-all at the top": (
        "least_privilege",
        lambda w: w[RELEASE].update(permissions="write-all"),
    ),
    "contents: write at the top": (
        "least_privilege",
        lambda w: w["ci.yml"].update(permissions={"contents": "write"}),
    ),
    "a deploy job that may push packages": (
        "least_privilege",
        lambda w: job(w, RELEASE, "deploy-staging")["permissions"].update(packages="write"),
    ),
    "a job without its own permissions": (
        "least_privilege",
        lambda w: job(w, "ci.yml", "image").pop("permissions"),
    ),
    "an input interpolated into a script": (
        "no_expressions_in_scripts",
        lambda w: job(w, ROLLBACK, "resolve")["steps"][0].update(
            run='echo "rolling back to ${{ inputs.tag }}"'
        ),
    ),
    "the SSH key from a variable": (
        "secrets_only_from_github",
        lambda w: deploy_env(w, RELEASE, "deploy-production").update(
            DEPLOY_SSH_KEY="${{ vars.DEPLOY_SSH_KEY }}"
        ),
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_rule_fails_on_a_mutated_copy(workflows: Workflows, mutation: str) -> None:
    rule, mutate = MUTATIONS[mutation]
    mutated = copy.deepcopy(workflows)
    mutate(mutated)

    assert RULES[rule](mutated) != []
    assert RULES[rule](workflows) == []


# --- the deploy script refuses bad input before it connects anywhere -----------------------

GOOD_ENV = {
    "DEPLOY_HOST": "staging.example.org",
    "DEPLOY_USER": "deploy",
    "DEPLOY_SSH_KEY": "not a key: the script stops before using it",
    "DEPLOY_KNOWN_HOSTS": "staging.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA",
    "DEPLOY_DIR": "/srv/signupflow",
    "APP_IMAGE": "ghcr.io/example/signupflow",
    "APP_DIGEST": "sha256:" + "a" * 64,
    "WORKER_IMAGE": "ghcr.io/example/signupflow-worker",
    "WORKER_DIGEST": "sha256:" + "b" * 64,
    "RELEASE": "0.1.0-0123456789ab",
    "REGISTRY_USER": "github-actions[bot]",
    "REGISTRY_TOKEN": "token",
}


def run_script(mode: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], **GOOD_ENV, **overrides}
    return subprocess.run(
        ["bash", str(SCRIPT), mode], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("APP_DIGEST", "latest"),
        ("WORKER_DIGEST", "sha256:" + "a" * 63),
        ("APP_IMAGE", "docker.io/someone/else"),
        ("DEPLOY_HOST", "host; rm -rf /"),
        ("DEPLOY_DIR", "srv/relative"),
        ("DEPLOY_DIR", "/srv/$(id)"),
        ("RELEASE", "1.0 && reboot"),
        ("DEPLOY_KNOWN_HOSTS", ""),
        ("DEPLOY_PORT", "22x"),
    ],
)
def test_the_deploy_script_refuses_a_value_of_the_wrong_shape(variable: str, value: str) -> None:
    result = run_script("deploy", **{variable: value})

    assert result.returncode == 65, result.stderr
    assert variable in result.stderr


def test_the_deploy_script_knows_only_deploy_and_rollback() -> None:
    assert run_script("destroy").returncode == 64


def test_the_deploy_script_pins_the_host_key_and_never_learns_one() -> None:
    text = SCRIPT.read_text()
    assert "StrictHostKeyChecking=yes" in text
    assert "StrictHostKeyChecking=no" not in text
    assert "accept-new" not in text
    assert "ssh-keyscan" not in text


# --- make workflow-check's tools fail on a bad workflow -------------------------------------


def tool(name: str) -> str:
    found = VENV_BIN / name
    if not found.exists():
        located = shutil.which(name)
        if located is None:
            pytest.fail(f"{name} is not installed (pip install -e '.[dev]')")
        return located
    return str(found)


@pytest.fixture
def bad_workflows(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def write(document: dict[str, Any]) -> Path:
        directory = tmp_path / ".github" / "workflows"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "bad.yml").write_text(yaml.safe_dump(document, sort_keys=False))
        return directory

    return write


def test_zizmor_reports_an_input_interpolated_into_a_script(
    workflows: Workflows, bad_workflows: Callable[[dict[str, Any]], Path]
) -> None:
    rollback = copy.deepcopy(workflows[ROLLBACK])
    rollback["jobs"]["resolve"]["steps"][0]["run"] = 'echo "${{ inputs.tag }}"'
    rollback["on"] = rollback.pop(True)  # PyYAML reads the `on` key as the boolean True
    directory = bad_workflows(rollback)

    result = subprocess.run(
        [tool("zizmor"), "--offline", "--min-severity", "medium", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "template-injection" in result.stdout


def test_the_schema_check_reports_a_job_without_runs_on(
    workflows: Workflows, bad_workflows: Callable[[dict[str, Any]], Path]
) -> None:
    ci = copy.deepcopy(workflows["ci.yml"])
    ci["on"] = ci.pop(True)
    ci["jobs"]["check"].pop("runs-on")
    directory = bad_workflows(ci)

    result = subprocess.run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(directory / "bad.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0, result.stdout
