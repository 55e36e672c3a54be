#!/usr/bin/env python3
"""Build SignUpFlow's local stand-in base images without a container registry.

Every image starts from one Debian bookworm root file system made by `debootstrap` and loaded
with `docker import`; the service images add Debian packages on top with `docker build`.

    python3 deploy/images/build_base_images.py                  # everything that is missing
    python3 deploy/images/build_base_images.py --only postgres  # one image (and its base)
    python3 deploy/images/build_base_images.py --force          # rebuild even if present

An image is skipped when it exists and was built from the same inputs (its recipe files and
its parent image), so running this twice is cheap. The root file system is cached as a tarball
(see --cache-dir), so re-importing the base takes seconds instead of a minute of debootstrap.
Standard library only: it runs on a bare operator machine. See deploy/images/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SUITE = "bookworm"
# Bump when the way the root file system is prepared changes, so cached tarballs are rebuilt.
ROOTFS_RECIPE = 1
ROOTFS_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates", "curl")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
INPUTS_LABEL = "org.signupflow.base.inputs"
DEBOOTSTRAP_TIMEOUT_S = 1200
BUILD_TIMEOUT_S = 900
DOCKER_TIMEOUT_S = 120


@dataclass(frozen=True)
class BaseImage:
    name: str
    ref: str
    stands_in_for: str
    recipe: Path | None  # a docker build context under deploy/images/, or None for the rootfs


PYTHON = BaseImage(
    "python", "signupflow-base/python:bookworm", "python:3.12-slim-bookworm (Python 3.11)", None
)
IMAGES: tuple[BaseImage, ...] = (
    PYTHON,
    BaseImage("postgres", "signupflow-base/postgres:15", "postgres:15-bookworm", HERE / "postgres"),
    BaseImage("redis", "signupflow-base/redis:7", "redis:7-bookworm", HERE / "redis"),
    BaseImage("caddy", "signupflow-base/caddy:2", "caddy:2", HERE / "caddy"),
    BaseImage(
        "pebble",
        "signupflow-base/pebble:latest",
        "ghcr.io/letsencrypt/pebble:latest + pebble-challtestsrv",
        HERE / "pebble",
    ),
    # The log store (compose.prod.yml `logstore`, docs/logs.md): no upstream image has it.
    BaseImage(
        "logstore",
        "signupflow-base/logstore:8",
        "signupflow's log store (Debian rsyslog 8 + signupflow-logs)",
        HERE / "logstore",
    ),
)
BY_NAME = {image.name: image for image in IMAGES} | {image.ref: image for image in IMAGES}


class BuildError(Exception):
    pass


def log(message: str) -> None:
    print(message, flush=True)


def default_cache_dir() -> Path:
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "signupflow-rootfs"
    if os.geteuid() == 0:
        return Path("/var/cache/signupflow-rootfs")
    return Path.home() / ".cache" / "signupflow-rootfs"


def default_docker() -> str:
    # The engine's own CLI; a newer CLI earlier on PATH may not speak this engine's API.
    return "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"


# --- apt sources -------------------------------------------------------------------------------


def host_apt_sources(suite: str) -> list[tuple[str, str]]:
    """(uri, suite) pairs for `suite`, `suite-updates` and `suite-security` known to this host."""
    found: list[tuple[str, str]] = []
    wanted = {suite, f"{suite}-updates", f"{suite}-security"}
    sources_dir = Path("/etc/apt/sources.list.d")
    deb822 = sorted(sources_dir.glob("*.sources")) if sources_dir.is_dir() else []
    for path in deb822:
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            if "main" not in fields.get("components", "").split():
                continue
            for uri in fields.get("uris", "").split():
                found += [(uri, s) for s in fields.get("suites", "").split() if s in wanted]
    one_line = [Path("/etc/apt/sources.list"), *sorted(sources_dir.glob("*.list"))]
    for path in one_line:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            parts = re.sub(r"\[[^]]*\]", "", line).split()
            if len(parts) >= 4 and parts[0] == "deb" and parts[2] in wanted and "main" in parts:
                found.append((parts[1], parts[2]))
    return list(dict.fromkeys(found))


def plan_sources(suite: str, mirror: str | None) -> list[tuple[str, str]]:
    if mirror:
        return [(mirror, suite), (mirror, f"{suite}-updates")]
    sources = host_apt_sources(suite)
    if not any(s == suite for _, s in sources):
        raise BuildError(
            f"no Debian mirror for {suite} in /etc/apt/sources.list(.d); pass --mirror URL"
        )
    return sources


# --- docker ------------------------------------------------------------------------------------


def run(cmd: list[str], *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    try:
        # Commands are made of constants and this script's own arguments, never of input.
        return subprocess.run(cmd, text=True, timeout=timeout, check=False, **kwargs)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"timed out after {timeout:.0f} s: {' '.join(cmd[:4])} ...") from exc


def image_inputs(docker: str, ref: str) -> str | None:
    """The inputs label of an existing image ("" if unlabelled), or None if it does not exist."""
    result = run(
        [docker, "image", "inspect", "--format", "{{json .Config.Labels}}", ref],
        timeout=DOCKER_TIMEOUT_S,
        capture_output=True,
    )
    if result.returncode != 0:
        return None
    labels = json.loads(result.stdout or "null") or {}
    return str(labels.get(INPUTS_LABEL, ""))


def image_id(docker: str, ref: str) -> str:
    result = run(
        [docker, "image", "inspect", "--format", "{{.Id}}", ref],
        timeout=DOCKER_TIMEOUT_S,
        capture_output=True,
    )
    if result.returncode != 0:
        raise BuildError(f"{ref} does not exist")
    return result.stdout.strip()


def check_engine(docker: str) -> None:
    result = run(
        [docker, "version", "--format", "{{.Server.Version}}"],
        timeout=30,
        capture_output=True,
    )
    if result.returncode != 0:
        raise BuildError(f"the Docker engine does not answer ({docker}): {result.stderr.strip()}")


# --- the root file system ----------------------------------------------------------------------


def rootfs_key(suite: str, ca_bundle: Path | None) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([ROOTFS_RECIPE, suite, sorted(ROOTFS_PACKAGES)]).encode())
    if ca_bundle is not None:
        digest.update(ca_bundle.read_bytes())
    return digest.hexdigest()[:16]


def _pem_blocks(text: str) -> dict[str, str]:
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    return {re.sub(r"\s", "", block): block for block in blocks}


def _unmount_below(path: Path) -> None:
    # debootstrap mounts /proc and /sys inside the target; a failed run can leave them mounted,
    # and deleting the tree then would walk into the host's /proc.
    resolved = str(path.resolve())
    mounts = [
        line.split()[1]
        for line in Path("/proc/mounts").read_text().splitlines()
        if len(line.split()) > 1
    ]
    for mount in sorted(
        (m for m in mounts if m == resolved or m.startswith(resolved + "/")), reverse=True
    ):
        subprocess.run(["umount", "-l", mount], check=False, timeout=60)


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _remove_tree(path: Path) -> None:
    if path.exists():
        _unmount_below(path)
        shutil.rmtree(path)


def prepare_rootfs(rootfs: Path, *, sources: list[tuple[str, str]], ca_bundle: Path | None) -> None:
    """Make the debootstrap'd tree look like a Debian container image."""
    etc = rootfs / "etc"
    (etc / "apt" / "sources.list").write_text(
        "".join(f"deb {uri} {suite} main\n" for uri, suite in sources)
    )
    # As debian:*-slim: no documentation, manual pages or translations, now or in later layers
    # (copyright files stay).
    (etc / "dpkg" / "dpkg.cfg.d" / "docker-nodoc").write_text(
        "path-exclude /usr/share/doc/*\n"
        "path-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\n"
        "path-exclude /usr/share/info/*\n"
        "path-exclude /usr/share/locale/*\n"
        "path-include /usr/share/locale/locale.alias\n"
        "path-exclude /usr/share/lintian/*\n"
    )
    (etc / "apt" / "apt.conf.d" / "docker-clean").write_text(
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";\n'
    )
    (etc / "apt" / "apt.conf.d" / "docker-no-languages").write_text('Acquire::Languages "none";\n')
    share = rootfs / "usr" / "share"
    for item in (share / "doc").glob("*/*"):
        if item.name != "copyright":
            _delete(item)
    for item in [*(share / "man").glob("*"), *(share / "info").glob("*")]:
        _delete(item)
    for item in (share / "locale").glob("*"):
        if item.name != "locale.alias":
            _delete(item)
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*"):
        for item in rootfs.glob(pattern):
            if item.is_file():
                item.unlink()
    for logfile in (rootfs / "var" / "log").rglob("*"):
        if logfile.is_file():
            logfile.write_bytes(b"")
    if ca_bundle is not None:
        # Downloads may pass through a TLS-intercepting proxy whose CA only this host trusts.
        # Certificates the image does not already have go to /usr/local/share/ca-certificates,
        # so update-ca-certificates in a later layer keeps them.
        image_bundle = etc / "ssl" / "certs" / "ca-certificates.crt"
        known = _pem_blocks(image_bundle.read_text()) if image_bundle.exists() else {}
        extra = [b for k, b in _pem_blocks(ca_bundle.read_text()).items() if k not in known]
        local = rootfs / "usr" / "local" / "share" / "ca-certificates"
        local.mkdir(parents=True, exist_ok=True)
        for index, block in enumerate(extra):
            (local / f"host-extra-{index}.crt").write_text(block + "\n")
        shutil.copyfile(ca_bundle, image_bundle)
        log(f"  trusted {len(extra)} certificate(s) from {ca_bundle} not in Debian's set")


