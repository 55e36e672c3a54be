#!/usr/bin/env python3
"""Create the secrets directory that deploy/compose/compose.prod.yml reads.

    sudo python3 deploy/secrets/create_secrets.py deploy/compose/secrets

Writes one file per secret, each mode 0600 and owned by the uid of the container that reads it
(Compose bind-mounts secret files as they are, so the owner must match the reader). Every
client has its own database role or Redis user (docs/security.md, "Least privilege"):

| file                    | read by           | contents                                    |
| secret_key              | app, worker,      | token-signing key (64 hex characters)       |
|                         | migrate, backup   |                                             |
| metrics_token           | app, Prometheus   | bearer token for GET /metrics               |
| postgres_password       | postgres          | password of the bootstrap superuser         |
|                         |                   | `signupflow` (database container only)      |
| postgres_roles          | postgres          | SCRAM-SHA-256 verifiers of the four login   |
|                         |                   | roles (never their passwords)               |
| database_url            | app, worker       | URL of role signupflow_app (data only)      |
| migrate_database_url    | migrate           | URL of role signupflow_owner (the schema)   |
| backup_database_url     | backup            | URL of role signupflow_backup (read-only)   |
| postgres_exporter_dsn   | postgres-exporter | URL of role signupflow_monitor (pg_monitor) |
| redis_acl               | redis             | ACL file: SHA-256 of each user's password   |
| redis_url               | app               | Redis user `app`                            |
| worker_redis_url        | worker            | Redis user `worker`                         |
| redis_exporter_password | redis-exporter    | password of Redis user `monitor`            |
| pgbackrest_cipher_pass  | postgres, sidecar | pgBackRest repository passphrase            |
| prometheus_metrics_token | prometheus       | metrics_token again, for Prometheus' user   |

The monitoring stack's webhook, `alert_webhook_url`, is the operator's to write
(docs/monitoring.md).

Idempotent: an existing file is never replaced, so running it again after an upgrade only adds
the files that are new. The two derived files (postgres_roles, redis_acl) hold hashes, never
passwords, and are rewritten from the credential files whenever they differ. `--rotate NAME`
replaces one credential with a new password, in place (then apply it: docs/security.md). Values
are never printed. Standard library only, so it runs on a bare server.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

# The container users: the app image's `signupflow` user; uid 999 in the official postgres and
# redis images (and in the local stand-ins, deploy/images/); `nobody` in the official
# postgres-exporter image and 59000 in the official redis_exporter image.
APP_UID = 10001
POSTGRES_UID = 999
REDIS_UID = 999
POSTGRES_EXPORTER_UID = 65534
REDIS_EXPORTER_UID = 59000
PROMETHEUS_UID = 65534
# Names that compose.prod.yml uses: service host names and the database.
POSTGRES_HOST = "postgres"
POSTGRES_DB = "signupflow"
REDIS_HOST = "redis"
SCRAM_ITERATIONS = 4096  # PostgreSQL's own default (scram_iterations)

# Redis: what each client runs, and on which keys (signupflow/state/: the app keeps rate-limit
# counters under signupflow:rl:* and revoked sessions under signupflow:revoked:*, with SET and
# EXISTS; the GCRA script, run by EVALSHA after SCRIPT LOAD, calls TIME, GET and SET; redis-py
# pings for its health checks). The worker never touches Redis but, like every process, must
# name one to start: PING only. redis_exporter's default scrape: CLIENT SETNAME, INFO,
# CONFIG GET, SLOWLOG, LATENCY; no keys (tests/deploy/test_redis_acl.py runs the real one).
REDIS_USER_RULES = {
    "app": "~signupflow:rl:* ~signupflow:revoked:* resetchannels -@all +ping +get +set +exists "
    "+time +evalsha +script|load",
    "worker": "resetchannels -@all +ping",
    "monitor": "resetchannels -@all +ping +info +config|get +client|setname +slowlog|get "
    "+slowlog|len +latency|latest +latency|histogram",
}
# Unauthenticated connections may only PING: the container's health check.
REDIS_DEFAULT_USER = "user default on nopass resetkeys resetchannels -@all +ping"


@dataclass(frozen=True)
class Credential:
    """One client's login: a random password, rendered into the file its client reads."""

    file: str
    user: str
    kind: str  # "postgres" (SQLAlchemy URL), "dsn" (libpq URL), "redis" (URL), "password"
    uid_option: str

    def render(self, password: str) -> str:
        if self.kind == "password":
            return password
        if self.kind == "redis":
            return f"redis://{self.user}:{quote(password, safe='')}@{REDIS_HOST}:6379/0"
        scheme = "postgresql+psycopg" if self.kind == "postgres" else "postgresql"
        suffix = "?sslmode=disable" if self.kind == "dsn" else ""  # the backend network only
        return (
            f"{scheme}://{self.user}:{quote(password, safe='')}@{POSTGRES_HOST}:5432/"
            f"{POSTGRES_DB}{suffix}"
        )

    def parse(self, content: str) -> tuple[str, str]:
        """(user, password) from an existing file, so derived files agree with it."""
        value = content.strip()
        if self.kind == "password":
            return self.user, value
        parts = urlsplit(value)
        return unquote(parts.username or ""), unquote(parts.password or "")


