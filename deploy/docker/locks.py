#!/usr/bin/env python3
"""The image's dependency locks: hash-pinned requirements files that deploy/docker/Dockerfile
installs with `pip install --require-hashes --no-deps`, so a build never resolves a version.

    python deploy/docker/locks.py compile [--upgrade]   # `make lock` / `make lock-upgrade`
    python deploy/docker/locks.py check                 # `make lock-check`, part of `make check`

`compile` runs `uv pip compile` (a universal resolution: one file that installs on every Python
the project supports, so on the stand-in base's 3.11 and python:3.12-slim alike) and writes a
header recording a SHA-256 of what each lock was compiled from: the requirement lists in
pyproject.toml, requires-python and the resolver options. Without --upgrade, uv keeps the
versions already pinned and changes only what the new inputs need.

`check` is offline and takes milliseconds: it recomputes those digests from pyproject.toml and
fails, naming the lock and `make lock`, when one differs (a dependency added, removed or changed
without regenerating). It also fails when the web lock and the worker lock pin a shared package
differently, and when the build backend in [build-system] is not locked for the image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DIGEST_PREFIX = "# inputs-sha256: "
# Bump when the inputs or options below change meaning: every lock then reads as stale.
FORMAT = 1
RESOLVER_OPTIONS = ("--universal", "--generate-hashes")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


@dataclass(frozen=True)
class Lock:
    """One lock file: what it is for and which of pyproject's lists it pins."""

    filename: str
    purpose: str
    extras: tuple[str, ...] = ()
    group: str | None = None
    # Compiled with the given lock as constraints, so both images run the same versions.
    constrained_by: str | None = None


# The worker lock first: the web lock is constrained by it.
LOCKS = (
    Lock(
        "requirements-solver.lock",
        "the worker image (--build-arg EXTRAS=solver): runtime dependencies and the solver extra",
        extras=("solver",),
    ),
    Lock(
        "requirements.lock",
        "the web image (EXTRAS empty): runtime dependencies",
        constrained_by="requirements-solver.lock",
    ),
    Lock(
        "build-tools.lock",
        "the builder stage only (a venv of its own, never in the final image): "
        "the dependency group image-build",
        group="image-build",
    ),
)


class LockError(Exception):
    pass


def python_floor(project: dict[str, object]) -> str:
    """The lowest Python the universal resolution covers: pyproject's requires-python."""
    requires = str(project.get("requires-python", ""))
    match = re.fullmatch(r">=\s*(\d+\.\d+)", requires.strip())
    if not match:
        raise LockError(f"requires-python must read '>=X.Y' for the locks, not {requires!r}")
    return match.group(1)


def inputs(pyproject: dict[str, object], lock: Lock) -> list[str]:
    """The requirements a lock pins, normalised and sorted (spelling and order do not count)."""
    project = pyproject["project"]
    assert isinstance(project, dict)
    if lock.group is not None:
        groups = pyproject.get("dependency-groups", {})
        assert isinstance(groups, dict)
        if lock.group not in groups:
            raise LockError(f"pyproject.toml has no [dependency-groups] {lock.group}")
        listed = list(groups[lock.group])
    else:
        listed = list(project.get("dependencies", []))
        optional = project.get("optional-dependencies", {})
        assert isinstance(optional, dict)
        for extra in lock.extras:
            if extra not in optional:
                raise LockError(f"pyproject.toml has no optional dependencies {extra!r}")
            listed += optional[extra]
    return sorted(normalised(Requirement(item)) for item in listed)


def normalised(requirement: Requirement) -> str:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker else ""
    url = f" @ {requirement.url}" if requirement.url else ""
    name = canonicalize_name(requirement.name)
    return f"{name}{extras}{requirement.specifier}{url}{marker}"


def digest(pyproject: dict[str, object], lock: Lock) -> str:
    project = pyproject["project"]
    assert isinstance(project, dict)
    recorded = {
        "format": FORMAT,
        "requirements": inputs(pyproject, lock),
        "python": python_floor(project),
        "options": list(RESOLVER_OPTIONS),
        "constrained_by": lock.constrained_by,
    }
    return hashlib.sha256(json.dumps(recorded, sort_keys=True).encode()).hexdigest()


def recorded_digest(path: Path) -> str | None:
    for line in path.read_text().splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line.removeprefix(DIGEST_PREFIX).strip()
    return None