def build_rootfs_tarball(
    target: Path, *, suite: str, sources: list[tuple[str, str]], ca_bundle: Path | None
) -> None:
    if os.geteuid() != 0:
        raise BuildError("debootstrap needs root: run this as root (or with sudo)")
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed (apt-get install debootstrap)")
    mirror = next(uri for uri, s in sources if s == suite)
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=target.parent))
    rootfs = work / "rootfs"
    log_path = target.parent / "debootstrap.log"
    try:
        log(f"  debootstrap {suite} from {mirror} (log: {log_path})")
        with log_path.open("w") as log_file:
            result = run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(ROOTFS_PACKAGES)}",
                    suite,
                    str(rootfs),
                    mirror,
                ],
                timeout=DEBOOTSTRAP_TIMEOUT_S,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        if result.returncode != 0:
            tail = "\n".join(log_path.read_text().splitlines()[-15:])
            raise BuildError(f"debootstrap failed (exit {result.returncode}):\n{tail}")
        _unmount_below(rootfs)
        prepare_rootfs(rootfs, sources=sources, ca_bundle=ca_bundle)
        partial = work / "rootfs.tar"
        result = run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
            timeout=DEBOOTSTRAP_TIMEOUT_S,
            capture_output=True,
        )
        if result.returncode != 0:
            raise BuildError(f"tar failed: {result.stderr.strip()}")
        partial.replace(target)
    finally:
        _remove_tree(work)