POSTGRES_ROLES = (
    Credential("database_url", "signupflow_app", "postgres", "app_uid"),
    Credential("migrate_database_url", "signupflow_owner", "postgres", "app_uid"),
    Credential("backup_database_url", "signupflow_backup", "postgres", "app_uid"),
    Credential("postgres_exporter_dsn", "signupflow_monitor", "dsn", "postgres_exporter_uid"),
)
REDIS_USERS = (
    Credential("redis_url", "app", "redis", "app_uid"),
    Credential("worker_redis_url", "worker", "redis", "app_uid"),
    Credential("redis_exporter_password", "monitor", "password", "redis_exporter_uid"),
)
CREDENTIALS = {c.file: c for c in (*POSTGRES_ROLES, *REDIS_USERS)}
# Random values nothing else is derived from: name -> (uid option, bytes of randomness).
PLAIN = {
    "secret_key": ("app_uid", 32),
    "metrics_token": ("app_uid", 32),
    "postgres_password": ("postgres_uid", 24),
    "pgbackrest_cipher_pass": ("postgres_uid", 48),
}
DERIVED = {
    "postgres_roles": "postgres_uid",
    "redis_acl": "redis_uid",
    # The app's metrics_token, in a copy Prometheus' user may read.
    "prometheus_metrics_token": "prometheus_uid",
}
# Every generated file -> the option naming the uid that owns it.
OWNER_OPTION = {
    **{name: option for name, (option, _) in PLAIN.items()},
    **{name: c.uid_option for name, c in CREDENTIALS.items()},
    **DERIVED,
}
# secret_key is rotated with PREVIOUS_SECRET_KEYS (docs/operations.md), so that tokens signed
# with the old key keep verifying meanwhile.
ROTATABLE = sorted([*CREDENTIALS, "metrics_token"])
# What cannot be generated here: where Alertmanager posts alerts (docs/monitoring.md) and the
# backup service's storage keys and webhook (docs/backups.md). The age private key is not
# among them: it lives on the recovery host, never on this server.
PROVIDED_BY_OPERATOR = (
    "alert_webhook_url",
    "backup_storage_access_key_id",
    "backup_storage_secret_access_key",
    "backup_alert_webhook_url",
    # pgBackRest's S3 repository (compose.pgbackrest.yml, deploy/pgbackrest/README.md).
    "pgbackrest_s3_key",
    "pgbackrest_s3_key_secret",
)
# Lost with the host, these make the off-site copies useless or the data unreadable.
BACK_UP_OFF_HOST = (
    "pgbackrest_cipher_pass (without it no pgBackRest backup can be read), postgres_password, "
    "secret_key; the age private key is kept off this host already (docs/backups.md)"
)


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677), so the database
    container holds what it needs to check a password, never the password itself."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def postgres_roles_file(passwords: dict[str, str], existing: str | None) -> str:
    """`role verifier` lines. A verifier already on file is kept while it still matches the
    password (a fresh salt each run would rewrite the file for nothing)."""
    kept = dict(line.split(" ", 1) for line in (existing or "").splitlines() if " " in line)
    lines = []
    for role, password in passwords.items():
        verifier = kept.get(role)
        if verifier is None or not _verifies(verifier, password):
            verifier = scram_verifier(password)
        lines.append(f"{role} {verifier}")
    return "".join(f"{line}\n" for line in lines)


def _verifies(verifier: str, password: str) -> bool:
    try:
        _, params, keys = verifier.split("$")
        salt = base64.b64decode(params.split(":")[1])
    except (ValueError, IndexError):
        return False
    return hmac.compare_digest(
        scram_verifier(password, salt=salt), f"SCRAM-SHA-256${params}${keys}"
    )


def redis_acl_file(users: dict[str, tuple[str, str]]) -> str:
    """One line per client; `users` maps the client (app, worker, monitor) to its (user,
    password) as its file names them."""
    lines = [REDIS_DEFAULT_USER]
    for client, (user, password) in users.items():
        digest = hashlib.sha256(password.encode()).hexdigest()
        lines.append(f"user {user} on #{digest} resetkeys {REDIS_USER_RULES[client]}")
    return "".join(f"{line}\n" for line in lines)


