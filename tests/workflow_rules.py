"""The delivery rules the GitHub Actions workflows must keep, read from the loaded YAML.

Each rule takes the loaded workflows ({file name: document}) and returns what breaks it, so the
tests run it on the real `.github/workflows` and on mutated copies that show it can fail. The
schema and zizmor (`make workflow-check`) check what any workflow must be; these check what
this project's pipeline promises: production only after staging, behind its environment's
reviewers, one deploy at a time, the digest built once, pinned actions, least privilege.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

Workflows = dict[str, dict[str, Any]]
Rule = Callable[[Workflows], list[str]]

RELEASE = "release.yml"
ROLLBACK = "rollback.yml"
DEPLOY_SCRIPT = ".github/scripts/deploy-over-ssh.sh"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# The deploy jobs, by workflow, with the environment each must use and the job (and its
# outputs) whose digests it must deploy.
DEPLOY_JOBS = {
    RELEASE: {"deploy-staging": "staging", "deploy-production": "production"},
    ROLLBACK: {"rollback-staging": "staging", "rollback-production": "production"},
}
DIGEST_SOURCE = {RELEASE: "build", ROLLBACK: "resolve"}
DIGESTS = ("APP_DIGEST", "WORKER_DIGEST", "APP_IMAGE", "WORKER_IMAGE")
# Write scopes and the step that justifies each one in a job.
WRITE_NEEDS = {
    "packages": "docker/build-push-action",
    "id-token": "actions/attest-build-provenance",
    "attestations": "actions/attest-build-provenance",
}
BYPASS = re.compile(r"\b(always|failure|cancelled)\s*\(")


def load(directory: Path) -> Workflows:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(directory.glob("*.yml"))}


def jobs(workflows: Workflows) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, workflow in workflows.items():
        for job_id, job in (workflow.get("jobs") or {}).items():
            yield name, job_id, job


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def uses(job: dict[str, Any]) -> list[str]:
    found = [job["uses"]] if "uses" in job else []
    return found + [step["uses"] for step in steps(job) if "uses" in step]


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs") or []
    return [value] if isinstance(value, str) else list(value)


def environment(job: dict[str, Any]) -> object:
    value = job.get("environment")
    return value.get("name") if isinstance(value, dict) else value


def deploy_jobs(workflows: Workflows) -> Iterator[tuple[str, str, str, dict[str, Any] | None]]:
    """(workflow, job id, expected environment, the job or None when it is gone)."""
    for name, expected in DEPLOY_JOBS.items():
        workflow_jobs = (workflows.get(name) or {}).get("jobs") or {}
        for job_id, env_name in expected.items():
            yield name, job_id, env_name, workflow_jobs.get(job_id)


def environments_and_concurrency(workflows: Workflows) -> list[str]:
    """Each deploy job names its environment (production's holds the required reviewers) and
    queues in that environment's concurrency group, never cancelling a deploy under way."""
    problems = []
    for name, job_id, env_name, job in deploy_jobs(workflows):
        where = f"{name}: {job_id}"
        if job is None:
            problems.append(f"{where}: the job is missing")
            continue
        if environment(job) != env_name:
            problems.append(f"{where}: environment is {environment(job)!r}, not {env_name!r}")
        concurrency = job.get("concurrency")
        group = concurrency.get("group") if isinstance(concurrency, dict) else concurrency
        if group != f"deploy-{env_name}":
            problems.append(f"{where}: concurrency group is {group!r}, not 'deploy-{env_name}'")
        if not isinstance(concurrency, dict) or concurrency.get("cancel-in-progress") is not False:
            problems.append(f"{where}: concurrency must set cancel-in-progress: false")
    return problems


def staging_before_production(workflows: Workflows) -> list[str]:
    """A release reaches production only after staging succeeded: production needs the staging
    job, and no condition lets it run when a job it needs failed or was cancelled."""
    problems = []
    release_jobs = (workflows.get(RELEASE) or {}).get("jobs") or {}
    production = release_jobs.get("deploy-production") or {}
    if "deploy-staging" not in needs(production):
        problems.append(f"{RELEASE}: deploy-production does not need deploy-staging")
    for name, job_id, _, job in deploy_jobs(workflows):
        condition = str((job or {}).get("if", ""))
        if BYPASS.search(condition):
            problems.append(f"{name}: {job_id} runs even when a job it needs failed: {condition}")
    return problems


def the_digest_built_once(workflows: Workflows) -> list[str]:
    """Deploy jobs deploy the digests their workflow's build (or resolve) job produced, and
    build nothing themselves; the build job's digests are the build-push steps' own outputs."""
    problems = []
    for name, job_id, _, job in deploy_jobs(workflows):
        if job is None:
            continue
        source = DIGEST_SOURCE[name]
        where = f"{name}: {job_id}"
        if source not in needs(job):
            problems.append(f"{where}: does not need {source}")
        deploy_steps = [s for s in steps(job) if DEPLOY_SCRIPT in str(s.get("run", ""))]
        if not deploy_steps:
            problems.append(f"{where}: no step runs {DEPLOY_SCRIPT}")
        for step in deploy_steps:
            env = step.get("env") or {}
            for variable in DIGESTS:
                output = variable.lower().replace("_", "-")
                expected = f"${{{{ needs.{source}.outputs.{output} }}}}"
                if env.get(variable) != expected:
                    problems.append(f"{where}: {variable} is {env.get(variable)!r}, not {expected}")
        for step in steps(job):
            if "build-push-action" in str(step.get("uses", "")) or re.search(
                r"\bdocker\s+(buildx\s+)?build\b", str(step.get("run", ""))
            ):
                problems.append(f"{where}: builds an image instead of deploying the built one")
    build = ((workflows.get(RELEASE) or {}).get("jobs") or {}).get("build") or {}
    outputs = build.get("outputs") or {}
    by_id = {step.get("id"): step for step in steps(build)}
    for image in ("app", "worker"):
        value = str(outputs.get(f"{image}-digest", ""))
        match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.digest \}\}", value)
        step = by_id.get(match.group(1)) if match else None
        if step is None or "docker/build-push-action@" not in str(step.get("uses", "")):
            problems.append(f"{RELEASE}: build's {image}-digest is not a build-push step's digest")
    return problems


