"""A deploy, step by step (the order and its reasons are in the package docstring)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from .edge import COLOURS, POLL_S, Edge, other_colour, verify_through_edge
from .envfile import RELEASE_KEYS, read_env_file, set_values
from .lock import DeployLock, LockRecord
from .observe import observe
from .records import Deployment, Records
from .runner import DeployError, Runner, now_iso, say
from .settings import Settings
from .stack import Container, Release, Stack

READY_STREAK = 2  # consecutive 200s from /health/ready before a replica gets traffic
WORKER_STEADY_S = 10  # a replaced worker must run this long without exiting or restarting
ROLLBACK_BUDGET_S = 300  # the bound: back on the previous release within 5 minutes
# For the crash-recovery tests: the tool ends at once (os._exit, no cleanup, as SIGKILL would)
# right after the named point: a step name, "begin", or "switch.edge" (new replicas in rotation, the
# release not yet recorded).
STOP_AFTER = "DEPLOY_STOP_AFTER"


def stop_point(name: str) -> None:
    if os.environ.get(STOP_AFTER) == name:
        say(f"stopping after {name} ({STOP_AFTER})")
        os._exit(137)


class Deployer:
    def __init__(self, runner: Runner, settings: Settings) -> None:
        self.runner = runner
        self.settings = settings
        self.stack = Stack(runner, settings)
        self.edge = Edge(runner, settings, self.stack)
        self.records = Records(settings.state_dir)

    # Steps record how long they took (the history keeps the figures), and each completed step
    # is journaled before the next begins (records.py), so an interrupted deploy can be
    # finished or undone by the next command (recovery.py).
    @contextlib.contextmanager
    def step(
        self, deployment: Deployment, name: str, lock: DeployLock | None
    ) -> Iterator[dict[str, Any]]:
        if lock is not None:
            lock.check()
        say(f"{name}: ...")
        started = time.monotonic()
        data: dict[str, Any] = {}
        try:
            yield data
        finally:
            elapsed = round(time.monotonic() - started, 2)
            deployment.durations[name] = elapsed
        self.records.journal_step(deployment.id, name, **data)
        say(f"{name}: done ({elapsed:.1f} s)")
        stop_point(name)

    def image(self, reference: str) -> tuple[str, dict[str, str], dict[str, str]]:
        """(id, env, labels) of a local image; never pulls."""
        result = self.runner.run(
            [*self.runner.docker, "image", "inspect", reference], timeout=60, check=False
        )
        if result.returncode != 0:
            raise DeployError(
                f"image {reference} is not on this host (docker pull or docker load it first)"
            )
        data = json.loads(result.stdout)[0]
        config = data.get("Config") or {}
        env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
        return data["Id"], env, config.get("Labels") or {}

    def survey(self) -> tuple[list[Container], list[Container]]:
        """(serving, leftovers): replicas in the edge's rotation and running, and every other
        app container (from an aborted deploy, a crash, or a manual `docker kill`)."""
        containers = self.stack.containers(self.settings.service)
        rotation = set(self.edge.rotation())
        serving = [c for c in containers if c.running and c.name in rotation]
        if not serving:
            # Nobody is in rotation (the replicas were re-created by hand): whatever
            # runs is all there is to keep, not leftovers to remove.
            serving = [c for c in containers if c.running]
        leftovers = [c for c in containers if c not in serving]
        return serving, leftovers

    def run_deploy(
        self,
        reference: str,
        *,
        release: str | None,
        replicas: int | None,
        migrate: bool,
        kind: str,
        lock: DeployLock,
        worker_image: str | None = None,
    ) -> Deployment:
        deployment = Deployment(
            id=datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6],
            kind=kind,
            image=reference,
            holder=lock.mine.holder,
        )
        started = time.monotonic()
        old: list[Container] = []
        new: list[Container] = []
        begun = switched = retired = False
        try:
            image_id, image_env, labels = self.image(reference)
            deployment.image_id = image_id
            deployment.release = release or (
                image_env.get("RELEASE")
                or labels.get("org.opencontainers.image.version")
                or reference
            )
            with self.step(deployment, "survey", lock):
                old, leftovers = self.survey()
                if leftovers:
                    say("removing leftovers: " + ", ".join(c.name for c in leftovers))
                    self.stack.stop(leftovers)
            if old:
                deployment.previous = asdict(self.release_of(old[0]))
            # The new replicas join the edge under the colour the old ones do not carry.
            old_colour = self.edge.serving_colour()
            colour = other_colour(old_colour or COLOURS[1])
            # From here on, what the deploy changes can be found and undone from the journal.
            self.begin(deployment, old, worker_image=worker_image, colour=colour)
            begun = True
            count = replicas or len(old) or 2
            say(
                f"{kind} {deployment.release} ({reference}): {count} new replica(s) beside "
                f"{', '.join(c.name for c in old) or 'none'}"
            )
            app_env = self.app_env(deployment.image, deployment.release)
            if migrate:
                with self.step(deployment, "migrate", lock):
                    self.runner.compose_run(
                        "run", "--rm", "--pull", "never", self.settings.migrate_service,
                        timeout=900, env=app_env,
                    )  # fmt: skip
            with self.step(deployment, "start", lock) as journal:
                before = {c.id for c in old}
                try:
                    self.runner.compose_run(
                        "up", "--detach", "--no-deps", "--no-recreate", "--pull", "never",
                        "--scale", f"{self.settings.service}={len(old) + count}",
                        self.settings.service,
                        timeout=300, env=app_env,
                    )  # fmt: skip
                finally:
                    current = self.stack.containers(self.settings.service)
                    new = [c for c in current if c.id not in before]
                    journal["new"] = [c.id for c in new]
            with self.step(deployment, "ready", lock):
                self.wait_ready(new)
            with self.step(deployment, "switch", lock) as journal:
                # Before the first replica joins: an exception from here on drains them.
                switched = True
                joined = time.time()
                self.edge.add(new, colour)
                # The new replicas are in rotation beside the old ones: from now on the new
                # release is the stack's, recorded where `compose up` reads it. A crash here is
                # resumed (recovery.py sees new replicas in rotation).
                stop_point("switch.edge")
                self.record_release(deployment, previous=deployment.previous)
                journal["in_rotation_s"] = self.edge.wait_healthy(
                    colour, healthy=True, since=joined
                )
            with self.step(deployment, "retire", lock) as journal:
                # The old replicas drain (503 on /health/ready at SIGTERM, still serving for
                # DRAIN_DELAY_S): the edge's check takes their colour out of rotation before
                # they stop accepting connections; then they finish what is in flight.
                retired = True
                journal.update(self.retire(old, old_colour))
            with self.step(deployment, "verify", lock):
                verify_through_edge(self.settings, deployment.release)
            with self.step(deployment, "watch", lock) as journal:
                journal.update(observe(self.settings, deployment.release))
            if worker_image:
                with self.step(deployment, "worker", lock):
                    self.replace_worker(deployment, worker_image)
            deployment.result = "succeeded"
        except (DeployError, KeyboardInterrupt) as exc:
            deployment.error = str(exc) or type(exc).__name__
            say(f"FAILED: {deployment.error}")
            if new:
                # Recovery undoes, rather than resumes, a deployment stopped after this.
                self.records.journal_step(deployment.id, "undoing")
                with self.step(deployment, "rollback", None):
                    begin = self.records.begun(deployment.id)
                    if retired:
                        self.restore_previous(begin, new)
                    else:
                        self.undo(old, new, switched=switched)
                        if switched:
                            self.restore_records(begin)
                deployment.result = "rolled_back"
            else:
                deployment.result = "failed"
        finally:
            deployment.durations["total"] = round(time.monotonic() - started, 2)
            deployment.finished_at = now_iso()
            self.finish(deployment, journaled=begun)
        return deployment

    def begin(
        self,
        deployment: Deployment,
        old: Sequence[Container],
        *,
        worker_image: str | None,
        colour: str,
    ) -> None:
        """The journal's first entry for a deployment: all that recovery needs to finish or
        undo it (which replicas were there, what the records said before)."""
        env = read_env_file(self.settings.release_env)
        self.records.journal_step(
            deployment.id,
            "begin",
            kind=deployment.kind,
            image=deployment.image,
            image_id=deployment.image_id,
            release=deployment.release,
            previous=deployment.previous,
            old=[c.id for c in old],
            worker_image=worker_image,
            colour=colour,
            holder=deployment.holder,
            started_at=deployment.started_at,
            state_before=self.records.load_state(),
            env_before={key: env[key] for key in RELEASE_KEYS if key in env},
        )
        stop_point("begin")

    def finish(self, deployment: Deployment, *, journaled: bool) -> None:
        self.records.append(deployment)
        if journaled:
            self.records.journal_step(deployment.id, "end", result=deployment.result)

    def app_env(self, image: str, release: str) -> dict[str, str]:
        return {"APP_IMAGE": image, "APP_RELEASE": release}

    def retire(self, old: Sequence[Container], colour: str | None) -> dict[str, Any]:
        """Stop the old replicas (in parallel, each draining), and measure how long the edge
        took to take their colour out of rotation: well inside their DRAIN_DELAY_S, during
        which they still serve whatever reaches them."""
        if not old:
            return {}
        figures: dict[str, Any] = {}
        failure: list[DeployError] = []

        def stop() -> None:
            try:
                self.stack.stop(old)
            except DeployError as exc:
                failure.append(exc)

        stopping = threading.Thread(target=stop, name="retire")
        signalled = time.time()
        stopping.start()
        if colour is not None:
            try:
                figures["out_of_rotation_s"] = self.edge.wait_healthy(
                    colour, healthy=False, since=signalled
                )
            except DeployError as exc:
                say(f"warning: {exc}")
        stopping.join()
        if failure:
            # The new release serves: not a reason to undo it.
            say(f"warning: could not retire the old replicas: {failure[0]}")
        return figures

    def replace_worker(self, deployment: Deployment, worker_image: str) -> None:
        """After the app has passed its watch: the new worker may need the new schema, which
        is in place. Compose replaces it (SIGTERM; the job in hand finishes, leases cover the
        rest). A failure fails the deploy, which is undone with the app."""
        env = {**self.app_env(deployment.image, deployment.release), "WORKER_IMAGE": worker_image}
        self.runner.compose_run(
            "up", "--detach", "--no-deps", "--pull", "never", "worker",
            timeout=300, env=env,
        )  # fmt: skip
        self.wait_worker()
        set_values(self.settings.release_env, {"WORKER_IMAGE": worker_image})

    def wait_worker(self) -> None:
        """The worker runs steadily: no exit or restart, and not unhealthy."""
        deadline = time.monotonic() + WORKER_STEADY_S
        while time.monotonic() < deadline:
            for container in self.stack.containers("worker"):
                state = self.stack.inspect(container)
                if not state.running or state.restarting or state.restart_count:
                    raise DeployError(
                        f"the worker {state.name} is not running steadily (exit code "
                        f"{state.exit_code}): see `docker logs {state.name}`"
                    )
            time.sleep(POLL_S)

    def wait_ready(self, replicas: Sequence[Container]) -> None:
        if not replicas:
            raise DeployError("compose started no new replica")
        deadline = time.monotonic() + self.settings.ready_timeout
        streaks = {c.id: 0 for c in replicas}
        answers: dict[str, str] = {}
        while True:
            for container in replicas:
                if streaks[container.id] >= READY_STREAK:
                    continue
                state = self.stack.inspect(container)
                if not state.running or state.restarting or state.restart_count:
                    raise DeployError(
                        f"{state.name} is not running steadily (exit code {state.exit_code}, "
                        f"{state.restart_count} restart(s)): see `docker logs {state.name}`"
                    )
                if state.health == "unhealthy":
                    raise DeployError(f"{state.name} is unhealthy (its Docker health check)")
                answers[state.name] = self.stack.probe_ready(container)
                ready = answers[state.name] == "200"
                streaks[container.id] = streaks[container.id] + 1 if ready else 0
            if all(streak >= READY_STREAK for streak in streaks.values()):
                return
            if time.monotonic() > deadline:
                raise DeployError(
                    f"not ready within {self.settings.ready_timeout:.0f} s "
                    f"(/health/ready: {answers})"
                )
            time.sleep(POLL_S)

    def undo(self, old: Sequence[Container], new: Sequence[Container], *, switched: bool) -> None:
        """Back to the old replicas, which were never stopped and never left the rotation."""
        deadline = time.monotonic() + ROLLBACK_BUDGET_S
        serving_old = [c for c in old if self.stack.inspect(c).running]
        if switched:
            if not serving_old:
                raise DeployError("the old replicas are gone; run `deploy.py rollback`")
            # The new replicas had traffic: they drain like any other (their colour leaves
            # the rotation at SIGTERM) while the old ones serve on.
            self.stack.stop(new)
        else:
            self.stack.remove_now(new)
        say(f"rolled back to {', '.join(c.name for c in serving_old) or 'nothing'}")
        if time.monotonic() > deadline:
            say(f"warning: the rollback took longer than {ROLLBACK_BUDGET_S} s")

    def restore_previous(self, begin: dict[str, Any], new: Sequence[Container]) -> None:
        """After the old replicas were retired: start the previous release again (its image
        is pinned), put it in rotation, drain the new replicas, and put the records (and the
        worker, if it had been replaced) back as they were before the deployment."""
        previous = begin.get("previous")
        if not previous:
            raise DeployError("no previous release to go back to; deploy one")
        release = Release(**previous)
        reference = self.resolve(release)
        count = max(len(begin.get("old") or []), 1)
        colour = other_colour(str(begin.get("colour") or COLOURS[0]))
        say(f"undo: starting {count} replica(s) of {release.describe()} again")
        before = {c.id for c in self.stack.containers(self.settings.service)}
        env = self.app_env(reference, release.release)
        self.runner.compose_run(
            "up", "--detach", "--no-deps", "--no-recreate", "--pull", "never",
            "--scale", f"{self.settings.service}={len(before) + count}", self.settings.service,
            timeout=300, env=env,
        )  # fmt: skip
        again = [c for c in self.stack.containers(self.settings.service) if c.id not in before]
        self.wait_ready(again)
        joined = time.time()
        self.edge.add(again, colour)
        self.edge.wait_healthy(colour, healthy=True, since=joined)
        leaving = [c for c in new if c.id in before]
        self.retire(leaving, other_colour(colour))
        self.restore_records(begin)
        worker_before = str((begin.get("env_before") or {}).get("WORKER_IMAGE") or "")
        workers = self.stack.containers("worker")
        if worker_before and any(c.image != worker_before for c in workers):
            self.runner.compose_run(
                "up", "--detach", "--no-deps", "--pull", "never", "worker",
                timeout=300, env={**env, "WORKER_IMAGE": worker_before},
            )  # fmt: skip
        say(f"rolled back to {release.describe()} on {', '.join(c.name for c in again)}")

    def resolve(self, release: Release) -> str:
        """A reference to the release's image: its own while it still names the same image,
        else the pin."""
        for reference in (release.image, self.pin("previous"), self.pin("current")):
            result = self.runner.run(
                [*self.runner.docker, "image", "inspect", "--format", "{{.Id}}", reference],
                timeout=60,
                check=False,
            )
            if result.returncode == 0 and result.stdout.strip() == release.image_id:
                return reference
        return release.image_id

    def release_of(self, container: Container) -> Release:
        return Release(container.image, container.image_id, container.release)

    def record_release(self, deployment: Deployment, *, previous: dict[str, str] | None) -> None:
        """The deployment's release is the stack's: in the env file Compose reads (so
        `docker compose up -d` keeps it), in state.json (what `rollback` leaves), and pinned
        by tags. Written at the switch, not at the end: from the switch on, the edge serves it."""
        state = self.records.load_state()
        current = Release(deployment.image, deployment.image_id, deployment.release)
        before = Release(**previous) if previous else None
        if before is not None and before.image_id == current.image_id:
            # Deployed again: what rollback goes back to stays what it was.
            recorded = state.get("previous")
            before = Release(**recorded) if recorded else None
        set_values(
            self.settings.release_env,
            {"APP_IMAGE": deployment.image, "APP_RELEASE": deployment.release},
        )
        state["current"] = asdict(current)
        state["previous"] = asdict(before) if before else None
        state["updated_at"] = now_iso()
        self.records.save_state(state)
        self.pin_releases(current, before)

    def restore_records(self, begin: dict[str, Any]) -> None:
        """Back to the records as they were before the deployment began (it was undone)."""
        env_before = begin.get("env_before") or {}
        if env_before:
            set_values(self.settings.release_env, env_before)
        state: dict[str, Any] = begin.get("state_before") or {}
        self.records.save_state(state)
        current, previous = state.get("current"), state.get("previous")
        self.pin_releases(
            Release(**current) if current else None, Release(**previous) if previous else None
        )

    def pin_releases(self, current: Release | None, previous: Release | None) -> None:
        # Tags keep both images on the host (a rollback needs no build or pull) even if their
        # original tags move or are removed.
        for name, release in (("current", current), ("previous", previous)):
            if release is not None:
                self.runner.docker_run("tag", release.image_id, self.pin(name), check=False)

    def pin(self, name: str) -> str:
        return f"{self.settings.project}-app:{name}"

    def record_aborted(self, record: LockRecord) -> None:
        kind, _, image = record.command.partition(" ")
        deployment = Deployment(
            id=f"aborted-{record.token[:6]}",
            kind=kind,
            image=image,
            started_at=record.acquired_at,
            finished_at=now_iso(),
            result="aborted",
            error="the deploy stopped without releasing its lock (killed?); taken over",
            holder=record.holder,
        )
        self.records.append(deployment)

    def rollback_target(self) -> Release:
        previous = self.records.load_state().get("previous")
        if not previous:
            raise DeployError("no previous release recorded in " + str(self.records.state))
        target = Release(**previous)
        return Release(self.resolve(target), target.image_id, target.release)

    def reload_edge(self, lock: DeployLock) -> list[str]:
        """Put every running replica that is ready in rotation (after `compose up` created
        replicas outside a deploy), under the colour the edge serves (blue if none)."""
        lock.check()
        replicas = [c for c in self.stack.containers(self.settings.service) if c.running]
        deadline = time.monotonic() + self.settings.ready_timeout
        while True:
            answers = {c.name: self.stack.probe_ready(c) for c in replicas}
            ready = [c for c in replicas if answers[c.name] == "200"]
            # Every running replica, or as many as answer by the deadline (at least one).
            if len(ready) == len(replicas) or (ready and time.monotonic() > deadline):
                break
            if time.monotonic() > deadline:
                raise DeployError(f"no ready replica to point the edge at: {answers}")
            time.sleep(POLL_S)
        colour = self.edge.serving_colour() or COLOURS[0]
        joining = [c for c in ready if self.edge.colour_of(c) is None]
        if joining:
            self.edge.add(joining, colour)
        self.edge.wait_healthy(colour, healthy=True)
        return self.edge.rotation()
