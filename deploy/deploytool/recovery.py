"""Finishing or undoing a deployment that stopped half-way (the tool was killed, the host
rebooted), from its journal (records.py). Every command that changes the stack (`deploy`,
`rollback`, `reload-edge`) runs this first, under the lock; `recover` runs only this.

The rule is the edge's: before the switch, the old replicas served everything and nothing was
recorded, so the deployment is undone (its new replicas removed); once the edge proxies to
the new replicas, the new release is the stack's, so the deployment is resumed (recorded,
verified through the edge, the old replicas retired, the worker replaced). A resumed
deployment whose check through the edge fails is undone like a running one: the edge goes
back to the old replicas if they still run, and the records back to what they said before.
Each action is idempotent, so recovery interrupted in turn is recovered by the next command.
"""

from __future__ import annotations

from typing import Any

from .deployer import Deployer
from .edge import verify_through_edge
from .lock import DeployLock
from .records import Deployment, Unfinished
from .runner import DeployError, now_iso, say


def recover(deployer: Deployer, lock: DeployLock) -> Deployment | None:
    """Finish or undo the journal's unfinished deployment, if any; record what was done."""
    unfinished = deployer.records.unfinished()
    if unfinished is None:
        if lock.taken_over is not None:
            # Killed before its first journal entry: nothing to undo, but say it happened.
            deployer.record_aborted(lock.taken_over)
        return None
    lock.check()
    begin = unfinished.begin
    say(
        f"recovering {begin.get('kind')} {begin.get('release')} ({begin.get('image')}), "
        f"interrupted after {unfinished.last}"
    )
    deployment = Deployment(
        id=unfinished.id,
        kind=str(begin.get("kind", "deploy")),
        image=str(begin.get("image", "")),
        release=str(begin.get("release", "")),
        image_id=str(begin.get("image_id", "")),
        previous=begin.get("previous"),
        started_at=str(begin.get("started_at") or begin.get("at", "")),
        holder=str(begin.get("holder", "")),
        error=f"interrupted after step {unfinished.last} (the tool stopped: killed, or a reboot)",
    )
    try:
        if switched(deployer, unfinished):
            resume(deployer, deployment, unfinished)
        else:
            undo(deployer, unfinished)
            deployment.result = "aborted"
            deployment.recovery = f"undone: new replicas removed, {describe_serving(deployer)}"
    except DeployError as exc:
        # Recorded as failed, and the journal closed: a human has to look (the message says
        # what is wrong); retrying the same recovery would fail the same way.
        deployment.result = "failed"
        deployment.recovery = f"recovery failed: {exc}"
        say(f"FAILED: {deployment.recovery}")
    deployment.finished_at = now_iso()
    deployer.finish(deployment, journaled=True)
    say(f"recovered {deployment.release}: {deployment.result} ({deployment.recovery})")
    return deployment


def split(deployer: Deployer, unfinished: Unfinished) -> tuple[list[Any], list[Any]]:
    """(old, new) app containers: those that ran when the deployment began, and the rest."""
    old_ids = set(unfinished.begin.get("old") or [])
    containers = deployer.stack.containers(deployer.settings.service)
    return (
        [c for c in containers if c.id in old_ids],
        [c for c in containers if c.id not in old_ids],
    )


def switched(deployer: Deployer, unfinished: Unfinished) -> bool:
    """Whether the edge was switched: journaled, or (killed in the middle of the switch step)
    the edge's upstream list names new replicas only."""
    if "undoing" in unfinished.steps:
        return False  # it had failed and was being undone: finish the undo
    if "switch" in unfinished.steps:
        return True
    if "start" not in unfinished.steps and "ready" not in unfinished.steps:
        return False
    _, new = split(deployer, unfinished)
    rotation = set(deployer.edge.rotation())
    return bool(rotation) and rotation <= {c.name for c in new}


def undo(deployer: Deployer, unfinished: Unfinished) -> None:
    old, new = split(deployer, unfinished)
    serving = [c for c in old if c.running]
    if serving and set(deployer.edge.rotation()) != {c.name for c in serving}:
        deployer.edge.set_rotation(serving)
    if new:
        say("removing the interrupted deployment's replicas: " + ", ".join(c.name for c in new))
        if "switch" in unfinished.steps:
            deployer.stack.stop(new)  # they had traffic: let them drain
        else:
            deployer.stack.remove_now(new)
    deployer.restore_records(unfinished.begin)


def resume(deployer: Deployer, deployment: Deployment, unfinished: Unfinished) -> None:
    steps = unfinished.steps
    old, new = split(deployer, unfinished)
    if not any(c.running for c in new):
        raise DeployError(
            "the edge was switched to replicas that no longer run; run `deploy.py reload-edge`"
        )
    # The edge serves the new release: record it (again; the same values if already done).
    deployer.record_release(deployment, previous=deployment.previous)
    done = ["recorded"]
    if "verify" not in steps:
        try:
            verify_through_edge(deployer.settings, deployment.release)
        except DeployError:
            serving_old = [c for c in old if c.running]
            if not serving_old:
                raise
            deployer.edge.set_rotation(serving_old)
            deployer.stack.stop(new)
            deployer.restore_records(unfinished.begin)
            deployment.result = "rolled_back"
            deployment.recovery = "the new release failed its check through the edge: undone"
            return
        done.append("verified")
    if "retire" not in steps and old:
        deployer.retire(old)
        done.append("old replicas retired")
    worker_image = unfinished.begin.get("worker_image")
    if worker_image and "worker" not in steps:
        deployer.replace_worker(deployment, str(worker_image))
        done.append("worker replaced")
    deployment.result = "succeeded"
    deployment.recovery = "resumed: " + ", ".join(done)


def describe_serving(deployer: Deployer) -> str:
    serving = [c for c in deployer.stack.containers(deployer.settings.service) if c.running]
    releases = sorted({c.release or c.image for c in serving})
    return f"serving {', '.join(releases) or 'nothing'} on {len(serving)} replica(s)"
