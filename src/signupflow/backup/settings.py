"""Backup settings, read from the same environment and `.env` as the app's settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from signupflow.settings import FileSecretsSettings


class BackupSettings(FileSecretsSettings):
    """`signupflow backup create|list|verify|restore|prune`: logical backups."""

    backup_dir: str = "./var/backups"
    """Where backups and their manifests are written (and the backup service's state)."""
    # The server holds only the public key: a stolen server cannot read the backups it made. The
    # private key is never a setting: `verify` and `restore` take it as --identity-file.
    backup_age_recipient: str | None = None
    """age public key backups are encrypted to (`age-keygen -y KEYFILE`); not secret. Required
    by `backup create`."""
    backup_retention_days: int = Field(default=30, ge=1)
    """Backups older than this are deleted by `backup prune` (and after `create`)..."""
    backup_keep_last: int = Field(default=7, ge=1)
    """... except the newest this many, which are always kept."""

    backup_s3_bucket: str | None = None
    """S3-compatible bucket for off-site copies; unset: the local directory only."""
    backup_s3_prefix: str = "signupflow/"
    """Key prefix of the backups in the bucket."""
    backup_s3_endpoint_url: str | None = None
    """S3 endpoint of a non-AWS store (MinIO, Ceph, a provider's); unset: AWS."""
    backup_s3_region: str = "us-east-1"
    """S3 region."""
    backup_s3_access_key_id: SecretStr | None = None
    """S3 access key id; unset: the default AWS credential chain."""
    backup_s3_secret_access_key: SecretStr | None = None
    """S3 secret access key."""

    @property
    def s3_enabled(self) -> bool:
        return bool(self.backup_s3_bucket)
