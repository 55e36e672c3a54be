from __future__ import annotations

# Exit codes of `signupflow backup ...`; documented in each command's --help.
EXIT_NOT_FOUND = 3
EXIT_INTEGRITY = 4
EXIT_DECRYPT = 5
EXIT_MISMATCH = 6
EXIT_DATABASE = 7
EXIT_STORAGE = 8
EXIT_REFUSED = 9


class BackupError(Exception):
    """A backup operation failed; `exit_code` says how, for the CLI."""

    exit_code = EXIT_DATABASE


class BackupNotFound(BackupError):
    exit_code = EXIT_NOT_FOUND


class IntegrityFailure(BackupError):
    """The archive does not match its manifest's checksum or size (tampered or truncated)."""

    exit_code = EXIT_INTEGRITY


class DecryptFailure(BackupError):
    """No given identity opens the archive, or its authenticated ciphertext was altered."""

    exit_code = EXIT_DECRYPT


class ContentsMismatch(BackupError):
    exit_code = EXIT_MISMATCH


class DatabaseFailure(BackupError):
    exit_code = EXIT_DATABASE


class StorageFailure(BackupError):
    exit_code = EXIT_STORAGE


class Refused(BackupError):
    exit_code = EXIT_REFUSED
