#!/usr/bin/env python3
"""Create the secrets directory that deploy/compose/compose.prod.yml reads.

    sudo python3 deploy/secrets/create_secrets.py deploy/compose/secrets

Writes one file per secret, each mode 0600 and owned by the uid of the container that reads it
(Compose bind-mounts secret files as they are, so the owner must match the reader):

| file              | read by         | contents                                         |
| secret_key        | app, migrate    | token-signing key (64 hex characters)            |
| metrics_token     | app, migrate    | bearer token for GET /metrics                    |
| postgres_password | postgres        | password of the database superuser `signupflow`  |
| database_url      | app, migrate    | postgresql+psycopg URL with that password        |
| redis_acl         | redis           | ACL file: user `signupflow` with the SHA-256 of  |
|                   |                 | its password; the default user may only PING     |
| redis_url         | app, migrate    | redis URL with user `signupflow` and password    |
| pgbackrest_cipher_pass | postgres,  | pgBackRest repository passphrase (64 base64      |
|                   | pgbackrest      | characters); keep a copy off the host            |

It refuses to overwrite: if any of these files exists, nothing is written (rotating a secret
is a deliberate operation, see docs/operations.md). Values are never printed. Standard library
only, so it runs on a bare server.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

# The container users: the app image's `signupflow` user, and uid 999 in the official
# postgres and redis images (and in the local stand-ins, deploy/images/).
APP_UID = 10001
POSTGRES_UID = 999
REDIS_UID = 999
# Names that compose.prod.yml uses: service host names, the database and its user.
POSTGRES_HOST = "postgres"
POSTGRES_USER = "signupflow"
POSTGRES_DB = "signupflow"
REDIS_HOST = "redis"
REDIS_USER = "signupflow"
# The app keeps every key under this prefix (signupflow/state/store.py).
REDIS_KEY_PATTERN = "signupflow:*"


@dataclass(frozen=True)
class SecretFile:
    name: str
    content: str
    uid: int


def generate(*, app_uid: int, postgres_uid: int, redis_uid: int) -> list[SecretFile]:
    """Fresh random values, consistent with each other (the URLs carry the passwords)."""
    postgres_password = secrets.token_hex(24)
    redis_password = secrets.token_hex(24)
    redis_hash = hashlib.sha256(redis_password.encode()).hexdigest()
    acl = (
        # Unauthenticated connections may only PING: the container's health check.
        "user default on nopass resetkeys resetchannels -@all +ping\n"
        f"user {REDIS_USER} on #{redis_hash} resetkeys ~{REDIS_KEY_PATTERN} resetchannels "
        "+@all -@dangerous\n"
    )
    return [
        SecretFile("secret_key", secrets.token_hex(32), app_uid),
        SecretFile("metrics_token", secrets.token_hex(32), app_uid),
        SecretFile("postgres_password", postgres_password, postgres_uid),
        SecretFile(
            "database_url",
            f"postgresql+psycopg://{POSTGRES_USER}:{postgres_password}"
            f"@{POSTGRES_HOST}:5432/{POSTGRES_DB}",
            app_uid,
        ),
        SecretFile("redis_acl", acl, redis_uid),
        SecretFile(
            "redis_url", f"redis://{REDIS_USER}:{redis_password}@{REDIS_HOST}:6379/0", app_uid
        ),
        # compose.pgbackrest.yml: encrypts every backup and WAL segment. It can never change
        # for a repository (docs/disaster-recovery.md: keep it off the host).
        SecretFile(
            "pgbackrest_cipher_pass",
            base64.b64encode(secrets.token_bytes(48)).decode(),
            postgres_uid,
        ),
    ]


def write_secret(directory: Path, secret: SecretFile, *, chown: bool) -> Path:
    path = directory / secret.name
    # O_EXCL: never replace a file, even one that appeared since the check in main().
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        if chown:
            os.fchown(fd, secret.uid, secret.uid)
        content = secret.content if secret.content.endswith("\n") else secret.content + "\n"
        os.write(fd, content.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="where to create the files (SECRETS_DIR)")
    parser.add_argument("--app-uid", type=int, default=APP_UID)
    parser.add_argument("--postgres-uid", type=int, default=POSTGRES_UID)
    parser.add_argument("--redis-uid", type=int, default=REDIS_UID)
    parser.add_argument(
        "--no-chown",
        action="store_true",
        help="leave the files owned by the current user (rootless engines map uids themselves)",
    )
    args = parser.parse_args(argv)

    chown = not args.no_chown
    if chown and os.geteuid() != 0:
        print(
            "error: run as root so that each file can belong to the container user that reads "
            f"it (app {args.app_uid}, postgres {args.postgres_uid}, redis {args.redis_uid}); "
            "with a rootless engine pass --no-chown",
            file=sys.stderr,
        )
        return 2
    files = generate(app_uid=args.app_uid, postgres_uid=args.postgres_uid, redis_uid=args.redis_uid)
    directory: Path = args.directory
    existing = [f.name for f in files if (directory / f.name).exists()]
    if existing:
        print(
            f"error: {directory} already holds {', '.join(existing)}; refusing to overwrite "
            "(move them away first if you really mean to replace every secret)",
            file=sys.stderr,
        )
        return 1
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    for secret in files:
        path = write_secret(directory, secret, chown=chown)
        owner = f", owner uid {secret.uid}" if chown else ""
        print(f"created {path} (mode 0600{owner})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
