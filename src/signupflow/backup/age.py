"""age encryption (X25519) through pyrage, streaming file to file.

Encrypting needs only the recipient (public key), which is all the server holds. The identity
(private key) is given to `verify` and `restore` at run time, as a file or on standard input,
and is never a setting: no service's environment can point at it by accident.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyrage  # type: ignore[import-untyped]

from signupflow.backup.errors import DecryptFailure, Refused

STDIN = "-"
Identities = list[pyrage.x25519.Identity]


def encrypt_file(source: Path, destination: Path, recipient: str) -> None:
    try:
        key = pyrage.x25519.Recipient.from_str(recipient.strip())
    except pyrage.RecipientError as exc:
        raise Refused("BACKUP_AGE_RECIPIENT is not an age public key (age1...)") from exc
    pyrage.encrypt_file(str(source), str(destination), [key])


def parse_identities(text: str, source: str) -> Identities:
    """The AGE-SECRET-KEY lines of an identity file (as written by age-keygen)."""
    identities = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            try:
                identities.append(pyrage.x25519.Identity.from_str(line.strip()))
            except pyrage.IdentityError as exc:
                # Never echo the line: it is a secret key.
                raise Refused(f"{source} holds a line that is not an age identity") from exc
    if not identities:
        raise Refused(f"{source} holds no age identity")
    return identities


def load_identities(location: str) -> Identities:
    """The identities in the file at `location`, or on standard input for `-`."""
    if location == STDIN:
        return parse_identities(sys.stdin.read(), "standard input")
    try:
        text = Path(location).read_text()
    except OSError as exc:
        raise Refused(f"cannot read the identity file {location}: {exc.strerror}") from exc
    return parse_identities(text, location)


def decrypt_file(source: Path, destination: Path, identities: Identities) -> None:
    try:
        pyrage.decrypt_file(str(source), str(destination), identities)
    except (pyrage.DecryptError, OSError) as exc:  # pyrage reports mid-stream failures as OSError
        raise DecryptFailure(
            f"cannot decrypt {source.name}: the identity given does not match its "
            "recipient, or the ciphertext was altered"
        ) from exc
