"""Why a transfer stopped; each reason has its own process exit code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from signupflow.db.fingerprint import Difference

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SOURCE = 3
EXIT_TARGET_NOT_EMPTY = 4
EXIT_VERIFICATION = 5
EXIT_COPY_FAILED = 6


class TransferError(Exception):
    """The target is unchanged whenever one of these is raised."""

    exit_code: ClassVar[int] = EXIT_COPY_FAILED


class UsageProblem(TransferError):
    exit_code = EXIT_USAGE


class SourceProblem(TransferError):
    exit_code = EXIT_SOURCE


class TargetNotEmpty(TransferError):
    exit_code = EXIT_TARGET_NOT_EMPTY

    def __init__(self, tables: Sequence[str]) -> None:
        self.tables = list(tables)
        super().__init__(
            "the target already holds data (in "
            + ", ".join(self.tables)
            + "); use --replace to delete it as part of the copy"
        )


class VerificationFailed(TransferError):
    exit_code = EXIT_VERIFICATION

    def __init__(self, differences: Sequence[Difference]) -> None:
        self.differences = list(differences)
        super().__init__(
            "verification failed, nothing was written:\n"
            + "\n".join(f"  - {difference}" for difference in self.differences)
        )


class CopyFailed(TransferError):
    exit_code = EXIT_COPY_FAILED
