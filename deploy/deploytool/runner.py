"""Running docker and compose commands with timeouts; the error every step raises."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class DeployError(Exception):
    """A step failed; the message says which and why."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def say(message: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {message}", flush=True)


@dataclass
class Runner:
    docker: list[str]
    compose: list[str]  # the compose command with -p and -f already in it
    env: dict[str, str]

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                list(args),
                input=input_text,
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**self.env, **(env or {})},
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeployError(f"timed out after {timeout:.0f} s: {shlex.join(args)}") from exc
        except OSError as exc:
            raise DeployError(f"cannot run {args[0]}: {exc}") from exc
        if check and result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-2000:]
            raise DeployError(f"`{shlex.join(args)}` exited {result.returncode}:\n{output}")
        return result

    def docker_run(self, *args: str, timeout: float = 60, **kwargs: Any) -> str:
        return self.run([*self.docker, *args], timeout=timeout, **kwargs).stdout

    def compose_run(self, *args: str, timeout: float, env: dict[str, str]) -> str:
        return self.run([*self.compose, *args], timeout=timeout, env=env).stdout
