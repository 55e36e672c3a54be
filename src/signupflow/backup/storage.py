"""Where archives live: a local directory, mirrored to S3-compatible storage when configured."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from signupflow.backup.errors import StorageFailure
from signupflow.backup.settings import BackupSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ARCHIVE_SUFFIX = ".dump.age"
MANIFEST_SUFFIX = ".manifest.json"
_READ_BACK_LIMIT = 1 << 20  # manifests are a few kB; archives are checked by size


def archive_name(name: str) -> str:
    return name + ARCHIVE_SUFFIX


def manifest_name(name: str) -> str:
    return name + MANIFEST_SUFFIX


def backup_files(name: str) -> tuple[str, str]:
    return archive_name(name), manifest_name(name)


class LocalStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, filename: str) -> Path:
        return self.directory / filename

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(
            p.name.removesuffix(MANIFEST_SUFFIX) for p in self.directory.glob("*" + MANIFEST_SUFFIX)
        )

    def delete(self, name: str) -> None:
        for filename in backup_files(name):
            self.path(filename).unlink(missing_ok=True)


class S3Store:
    def __init__(self, settings: BackupSettings, *, client: Any = None) -> None:
        assert settings.backup_s3_bucket is not None
        self.bucket = settings.backup_s3_bucket
        self.prefix = settings.backup_s3_prefix
        self.client: S3Client = client or boto3.client(
            "s3",
            endpoint_url=settings.backup_s3_endpoint_url,
            region_name=settings.backup_s3_region,
            aws_access_key_id=(
                settings.backup_s3_access_key_id.get_secret_value()
                if settings.backup_s3_access_key_id
                else None
            ),
            aws_secret_access_key=(
                settings.backup_s3_secret_access_key.get_secret_value()
                if settings.backup_s3_secret_access_key
                else None
            ),
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def _key(self, filename: str) -> str:
        return self.prefix + filename

    def upload(self, path: Path) -> None:
        try:
            self.client.upload_file(str(path), self.bucket, self._key(path.name))
        except (BotoCoreError, ClientError) as exc:
            raise StorageFailure(f"upload of {path.name} failed: {exc}") from exc

    def verify_upload(self, path: Path) -> None:
        """The object is in the bucket with the local file's size (read back whole when it is
        small, as a manifest is); raises StorageFailure otherwise."""
        size = path.stat().st_size
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(path.name))
        except (BotoCoreError, ClientError) as exc:
            raise StorageFailure(
                f"{path.name} is not in the bucket after its upload: {exc}"
            ) from exc
        if head["ContentLength"] != size:
            raise StorageFailure(
                f"{path.name}: {head['ContentLength']} bytes in the bucket, {size} locally"
            )
        if size <= _READ_BACK_LIMIT and self.read_bytes(path.name) != path.read_bytes():
            raise StorageFailure(f"{path.name}: the copy in the bucket differs from the local one")

    def download(self, filename: str, destination: Path) -> bool:
        """False when the object does not exist."""
        try:
            self.client.download_file(self.bucket, self._key(filename), str(destination))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                return False
            raise StorageFailure(f"download of {filename} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageFailure(f"download of {filename} failed: {exc}") from exc
        return True

    def read_bytes(self, filename: str) -> bytes:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(filename))["Body"]
            return body.read()
        except (BotoCoreError, ClientError) as exc:
            raise StorageFailure(f"reading {filename} from S3 failed: {exc}") from exc

    def read(self, filename: str) -> str:
        return self.read_bytes(filename).decode()

    def names(self) -> list[str]:
        found: list[str] = []
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    key = item["Key"].removeprefix(self.prefix)
                    if key.endswith(MANIFEST_SUFFIX) and "/" not in key:
                        found.append(key.removesuffix(MANIFEST_SUFFIX))
        except (BotoCoreError, ClientError) as exc:
            raise StorageFailure(f"listing s3://{self.bucket}/{self.prefix} failed: {exc}") from exc
        return sorted(found)

    def delete(self, name: str) -> None:
        try:
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self._key(f)} for f in backup_files(name)]},
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageFailure(f"deleting {name} from S3 failed: {exc}") from exc
