"""What the images are made of: exactly the packages their lock pins (deploy/docker/*.lock), at
those versions, and an SBOM inside each image that is valid CycloneDX and lists the same
packages. Asserted on the web and worker images the session already builds."""

from __future__ import annotations

import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from harness.docker import docker_cmd
from harness.repository import REPO, script_module
from tests.deploy.containers import AppImage

LOCK_DIR = REPO / "deploy" / "docker"
SBOM_PATH = "/opt/signupflow/sbom.cdx.json"
IMAGES = pytest.mark.parametrize(
    ("fixture", "lock"),
    [("app_image", "requirements.lock"), ("worker_image", "requirements-solver.lock")],
    ids=["web", "worker"],
)

# The interpreter's values for environment markers (PEP 508), as packaging computes them;
# packaging itself is not in the image.
MARKER_ENVIRONMENT = """
import json, os, platform, sys
v = sys.implementation.version
implementation_version = f"{v.major}.{v.minor}.{v.micro}" + (
    "" if v.releaselevel == "final" else v.releaselevel[0] + str(v.serial))
print(json.dumps({
    "implementation_name": sys.implementation.name,
    "implementation_version": implementation_version,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}))
"""

INSTALLED = """
import importlib.metadata, json
installed = importlib.metadata.distributions()
print(json.dumps(sorted([d.metadata["Name"], d.version] for d in installed)))
"""


LOCKS = script_module(LOCK_DIR / "locks.py", "image_locks")


def run_python(image: AppImage, script: str) -> str:
    return docker_cmd("run", "--rm", "--entrypoint", "python", image.tag, "-c", script).stdout


def locked_for(image: AppImage, lock: str) -> dict[str, str]:
    """The lock's pins whose markers hold for the image's interpreter: what pip installed."""
    environment = json.loads(run_python(image, MARKER_ENVIRONMENT))
    pinned: dict[str, str] = {}
    for (name, marker), version in LOCKS.pins(LOCK_DIR / lock).items():
        if marker is None or Marker(marker).evaluate(environment):
            assert name not in pinned, f"{name} pinned twice for one Python"
            pinned[name] = version
    return pinned


@IMAGES
def test_image_holds_exactly_the_packages_its_lock_pins(
    fixture: str, lock: str, request: pytest.FixtureRequest
) -> None:
    image: AppImage = request.getfixturevalue(fixture)
    listed = json.loads(run_python(image, INSTALLED))
    installed: dict[str, str] = {canonicalize_name(name): version for name, version in listed}
    assert installed.pop("signupflow") == image.version
    # No pip, no setuptools, nothing resolved at build time: the lock, to the version.
    assert installed == locked_for(image, lock)


@IMAGES
def test_image_sbom_is_cyclonedx_listing_every_locked_package_at_its_version(
    fixture: str, lock: str, request: pytest.FixtureRequest
) -> None:
    image: AppImage = request.getfixturevalue(fixture)
    text = docker_cmd("run", "--rm", "--entrypoint", "cat", image.tag, SBOM_PATH).stdout
    sbom = json.loads(text)
    assert sbom["bomFormat"] == "CycloneDX"
    error = JsonStrictValidator(SchemaVersion.from_version(sbom["specVersion"])).validate_str(text)
    assert error is None, error
    root = sbom["metadata"]["component"]
    assert (root["name"], root["version"], root["type"]) == (
        "signupflow",
        image.version,
        "application",
    )
    listed = {canonicalize_name(c["name"]): c["version"] for c in sbom["components"]}
    assert len(listed) == len(sbom["components"])
    assert listed == locked_for(image, lock)
    for component in sbom["components"]:
        name = canonicalize_name(component["name"])
        assert component["purl"] == f"pkg:pypi/{name}@{component['version']}"
