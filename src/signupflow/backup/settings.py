"""Backup settings, read from the same environment and `.env` as the app's settings."""

from __future__ import annotations

import os

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from signupflow.settings import FileSecretsSource


class FileSecretsSettings(BaseSettings):
    """Every field may also be given as `<NAME>_FILE` (Compose/Kubernetes secrets), as in the
    app's settings: S3 credentials and webhook URLs never need to be in the environment."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ: dict[str, str] = {}
        for source in (dotenv_settings, env_settings):
            if isinstance(source, EnvSettingsSource):
                environ.update({k.upper(): v for k, v in source.env_vars.items() if v is not None})
        if not isinstance(env_settings, EnvSettingsSource):
            environ.update(os.environ)
        return (
            init_settings,
            env_settings,
            FileSecretsSource(settings_cls, environ),
            dotenv_settings,
        )


class BackupSettings(FileSecretsSettings):
    backup_dir: str = "./var/backups"
    # The server holds only the public key: a stolen server cannot read old backups.
    backup_age_recipient: str | None = None
    backup_age_identity_file: str | None = None
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