def import_python_base(docker: str, tarball: Path, *, inputs: str) -> None:
    changes = [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        f"LABEL {INPUTS_LABEL}={inputs}",
        f'LABEL org.opencontainers.image.description="Stand-in for {PYTHON.stands_in_for}"',
        'CMD ["python3"]',
    ]
    cmd = [docker, "import", *[arg for c in changes for arg in ("--change", c)], "-", PYTHON.ref]
    with tarball.open("rb") as stream:
        result = run(cmd, timeout=BUILD_TIMEOUT_S, stdin=stream, capture_output=True)
    if result.returncode != 0:
        raise BuildError(f"docker import failed: {result.stderr.strip()}")


# --- service images ----------------------------------------------------------------------------


def recipe_inputs(docker: str, image: BaseImage) -> str:
    assert image.recipe is not None
    digest = hashlib.sha256(image_id(docker, PYTHON.ref).encode())
    for path in sorted(p for p in image.recipe.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(image.recipe)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build_service_image(docker: str, image: BaseImage, *, inputs: str) -> None:
    assert image.recipe is not None
    cmd = [
        docker,
        "build",
        "--build-arg",
        f"BASE_IMAGE={PYTHON.ref}",
        "--label",
        f"{INPUTS_LABEL}={inputs}",
        "--tag",
        image.ref,
        str(image.recipe),
    ]
    result = run(cmd, timeout=BUILD_TIMEOUT_S, capture_output=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise BuildError(f"docker build of {image.ref} failed:\n{tail}")


# --- orchestration -----------------------------------------------------------------------------


@contextlib.contextmanager
def exclusive(cache_dir: Path) -> Iterator[None]:
    # Two test sessions (or an operator and a test run) must not debootstrap into one cache.
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another build using {cache_dir} ...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        # Work trees of a build that was killed (they may even hold debootstrap's mounts).
        for stale in cache_dir.glob("rootfs-*"):
            if stale.is_dir():
                _remove_tree(stale)
        yield


def selected(names: list[str] | None) -> list[BaseImage]:
    if not names:
        return list(IMAGES)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        choices = ", ".join(i.name for i in IMAGES)
        raise BuildError(f"unknown image(s) {', '.join(unknown)}; choose from {choices}")
    wanted = {BY_NAME[n] for n in names}
    return [image for image in IMAGES if image in wanted]


def ensure_python_base(args: argparse.Namespace) -> str:
    """Import the Python base if missing or stale; return what happened."""
    ca_bundle = None if args.no_host_ca or not args.ca_bundle.exists() else args.ca_bundle
    key = rootfs_key(args.suite, ca_bundle)
    if not args.force and image_inputs(args.docker, PYTHON.ref) == key:
        return "up to date"
    tarball = args.cache_dir / f"rootfs-{args.suite}-{key}.tar"
    if args.force or not tarball.exists():
        sources = plan_sources(args.suite, args.mirror)
        build_rootfs_tarball(tarball, suite=args.suite, sources=sources, ca_bundle=ca_bundle)
        for stale in args.cache_dir.glob(f"rootfs-{args.suite}-*.tar"):
            if stale != tarball:
                stale.unlink()
        how = "debootstrap + import"
    else:
        how = f"imported from cache {tarball.name}"
    import_python_base(args.docker, tarball, inputs=key)
    return how


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="build only this image (repeatable): " + ", ".join(i.name for i in IMAGES),
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--list", action="store_true", help="list the images and exit")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--mirror", help="Debian mirror URL (default: this host's apt sources)")
    parser.add_argument("--suite", default=SUITE)
    parser.add_argument("--docker", default=default_docker(), help="docker CLI to use")
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        default=HOST_CA_BUNDLE,
        help="CA bundle to trust inside the images (default: this host's)",
    )
    parser.add_argument("--no-host-ca", action="store_true", help="keep Debian's CA set unchanged")
    args = parser.parse_args(argv)

    if args.list:
        for image in IMAGES:
            log(f"{image.name:9} {image.ref:32} stands in for {image.stands_in_for}")
        return 0
    # SIGTERM unwinds like an exception: the running command is killed and work trees removed.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(128 + signal.SIGTERM))
    started = time.monotonic()
    try:
        images = selected(args.only)
        check_engine(args.docker)
        with exclusive(args.cache_dir):
            # Every service image is built on the Python base, so it comes first.
            if any(image.recipe for image in images) and PYTHON not in images:
                images.insert(0, PYTHON)
            for image in images:
                begun = time.monotonic()
                if image is PYTHON:
                    outcome = ensure_python_base(args)
                else:
                    inputs = recipe_inputs(args.docker, image)
                    if not args.force and image_inputs(args.docker, image.ref) == inputs:
                        outcome = "up to date"
                    else:
                        build_service_image(args.docker, image, inputs=inputs)
                        outcome = "built"
                elapsed = time.monotonic() - begun
                log(f"{image.ref:32} {outcome:34} {elapsed:6.1f} s  ({image.stands_in_for})")
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