def write_secret(directory: Path, name: str, content: str, uid: int | None) -> None:
    """A new file is created exclusively; an existing one (rotated, or a derived file brought
    up to date) is rewritten in place: Compose bind-mounts each secret file by its inode, so a
    running container (postgres, for `20-signupflow-roles.sh`) sees the new content only if
    the inode stays the same."""
    path = directory / name
    flags = os.O_WRONLY | os.O_NOFOLLOW
    flags |= os.O_TRUNC if path.exists() else os.O_CREAT | os.O_EXCL
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask, or the mode an existing file had
        if uid is not None:
            os.fchown(fd, uid, uid)
        os.write(fd, (content if content.endswith("\n") else content + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def plan(directory: Path, rotate: set[str]) -> tuple[dict[str, str], list[str]]:
    """The files to write (name -> content) and warnings about files from an older layout."""
    writes: dict[str, str] = {}
    warnings: list[str] = []

    def current(name: str) -> str | None:
        if name in writes:
            return writes[name]
        path = directory / name
        return path.read_text() if path.exists() else None

    for name, (_, size) in PLAIN.items():
        if current(name) is None or name in rotate:
            writes[name] = secrets.token_hex(size)
    logins: dict[str, tuple[str, str]] = {}
    for name, credential in CREDENTIALS.items():
        content = current(name)
        if content is None or name in rotate:
            content = credential.render(secrets.token_hex(24))
            writes[name] = content
        user, password = credential.parse(content)
        if user != credential.user or not password:
            warnings.append(
                f"{name} logs in as {user or '(nobody)'}, not {credential.user} (an older "
                f"layout): run again with --rotate {name}, then apply it (docs/security.md)"
            )
        logins[name] = (user, password)

    role_passwords = {
        c.user: logins[c.file][1]
        for c in POSTGRES_ROLES
        if logins[c.file][0] == c.user and logins[c.file][1]
    }
    derived = {
        "prometheus_metrics_token": current("metrics_token"),
        "postgres_roles": postgres_roles_file(role_passwords, current("postgres_roles")),
        "redis_acl": redis_acl_file({c.user: logins[c.file] for c in REDIS_USERS}),
    }
    for name, content in derived.items():
        if content is not None and content != current(name):
            writes[name] = content
    return writes, warnings


def owner_of(name: str, args: argparse.Namespace) -> int:
    return int(getattr(args, OWNER_OPTION[name]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="where to create the files (SECRETS_DIR)")
    parser.add_argument("--app-uid", type=int, default=APP_UID)
    parser.add_argument("--postgres-uid", type=int, default=POSTGRES_UID)
    parser.add_argument("--redis-uid", type=int, default=REDIS_UID)
    parser.add_argument("--postgres-exporter-uid", type=int, default=POSTGRES_EXPORTER_UID)
    parser.add_argument("--redis-exporter-uid", type=int, default=REDIS_EXPORTER_UID)
    parser.add_argument("--prometheus-uid", type=int, default=PROMETHEUS_UID)
    parser.add_argument(
        "--rotate",
        action="append",
        default=[],
        metavar="NAME",
        help=f"replace this secret with a new value (repeatable; one of {', '.join(ROTATABLE)})",
    )
    parser.add_argument(
        "--no-chown",
        action="store_true",
        help="leave the files owned by the current user (rootless engines map uids themselves)",
    )
    args = parser.parse_args(argv)

    unknown = sorted(set(args.rotate) - set(ROTATABLE))
    if unknown:
        parser.error(
            f"--rotate {', '.join(unknown)}: not a secret that can be rotated here (one of "
            f"{', '.join(ROTATABLE)}; secret_key, postgres_password and pgbackrest_cipher_pass: "
            "see docs/security.md)"
        )
    chown = not args.no_chown
    if chown and os.geteuid() != 0:
        print(
            "error: run as root so that each file can belong to the container user that reads "
            f"it (app {args.app_uid}, postgres {args.postgres_uid}, redis {args.redis_uid}); "
            "with a rootless engine pass --no-chown",
            file=sys.stderr,
        )
        return 2
    directory: Path = args.directory
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    try:
        writes, warnings = plan(directory, set(args.rotate))
    except OSError as exc:
        print(f"error: cannot read {directory}: {exc}", file=sys.stderr)
        return 1
    for name, content in writes.items():
        uid = owner_of(name, args) if chown else None
        existed = (directory / name).exists()
        write_secret(directory, name, content, uid)
        owner = f", owner uid {uid}" if uid is not None else ""
        print(f"{'replaced' if existed else 'created'} {directory / name} (mode 0600{owner})")
    if not writes:
        print(f"{directory}: every generated secret already exists; nothing written")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    missing = [name for name in PROVIDED_BY_OPERATOR if not (directory / name).exists()]
    if missing:
        print(
            "still to provide (alert_webhook_url: docs/monitoring.md; the backup service's: "
            "docs/backups.md; pgbackrest_s3_*: deploy/pgbackrest/README.md): "
            f"{', '.join(missing)}"
        )
    print(
        f"back up off this host (docs/security.md): the whole of {directory}, above all "
        f"{BACK_UP_OFF_HOST}; and the edge's ACME account (volume caddy-data)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
