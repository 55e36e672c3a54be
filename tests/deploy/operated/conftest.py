"""One production stack for every test in this package: everything an operator runs, as
.env.example sets it up (compose.prod.yml with the monitoring services and the log store,
pgBackRest with its repository in S3-compatible storage (a moto server of the test's own), the
backup profile), behind Pebble's certificates. Started once for the package (about 3 minutes)
and removed after its last test; the modules run in name order and each leaves the stack
serving: least privilege, the log store, monitoring, then point-in-time recovery, whose restore
rewinds the database (so it comes last).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pyrage
import pytest

from harness.compose import PGBACKREST
from harness.docker import docker_cmd
from harness.pitr import S3_OVERLAY, S3Store, pgbackrest_image, s3_key_secrets, s3_store
from harness.repository import REPO
from harness.stack import (
    ALERT_RECEIVER_URL,
    MONITORING_UID,
    ProductionStack,
    ReleaseImages,
    production_stack,
)
from tests.deploy.containers import AppImage
from tests.support.services import require_service

BACKUP_DOCKERFILE = REPO / "deploy" / "docker" / "backup" / "Dockerfile"
BUILD_TIMEOUT_S = 600
APP_UID = 10001  # deploy/secrets/create_secrets.py


@pytest.fixture(scope="package")
def store(base_images: dict[str, str]) -> Iterator[S3Store]:
    """The off-site object store: outside the Compose project, so `down -v` keeps it."""
    with s3_store(base_images["python"]) as found:
        yield found


@pytest.fixture(scope="package")
def backup_image(app_image: AppImage) -> Iterator[str]:
    """The backup service's image (deploy/docker/backup/), built FROM the app image."""
    tag = f"signupflow-backup:operated-{uuid.uuid4().hex[:8]}"
    docker_cmd(
        "build", "--quiet", "--file", str(BACKUP_DOCKERFILE), "--build-arg",
        f"APP_IMAGE={app_image.tag}", "--tag", tag, str(BACKUP_DOCKERFILE.parent),
        timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    try:
        yield tag
    finally:
        docker_cmd("image", "rm", "--force", tag, check=False)


@pytest.fixture(scope="package")
def stack(
    images: ReleaseImages, base_images: dict[str, str], store: S3Store, backup_image: str
) -> Iterator[ProductionStack]:
    if os.geteuid() != 0:
        require_service("the stack tests need root (secrets owned by the container users)")
    identity = pyrage.x25519.Identity.generate()
    env = {
        "COMPOSE_PROFILES": "backup",
        "BACKUP_IMAGE": backup_image,
        # The public key only: the server never holds the private one (docs/backups.md).
        "BACKUP_AGE_RECIPIENT": str(identity.to_public()),
        "PGBACKREST_POSTGRES_IMAGE": pgbackrest_image(base_images["postgres"]),
        **store.stack_env(),
    }
    secrets = {
        **s3_key_secrets(),
        # The logical backups stay local here: the schedule's first run is hours away, the
        # service serves its metrics during the tests (tests/backup covers S3).
        "backup_storage_access_key_id": ("unused", APP_UID),
        "backup_storage_secret_access_key": (uuid.uuid4().hex, APP_UID),
        "backup_alert_webhook_url": ("http://127.0.0.1:9/backup", APP_UID),
        # test_monitoring_stack.py starts the receiver.
        "alert_webhook_url": (ALERT_RECEIVER_URL, MONITORING_UID),
    }
    with production_stack(
        images,
        base_images,
        overlays=(PGBACKREST, S3_OVERLAY),
        extra_env=env,
        extra_secrets=secrets,
    ) as production:
        yield production
