"""Moving a SignUpFlow database between backends (SQLite → PostgreSQL)."""

from signupflow.transfer.errors import (
    CopyFailed,
    SourceProblem,
    TargetNotEmpty,
    TransferError,
    UsageProblem,
    VerificationFailed,
)
from signupflow.transfer.sqlite_to_postgres import (
    DEFAULT_BATCH_SIZE,
    Reporter,
    SilentReporter,
    TransferReport,
    migrate_sqlite_to_postgres,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "CopyFailed",
    "Reporter",
    "SilentReporter",
    "SourceProblem",
    "TargetNotEmpty",
    "TransferError",
    "TransferReport",
    "UsageProblem",
    "VerificationFailed",
    "migrate_sqlite_to_postgres",
]
