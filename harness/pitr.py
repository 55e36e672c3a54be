"""Point-in-time recovery in the production stack, for tests: the tests' S3-compatible
object store (moto over HTTPS with a CA made per run), the PostgreSQL + pgBackRest image, and
the files and settings that put compose.pgbackrest.yml's repository 1 on that store.

The store is a container outside the Compose project, on a network of its own that the
stack joins (compose.s3test.yml): it outlives `down -v`, as off-site storage outlives a host.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.docker import docker_cmd
from harness.repository import REPO

MOTO_DIR = REPO / "harness" / "moto"
S3_OVERLAY = REPO / "harness" / "compose.s3test.yml"
POSTGRES_DOCKERFILE = REPO / "deploy" / "docker" / "postgres" / "Dockerfile"
S3_HOST = "s3.signupflow.test"
BUCKET = "signupflow-pitr"
REGION = "eu-west-1"
POSTGRES_UID = 999
BUILD_TIMEOUT_S = 600
READY_TIMEOUT_S = 60
# Probes the store from inside its own container (boto3 comes with moto), over TLS verified
# against the test CA.
S3_CLIENT = f"""\
import json, sys, boto3
REGION = {REGION!r}
s3 = boto3.client("s3", endpoint_url="https://localhost", region_name=REGION,
                  aws_access_key_id="k", aws_secret_access_key="s", verify="/certs/ca.pem")
command = sys.argv[1]
if command == "create":
    s3.create_bucket(Bucket=sys.argv[2], CreateBucketConfiguration={{"LocationConstraint": REGION}})
elif command == "list":
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2])
    print(json.dumps([o["Key"] for page in pages for o in page.get("Contents", [])]))
"""


def moto_image(python_base: str) -> str:
    """Tagged after the Dockerfile's content: a second run only hits the cache."""
    inputs = b"".join(
        (MOTO_DIR / name).read_bytes() for name in ("Dockerfile", "Caddyfile", "start.sh")
    )
    digest = hashlib.sha256(inputs).hexdigest()[:12]
    tag = f"signupflow-test-moto:{digest}"
    docker_cmd(
        "build", "--quiet", "--build-arg", f"BASE_IMAGE={python_base}", "--tag", tag,
        str(MOTO_DIR), timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    return tag


def pgbackrest_image(postgres_base: str) -> str:
    tag = "signupflow-postgres:pitr-test"
    docker_cmd(
        "build", "--quiet", "--file", str(POSTGRES_DOCKERFILE),
        "--build-arg", f"BASE_IMAGE={postgres_base}", "--tag", tag, str(REPO / "deploy"),
        timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    return tag


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], capture_output=True, timeout=60, check=True)


def make_test_ca(directory: Path) -> Path:
    """A CA and a server certificate for S3_HOST (and localhost) signed by it; the CA's
    certificate path."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=SignUpFlow test CA", "-keyout", str(ca_key), "-out", str(ca),
    )  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={S3_HOST}",
             "-keyout", str(key), "-out", str(csr))  # fmt: skip
    extensions = directory / "san.cnf"
    extensions.write_text(f"subjectAltName=DNS:{S3_HOST},DNS:localhost,IP:127.0.0.1\n")
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(cert),
    )  # fmt: skip
    for path in directory.iterdir():
        path.chmod(0o644)  # read by the store (root) and pgBackRest (uid 999) alike
    return ca


@dataclass
class S3Store:
    container: str
    network: str
    ca_file: Path
    bucket: str = BUCKET

    def client(self, *args: str) -> str:
        return docker_cmd(
            "exec", self.container, "/opt/moto/bin/python", "-c", S3_CLIENT, *args
        ).stdout

    def keys(self) -> list[str]:
        return list(json.loads(self.client("list", self.bucket)))

    def stack_env(self) -> dict[str, str]:
        """compose.pgbackrest.yml's settings for this store (plus compose.s3test.yml's)."""
        return {
            "PGBACKREST_S3_BUCKET": self.bucket,
            "PGBACKREST_S3_ENDPOINT": S3_HOST,
            "PGBACKREST_S3_REGION": REGION,
            "PGBACKREST_S3_URI_STYLE": "path",
            "S3_TEST_NETWORK": self.network,
            "S3_TEST_CA_FILE": str(self.ca_file),
        }


def s3_key_secrets() -> dict[str, tuple[str, int]]:
    """The object store's keys, as an operator copies them from the provider (moto accepts
    any), owned by the postgres uid like the other pgBackRest secrets: `extra_secrets` of
    harness.stack.production_stack."""
    return {
        "pgbackrest_s3_key": (f"AKIA{uuid.uuid4().hex[:16].upper()}", POSTGRES_UID),
        "pgbackrest_s3_key_secret": (uuid.uuid4().hex + uuid.uuid4().hex, POSTGRES_UID),
    }


@contextmanager
def s3_store(python_base: str) -> Iterator[S3Store]:
    """moto over HTTPS as S3_HOST on a network of its own, with BUCKET created; removed (with
    its test CA) afterwards."""
    image = moto_image(python_base)
    workdir = Path(tempfile.mkdtemp(prefix="sf-s3-"))
    certs = workdir / "s3-certs"
    suffix = uuid.uuid4().hex[:8]
    network, container = f"sf-s3-{suffix}", f"sf-s3-{suffix}"
    try:
        ca = make_test_ca(certs)
        docker_cmd("network", "create", network)
        docker_cmd(
            "run", "--detach", "--name", container, "--network", network,
            "--network-alias", S3_HOST, "--volume", f"{certs}:/certs:ro",
            # Otherwise moto reads the first label of the host name as a bucket (virtual-host
            # style); pgBackRest sends path-style requests (PGBACKREST_S3_URI_STYLE=path).
            "--env",
            f"MOTO_S3_CUSTOM_ENDPOINTS=https://{S3_HOST},http://{S3_HOST},https://{S3_HOST}:443",
            image,
        )  # fmt: skip
        store = S3Store(container, network, ca)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            created = docker_cmd(
                "exec", container, "/opt/moto/bin/python", "-c", S3_CLIENT, "create", BUCKET,
                check=False,
            )  # fmt: skip
            if created.returncode == 0:
                break
            if time.monotonic() > deadline:
                logs = docker_cmd("logs", container, check=False)
                raise AssertionError(
                    f"the S3 store did not start: {created.stderr[-2000:]}\n{logs.stderr[-2000:]}"
                )
            time.sleep(0.5)
        yield store
    finally:
        docker_cmd("rm", "--force", container, check=False)
        docker_cmd("network", "rm", network, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
