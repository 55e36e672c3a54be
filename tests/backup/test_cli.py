"""The commands as an operator runs them: a subprocess with only environment variables."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from harness.ports import free_port
from signupflow.backup.postgres import Database
from signupflow.backup.storage import archive_name
from tests.backup.services import SIGNUPFLOW, cli_environment, run_backup
from tests.backup.support import POSTGRESQL_PASS_ONLY, AgeKey, fingerprints_of

pytestmark = POSTGRESQL_PASS_ONLY


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_backup(*args, env=env)


def environment(url: str, directory: Path, key: AgeKey, **extra: str) -> dict[str, str]:
    return cli_environment(url, directory, key.recipient, **extra)


def test_create_list_verify_and_restore_from_the_command_line(
    tmp_path: Path, key: AgeKey, seeded_url: str
) -> None:
    env = environment(seeded_url, tmp_path / "backups", key)
    before = fingerprints_of(seeded_url)
    created = run("create", env=env)
    assert created.returncode == 0, created.stderr
    name = created.stdout.split()[1]
    assert name in run("list", env=env).stdout
    verified = run("verify", name, "--identity-file", str(key.identity_file), env=env)
    assert verified.returncode == 0, verified.stderr
    Database.from_url(seeded_url).drop()

    restored = run("restore", name, "--identity-file", str(key.identity_file), "--yes", env=env)

    assert restored.returncode == 0, restored.stderr
    assert "restored and verified" in restored.stdout
    assert fingerprints_of(seeded_url) == before


def test_exit_codes_distinguish_the_failures(tmp_path: Path, key: AgeKey, seeded_url: str) -> None:
    directory = tmp_path / "backups"
    env = environment(seeded_url, directory, key)
    name = run("create", env=env).stdout.split()[1]

    identity = ("--identity-file", str(key.identity_file))
    assert run("verify", "no-such-backup", *identity, env=env).returncode == 3
    production = {
        **env,
        "APP_ENV": "production",
        "SECRET_KEY": "0123456789abcdefghijklmnopqrstuvwxyzABCDEF",
        "ALLOWED_HOSTS": "signupflow.example.org",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SMTP_HOST": "smtp.example.org",
    }
    refused = run("restore", name, *identity, "--yes", env=production)
    assert refused.returncode == 9, refused.stderr
    assert "--force" in refused.stderr
    not_confirmed = subprocess.run(
        [str(SIGNUPFLOW), "backup", "restore", name, *identity],
        env=env,
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert not_confirmed.returncode == 1
    archive = directory / archive_name(name)
    archive.write_bytes(archive.read_bytes()[:-10])
    assert run("verify", name, *identity, env=env).returncode == 4
    assert run("create", env={**env, "BACKUP_AGE_RECIPIENT": ""}).returncode == 9
    unreachable = {**env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/x"}
    assert run("create", env=unreachable).returncode == 7


def test_no_secret_appears_in_the_output(tmp_path: Path, key: AgeKey, seeded_url: str) -> None:
    url = make_url(seeded_url).set(password="hunter2-secret")
    env = environment(url.render_as_string(hide_password=False), tmp_path / "backups", key)
    result = run("create", env=env)
    secret_key = key.identity_file.read_text().splitlines()[1]
    for text in (result.stdout, result.stderr):
        assert "hunter2-secret" not in text
        assert secret_key not in text
