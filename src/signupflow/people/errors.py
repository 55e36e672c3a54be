"""Problems of the people domain: CSV imports that cannot be read or taken whole."""

from __future__ import annotations

from signupflow.errors import DomainError, InvalidInput


class CsvRejected(InvalidInput):
    type, title = "/problems/invalid-csv", "The CSV file has errors"


class CsvTooLarge(DomainError):
    status, type, title = 413, "/problems/too-large", "The file is too large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            f"at most {max_bytes // 1024} KiB",
            code="csv.too_large",
            params={"max_kib": max_bytes // 1024},
        )


class UnsupportedMediaType(DomainError):
    status, type, title = 415, "/problems/unsupported-media-type", "Unsupported media type"
