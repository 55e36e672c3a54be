"""`signupflow backup verify` given the private key at run time, as on a recovery host: the
newest backup by default, the key from a file or standard input, and each way a backup can be
bad ending with its documented exit code and message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.postgres import PostgresCluster
from signupflow.backup.storage import archive_name, manifest_name
from tests.backup.services import cli_environment, run_backup
from tests.backup.support import POSTGRESQL_PASS_ONLY, AgeKey, make_key, scratch_databases

pytestmark = POSTGRESQL_PASS_ONLY


@pytest.fixture
def server(tmp_path: Path, key: AgeKey, seeded_url: str) -> tuple[dict[str, str], list[str]]:
    """Two backups made the server's way (public key only); the environment and their names."""
    env = cli_environment(seeded_url, tmp_path / "backups", key.recipient)
    names = []
    for _ in range(2):
        created = run_backup("create", "--no-prune", env=env)
        assert created.returncode == 0, created.stderr
        names.append(created.stdout.split()[1])
    return env, names


def test_verify_with_the_key_restores_the_newest_backup_and_drops_the_scratch_database(
    server: tuple[dict[str, str], list[str]], key: AgeKey, pg_cluster: PostgresCluster
) -> None:
    env, names = server

    from_file = run_backup("verify", "--identity-file", str(key.identity_file), env=env)
    from_stdin = run_backup(
        "verify", names[0], "--identity-file", "-", env=env, stdin=key.identity_file.read_text()
    )

    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout.startswith(f"verified {names[-1]} ")
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout.startswith(f"verified {names[0]} ")
    assert scratch_databases(pg_cluster) == []


def test_verify_fails_with_the_documented_exit_code_for_each_bad_backup(
    server: tuple[dict[str, str], list[str]],
    key: AgeKey,
    tmp_path: Path,
    pg_cluster: PostgresCluster,
) -> None:
    env, names = server
    directory = Path(env["BACKUP_DIR"])
    identity = ("--identity-file", str(key.identity_file))

    missing_key = run_backup("verify", env=env)
    assert missing_key.returncode == 2
    assert "--identity-file" in missing_key.stderr
    unreadable = run_backup("verify", "--identity-file", str(tmp_path / "nothing"), env=env)
    assert unreadable.returncode == 9
    assert "cannot read the identity file" in unreadable.stderr
    not_a_key = tmp_path / "not-a-key"
    not_a_key.write_text("age1thisisapublickeynotaprivateone\n")
    assert run_backup("verify", "--identity-file", str(not_a_key), env=env).returncode == 9
    assert run_backup("verify", "no-such-backup", *identity, env=env).returncode == 3

    wrong = run_backup(
        "verify", "--identity-file", str(make_key(tmp_path / "o").identity_file), env=env
    )
    assert wrong.returncode == 5, wrong.stderr
    assert "does not match its recipient" in wrong.stderr

    # The manifest says one row more than the backup holds.
    newest = directory / manifest_name(names[-1])
    manifest = json.loads(newest.read_text())
    manifest["tables"]["people"]["rows"] += 1
    newest.write_text(json.dumps(manifest))
    mismatch = run_backup("verify", *identity, env=env)
    assert mismatch.returncode == 6, mismatch.stderr
    assert "restored contents differ from the manifest" in mismatch.stderr
    assert "people" in mismatch.stderr

    # One byte of the encrypted file changed.
    archive = directory / archive_name(names[0])
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    tampered = run_backup("verify", names[0], *identity, env=env)
    assert tampered.returncode == 4, tampered.stderr
    assert "does not match the manifest" in tampered.stderr

    assert scratch_databases(pg_cluster) == []


def test_verify_with_no_backup_anywhere_exits_3(
    tmp_path: Path, key: AgeKey, seeded_url: str
) -> None:
    env = cli_environment(seeded_url, tmp_path / "empty", key.recipient)
    done = run_backup("verify", "--identity-file", str(key.identity_file), env=env)
    assert done.returncode == 3
    assert "no backup in" in done.stderr