def pins(path: Path) -> dict[tuple[str, str | None], str]:
    """(canonical name, marker or None) -> version, for every `name==version` line."""
    found: dict[tuple[str, str | None], str] = {}
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            name, version, marker = match.groups()
            found[(canonicalize_name(name), marker)] = version
    return found


def check(pyproject_path: Path, lock_dir: Path) -> list[str]:
    """Every reason the locks in lock_dir do not match pyproject_path (empty when they do)."""
    pyproject = tomllib.loads(pyproject_path.read_text())
    problems: list[str] = []
    for lock in LOCKS:
        path = lock_dir / lock.filename
        if not path.exists():
            problems.append(f"{path} is missing: run `make lock`")
            continue
        expected = digest(pyproject, lock)
        if recorded_digest(path) != expected:
            problems.append(
                f"{path} is stale: pyproject.toml's requirements for it changed since it was "
                "compiled; run `make lock`"
            )
    web, worker = lock_dir / "requirements.lock", lock_dir / "requirements-solver.lock"
    if web.exists() and worker.exists():
        worker_pins = pins(worker)
        for key, version in sorted(pins(web).items(), key=str):
            if worker_pins.get(key) != version:
                problems.append(
                    f"{web.name} pins {key[0]}=={version} but {worker.name} does not: "
                    "run `make lock`"
                )
    build_tools = lock_dir / "build-tools.lock"
    if build_tools.exists():
        locked = {name for name, _ in pins(build_tools)}
        build_system = pyproject.get("build-system", {})
        assert isinstance(build_system, dict)
        for requirement in build_system.get("requires", []):
            if canonicalize_name(Requirement(requirement).name) not in locked:
                problems.append(
                    f"the build backend requirement {requirement!r} is not in {build_tools.name}: "
                    "add it to [dependency-groups] image-build and run `make lock`"
                )
    return problems


def uv_executable() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise LockError("uv is not installed (pip install -e '.[dev]')")
    return found


def compile_locks(pyproject_path: Path, lock_dir: Path, *, upgrade: bool) -> None:
    pyproject = tomllib.loads(pyproject_path.read_text())
    project = pyproject["project"]
    assert isinstance(project, dict)
    uv = uv_executable()
    for lock in LOCKS:
        path = lock_dir / lock.filename
        command = [uv, "pip", "compile", "--quiet", *RESOLVER_OPTIONS]
        command += ["--python-version", python_floor(project)]
        command += ["--custom-compile-command", "make lock", "--output-file", str(path)]
        if lock.group is not None:
            command += ["--group", f"{pyproject_path}:{lock.group}"]
        else:
            command.append(str(pyproject_path))
            for extra in lock.extras:
                command += ["--extra", extra]
        if lock.constrained_by is not None:
            command += ["--constraints", str(lock_dir / lock.constrained_by)]
        if upgrade:
            command.append("--upgrade")
        # Relative paths in uv's annotations ("# via -r pyproject.toml"), whatever the caller's
        # directory.
        subprocess.run(command, cwd=pyproject_path.parent, check=True, timeout=600)
        header = (
            f"# The SignUpFlow image's locked dependencies for {lock.purpose}.\n"
            "# Generated by deploy/docker/locks.py; do not edit. After changing pyproject.toml's\n"
            "# dependencies run `make lock` (`make lock-upgrade` moves every pin to the newest\n"
            "# allowed version); `make lock-check`, part of `make check`, fails until then.\n"
            f"{DIGEST_PREFIX}{digest(pyproject, lock)}\n"
        )
        # uv rewrites the whole file (reading the old one only for its pins): no header to strip.
        path.write_text(header + path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["compile", "check"])
    parser.add_argument("--pyproject", type=Path, default=REPO / "pyproject.toml")
    parser.add_argument("--lock-dir", type=Path, default=HERE)
    parser.add_argument("--upgrade", action="store_true", help="compile: newest allowed pins")
    args = parser.parse_args(argv)
    try:
        if args.command == "compile":
            compile_locks(args.pyproject.resolve(), args.lock_dir.resolve(), upgrade=args.upgrade)
            return 0
        problems = check(args.pyproject, args.lock_dir)
    except LockError as error:
        print(f"locks: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"locks: {problem}", file=sys.stderr)
    if not problems:
        print(f"locks: {len(LOCKS)} locks match {args.pyproject}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
