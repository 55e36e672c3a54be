"""The command line: arguments, settings, and one function per command."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from .deployer import Deployer
from .envfile import check_writable, read_env_file
from .lock import DeployLock, LockHeld
from .maintenance import set_maintenance
from .pitr import BACKUP_KINDS, TARGET_EXAMPLE, BadTarget, PointInTime, parse_target
from .records import Deployment, Records
from .recovery import recover
from .runner import DeployError, Runner, say
from .settings import Settings
from .watch import watch

HERE = Path(__file__).resolve().parent.parent  # deploy/
DEFAULT_FILES = (HERE / "compose" / "compose.prod.yml",)
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
# Commands that change the stack: each takes the lock and first finishes or undoes a
# deployment that was interrupted (recovery.py).
CHANGING = ("deploy", "rollback", "recover", "reload-edge", "backup", "restore", "maintenance")


def default_state_dir() -> Path:
    if os.environ.get("DEPLOY_STATE_DIR"):
        return Path(os.environ["DEPLOY_STATE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/signupflow-deploy")
    return Path.home() / ".local" / "state" / "signupflow-deploy"


def default_compose(docker: list[str]) -> list[str]:
    try:
        plugin = subprocess.run(
            [*docker, "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if plugin.returncode == 0:
            return [*docker, "compose"]
    except (OSError, subprocess.TimeoutExpired):
        pass
    return ["docker-compose"]


def compose_files(compose_env: dict[str, str], directory: Path) -> list[Path]:
    """COMPOSE_FILE (relative to the env file's directory, as `docker compose` run there
    reads it), else compose.prod.yml alone."""
    listed = compose_env.get("COMPOSE_FILE", "").strip()
    if not listed:
        return [path.resolve() for path in DEFAULT_FILES]
    separator = compose_env.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    files = [(directory / name.strip()).resolve() for name in listed.split(separator) if name]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise DeployError(f"COMPOSE_FILE names files that do not exist: {', '.join(missing)}")
    return files


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deploy.py",
        description="Zero-downtime deploys of SignUpFlow's app replicas behind the Caddy edge.",
    )
    parser.add_argument(
        "-f",
        "--file",
        dest="files",
        action="append",
        type=Path,
        help="compose file (repeat; default compose.prod.yml)",
    )
    parser.add_argument(
        "-p",
        "--project",
        default=os.environ.get("COMPOSE_PROJECT_NAME"),
        help="Compose project (default: COMPOSE_PROJECT_NAME, else signupflow)",
    )
    parser.add_argument("--env-file", type=Path, help="passed to compose (default: its .env)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="lock, history and state (default: DEPLOY_STATE_DIR, else "
        "/var/lib/signupflow-deploy as root, else ~/.local/state/signupflow-deploy)",
    )
    parser.add_argument("--docker", default=os.environ.get("DOCKER", "docker"))
    parser.add_argument(
        "--compose", help="compose command (default: `docker compose`, else docker-compose)"
    )
    parser.add_argument("--service", default="app")
    parser.add_argument("--edge-service", default="edge")
    parser.add_argument("--migrate-service", default="migrate")
    parser.add_argument(
        "--lock-ttl",
        type=float,
        default=120,
        help="seconds a lock outlives its holder's last heartbeat (default 120)",
    )
    parser.add_argument(
        "--lock-wait",
        type=float,
        default=0,
        help="seconds to wait for another deploy's lock (default 0: refuse at once)",
    )
    parser.add_argument("--ready-timeout", type=float, default=120)
    parser.add_argument(
        "--verify-url",
        default=os.environ.get("DEPLOY_VERIFY_URL"),
        help="checked through the edge after the switch (default: "
        "https://<first of DOMAINS>/health/live)",
    )
    parser.add_argument(
        "--verify-connect",
        help="HOST:PORT to connect to instead of resolving the URL's host (default: "
        "EDGE_BIND:HTTPS_PORT when the URL is derived from DOMAINS)",
    )
    parser.add_argument("--verify-cacert", type=Path, help="CA bundle for --verify-url")
    parser.add_argument("--verify-timeout", type=float, default=30)
    parser.add_argument("--no-verify", action="store_true", help="skip the check through the edge")
    parser.add_argument(
        "--watch-window",
        type=float,
        default=float(os.environ.get("DEPLOY_WATCH_WINDOW", 60)),
        help="seconds of probes through the edge after the cut-over; a release that crosses "
        "a threshold meanwhile is undone (default: DEPLOY_WATCH_WINDOW, else 60; 0: none)",
    )
    parser.add_argument(
        "--watch-max-error-rate",
        type=float,
        default=0.05,
        help="share of failed probes (5xx, no answer) over the last 20 that undoes the "
        "deploy (default 0.05)",
    )
    parser.add_argument(
        "--watch-max-p99",
        type=float,
        default=2.0,
        help="probe p99 latency in seconds that undoes the deploy (default 2.0)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    deploy = commands.add_parser("deploy", help="deploy an image (already on this host)")
    deploy.add_argument("image")
    deploy.add_argument(
        "--release",
        help="release name for /health and error reports (default: the image's RELEASE, "
        "else its OCI version label, else the image reference)",
    )
    deploy.add_argument("--replicas", type=int, help="default: as many as now serve, else 2")
    deploy.add_argument("--skip-migrations", action="store_true")
    deploy.add_argument(
        "--worker-image",
        help="also replace the worker with this image (the solver build), after the app",
    )
    commands.add_parser("rollback", help="deploy the previous release again (no migrations)")
    history = commands.add_parser("history", help="list deployments")
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--json", action="store_true", help="one JSON object per line")
    commands.add_parser(
        "reload-edge",
        help="put every ready replica in the edge's rotation (after `compose up` created "
        "replicas outside a deploy); the edge itself is not reloaded",
    )
    commands.add_parser(
        "recover",
        help="finish or undo a deployment that was interrupted (every changing command "
        "does this first)",
    )
    backup = commands.add_parser(
        "backup", help="take a pgBackRest backup now (compose.pgbackrest.yml's sidecar)"
    )
    backup.add_argument("--type", dest="backup_type", choices=BACKUP_KINDS, default="full")
    restore = commands.add_parser(
        "restore",
        help="restore PostgreSQL with pgBackRest (to --target, else to the last archived WAL), "
        "with the edge in maintenance meanwhile; also rebuilds a stack on a new host",
    )
    restore.add_argument(
        "--target", help=f"a time in the past with its zone, e.g. '{TARGET_EXAMPLE}'"
    )
    restore.add_argument("--yes", action="store_true", help="do not ask: the database is replaced")
    restore.add_argument(
        "--recovery-timeout",
        type=float,
        default=3600,
        help="seconds PostgreSQL may take to replay WAL (default 3600)",
    )
    restore.add_argument(
        "--up-timeout",
        type=float,
        default=600,
        help="seconds for the rest of the stack to be healthy again (default 600)",
    )
    maintenance = commands.add_parser(
        "maintenance", help="the edge answers every request with 503 (on) or serves (off)"
    )
    maintenance.add_argument("state", choices=("on", "off"))
    watcher = commands.add_parser(
        "watch", help="start containers that should run but were stopped outside a deploy"
    )
    watcher.add_argument("--interval", type=float, default=2.0)
    return parser.parse_args(argv)


def build_settings(args: argparse.Namespace) -> tuple[Settings, Runner]:
    env_file = args.env_file.resolve() if args.env_file else None
    given = [path.resolve() for path in args.files or ()]
    # Where Compose reads its variables, and where the tool records the release the stack runs.
    release_env = env_file or (given or DEFAULT_FILES)[0].parent / ".env"
    if args.command in CHANGING:
        check_writable(release_env)
    compose_env = {**read_env_file(release_env), **os.environ}
    files = given or compose_files(compose_env, release_env.parent)
    project = (args.project or compose_env.get("COMPOSE_PROJECT_NAME") or "signupflow").lower()
    state_dir = (args.state_dir or default_state_dir()) / project
    verify_url, verify_connect = args.verify_url, args.verify_connect
    domains = [d.strip() for d in compose_env.get("DOMAINS", "").split(",") if d.strip()]
    if args.no_verify or args.command not in CHANGING:
        verify_url = None
    elif not verify_url and not domains and args.command in ("deploy", "rollback"):
        raise DeployError("give --verify-url (or DOMAINS in the environment), or --no-verify")
    elif not verify_url and domains:
        verify_url = f"https://{domains[0]}/health/live"
        if not verify_connect:
            bind = compose_env.get("EDGE_BIND") or "127.0.0.1"
            bind = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind  # noqa: S104
            verify_connect = f"{bind}:{compose_env.get('HTTPS_PORT') or 443}"
    docker = shlex.split(args.docker)
    compose = shlex.split(args.compose) if args.compose else default_compose(docker)
    compose += ["--ansi", "never", "--progress", "plain", "--project-name", project]
    for path in files:
        compose += ["--file", str(path)]
    if env_file:
        compose += ["--env-file", str(env_file)]
    settings = Settings(
        project=project,
        files=files,
        env_file=env_file,
        release_env=release_env,
        state_dir=state_dir,
        service=args.service,
        edge_service=args.edge_service,
        migrate_service=args.migrate_service,
        lock_ttl=args.lock_ttl,
        lock_wait=args.lock_wait,
        ready_timeout=args.ready_timeout,
        verify_url=verify_url,
        verify_connect=verify_connect,
        verify_cacert=args.verify_cacert,
        verify_timeout=args.verify_timeout,
        watch_window=args.watch_window,
        watch_max_error_rate=args.watch_max_error_rate,
        watch_max_p99=args.watch_max_p99,
    )
    return settings, Runner(docker=docker, compose=compose, env=dict(os.environ))


def print_history(records: Records, *, limit: int, as_json: bool) -> None:
    entries = records.entries()[-limit:]
    if as_json:
        for entry in entries:
            print(json.dumps(entry, sort_keys=True))
        return
    if not entries:
        print("no deployments recorded in", records.history)
        return
    print(f"{'started (UTC)':25} {'kind':8} {'release':14} {'result':11} {'total':>7} {'undo':>6}")
    for entry in entries:
        durations = entry.get("durations") or {}
        total = durations.get("total")
        undo = durations.get("rollback")
        print(
            f"{entry.get('started_at', '?'):25} {entry.get('kind', '?'):8} "
            f"{(entry.get('release') or entry.get('image', '?'))[:14]:14} "
            f"{entry.get('result', '?'):11} "
            f"{f'{total:.1f}s' if total is not None else '-':>7} "
            f"{f'{undo:.1f}s' if undo is not None else '-':>6}"
        )
        if entry.get("error"):
            print(f"{'':25} {entry['error'].splitlines()[0][:100]}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings, runner = build_settings(args)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    deployer = Deployer(runner, settings)
    if args.command == "history":
        print_history(deployer.records, limit=args.limit, as_json=args.json)
        return 0
    if args.command == "watch":
        return watch(runner, settings, interval=args.interval)

    def interrupted(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"received signal {signum}")

    # SIGTERM (a closed session, a CI timeout) undoes the deploy like any other failure.
    signal.signal(signal.SIGTERM, interrupted)
    target = None
    if args.command == "restore":
        try:
            target = parse_target(args.target, now=datetime.now(UTC)) if args.target else None
        except BadTarget as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if not args.yes and not confirmed(settings.project, target):
            print("error: not confirmed; pass --yes to restore without asking", file=sys.stderr)
            return EXIT_USAGE
    args.parsed_target = target
    command = " ".join([args.command, getattr(args, "image", "")]).strip()
    lock = DeployLock(settings.state_dir / "deploy.lock", ttl=settings.lock_ttl, command=command)
    try:
        lock.acquire(wait=settings.lock_wait)
    except LockHeld as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    try:
        return run_changing(args, deployer, lock)
    finally:
        lock.release()


def run_changing(args: argparse.Namespace, deployer: Deployer, lock: DeployLock) -> int:
    try:
        recovered = recover(deployer, lock)
    except DeployError as exc:
        print(f"error: cannot recover the interrupted deployment: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.command == "recover":
        if recovered is None:
            say("nothing to recover: no deployment was interrupted")
            return 0
        return EXIT_FAILED if recovered.result == "failed" else 0
    if recovered is not None and recovered.result == "failed":
        print("error: the interrupted deployment needs attention first", file=sys.stderr)
        return EXIT_FAILED
    if args.command in ("backup", "restore", "maintenance"):
        return run_pitr(args, deployer, lock)
    if args.command == "reload-edge":
        try:
            names = deployer.reload_edge(lock)
        except DeployError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        say("edge now proxies to " + ", ".join(names))
        return 0
    deployment: Deployment
    if args.command == "rollback":
        try:
            target = deployer.rollback_target()
        except DeployError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        say(f"rolling back to {target.describe()}")
        deployment = deployer.run_deploy(
            target.image,
            release=target.release,
            replicas=None,
            migrate=False,
            kind="rollback",
            lock=lock,
        )
    else:
        deployment = deployer.run_deploy(
            args.image,
            release=args.release,
            replicas=args.replicas,
            migrate=not args.skip_migrations,
            kind="deploy",
            lock=lock,
            worker_image=args.worker_image,
        )
    say(f"{deployment.kind} {deployment.release}: {deployment.result} in "
        f"{deployment.durations.get('total', 0):.1f} s")  # fmt: skip
    return 0 if deployment.result == "succeeded" else EXIT_FAILED


def confirmed(project: str, target: datetime | None) -> bool:
    if not sys.stdin.isatty():
        return False
    until = target.isoformat() if target else "the last archived WAL"
    print(f"This replaces the database of project {project} with its state at {until}; "
          "anything written later is lost.")  # fmt: skip
    return input(f"Type the project name ({project}) to go on: ").strip() == project


def run_pitr(args: argparse.Namespace, deployer: Deployer, lock: DeployLock) -> int:
    pitr = PointInTime(deployer)
    try:
        if args.command == "maintenance":
            set_maintenance(deployer.edge, on=args.state == "on", reason="by hand")
        elif args.command == "backup":
            pitr.backup(args.backup_type)
        else:
            report = pitr.restore(
                args.parsed_target,
                lock,
                recovery_timeout=args.recovery_timeout,
                up_timeout=args.up_timeout,
            )
            say(report.describe())
    except BadTarget as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.command == "restore":
            print(
                "error: the edge stays in maintenance; fix the cause and run restore again, "
                "or end it with `deploy.py maintenance off`",
                file=sys.stderr,
            )
        return EXIT_FAILED
    return 0