def pinned_actions(workflows: Workflows) -> list[str]:
    """Every action and reusable workflow from elsewhere is pinned to a full commit SHA."""
    return [
        f"{name}: {job_id}: {reference} is not pinned to a 40-hex commit SHA"
        for name, job_id, job in jobs(workflows)
        for reference in uses(job)
        if not reference.startswith("./") and not PINNED.match(reference)
    ]


def least_privilege(workflows: Workflows) -> list[str]:
    """No permissions at the top; a job writes only what one of its steps needs to write."""
    problems = []
    for name, workflow in workflows.items():
        top = workflow.get("permissions")
        if top != {} and not (
            isinstance(top, dict) and all(v in ("read", "none") for v in top.values())
        ):
            problems.append(f"{name}: top-level permissions are {top!r}, not {{}} or read-only")
    for name, job_id, job in jobs(workflows):
        permissions = job.get("permissions")
        if not isinstance(permissions, dict):
            problems.append(f"{name}: {job_id}: permissions are {permissions!r}, not a mapping")
            continue
        job_uses = " ".join(uses(job))
        for scope, level in permissions.items():
            if level == "write" and WRITE_NEEDS.get(scope, "\0") not in job_uses:
                problems.append(f"{name}: {job_id}: {scope}: write without a step that needs it")
    return problems


def no_expressions_in_scripts(workflows: Workflows) -> list[str]:
    """No `${{ }}` in a run script: inputs, outputs and secrets reach scripts through env, so
    no value can become shell code (zizmor's template-injection, kept for every expression)."""
    return [
        f"{name}: {job_id}: a run script interpolates an expression: {step['run'][:60]!r}"
        for name, job_id, job in jobs(workflows)
        for step in steps(job)
        if "${{" in str(step.get("run", ""))
    ]


def secrets_only_from_github(workflows: Workflows) -> list[str]:
    """The deploy steps take their connection and key only from `secrets.*`."""
    problems = []
    for name, job_id, _, job in deploy_jobs(workflows):
        for step in steps(job or {}):
            for variable, value in (step.get("env") or {}).items():
                if variable.startswith("DEPLOY_") and not re.fullmatch(
                    rf"\$\{{\{{ secrets\.{variable} \}}\}}", str(value)
                ):
                    problems.append(f"{name}: {job_id}: {variable} is not secrets.{variable}")
    return problems


RULES: dict[str, Rule] = {
    "environments_and_concurrency": environments_and_concurrency,
    "staging_before_production": staging_before_production,
    "the_digest_built_once": the_digest_built_once,
    "pinned_actions": pinned_actions,
    "least_privilege": least_privilege,
    "no_expressions_in_scripts": no_expressions_in_scripts,
    "secrets_only_from_github": secrets_only_from_github,
}
