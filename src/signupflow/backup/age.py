"""age encryption (X25519) through pyrage, streaming file to file."""

from __future__ import annotations

from pathlib import Path

import pyrage  # type: ignore[import-untyped]

from signupflow.backup.errors import DecryptFailure, Refused


def encrypt_file(source: Path, destination: Path, recipient: str) -> None:
    try:
        key = pyrage.x25519.Recipient.from_str(recipient.strip())
    except pyrage.RecipientError as exc:
        raise Refused("BACKUP_AGE_RECIPIENT is not an age public key (age1...)") from exc
    pyrage.encrypt_file(str(source), str(destination), [key])


def read_identities(path: Path) -> list[pyrage.x25519.Identity]:
    """The AGE-SECRET-KEY lines of an identity file (as written by age-keygen)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise Refused(f"cannot read BACKUP_AGE_IDENTITY_FILE {path}: {exc.strerror}") from exc
    identities = []
    for line in lines:
        if line.strip() and not line.startswith("#"):
            try:
                identities.append(pyrage.x25519.Identity.from_str(line.strip()))
            except pyrage.IdentityError as exc:
                # Never echo the line: it is a secret key.
                raise Refused(f"{path} holds a line that is not an age identity") from exc
    if not identities:
        raise Refused(f"{path} holds no age identity")
    return identities


def decrypt_file(source: Path, destination: Path, identity_file: Path) -> None:
    identities = read_identities(identity_file)
    try:
        pyrage.decrypt_file(str(source), str(destination), identities)
    except (pyrage.DecryptError, OSError) as exc:  # pyrage reports mid-stream failures as OSError
        raise DecryptFailure(
            f"cannot decrypt {source.name}: no identity in {identity_file} matches its "
            "recipient, or the ciphertext was altered"
        ) from exc
