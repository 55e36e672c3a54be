"""Backup settings, read from the same environment and `.env` as the app's settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from signupflow.settings import FileSecretsSettings


class BackupSettings(FileSecretsSettings):
    backup_dir: str = "./var/backups"
    # The server holds only the public key: a stolen server cannot read old backups. The
    # private key is never a setting: `verify` and `restore` take it as --identity-file.
    backup_age_recipient: str | None = None
    backup_retention_days: int = Field(default=30, ge=1)
    backup_keep_last: int = Field(default=7, ge=1)

    backup_s3_bucket: str | None = None
    backup_s3_prefix: str = "signupflow/"
    backup_s3_endpoint_url: str | None = None
    backup_s3_region: str = "us-east-1"
    backup_s3_access_key_id: SecretStr | None = None
    backup_s3_secret_access_key: SecretStr | None = None

    @property
    def s3_enabled(self) -> bool:
        return bool(self.backup_s3_bucket)
