"""Finishing or undoing a deployment that stopped half-way (the tool was killed, the host
rebooted), from its journal (records.py). Every command that changes the stack (`deploy`,
`rollback`, `reload-edge`) runs this first, under the lock; `recover` runs only this.

The rule is the edge's: before a new replica joined the rotation, the old replicas served
everything and nothing was recorded, so the deployment is undone (its new replicas removed);
once one had joined, the new release is the stack's, so the deployment is resumed (every new
replica in rotation, recorded, the old replicas retired, verified through the edge, watched
for the whole window again, the worker replaced). A resumed deployment whose check or watch
fails is undone like a running one: the previous release is started again and joins the
rotation, the new replicas drain out, and the records go back to what they said before. A
deployment that was being undone when it stopped is undone again.
Each action is idempotent, so recovery interrupted in turn is recovered by the next command.
"""

from __future__ import annotations

from typing import Any

from .deployer import Deployer
from .edge import verify_through_edge
from .lock import DeployLock
from .observe import observe
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
    """Whether the new replicas had joined the rotation: journaled, or (killed in the middle
    of the switch step) one of them carries a colour on the edge network."""
    if "undoing" in unfinished.steps:
        return False  # it had failed and was being undone: finish the undo
    if "switch" in unfinished.steps:
        return True
    if "ready" not in unfinished.steps:
        return False  # no replica joins the rotation before it was seen ready
    _, new = split(deployer, unfinished)
    return any(deployer.edge.colour_of(c) is not None for c in new if c.running)


def undo(deployer: Deployer, unfinished: Unfinished) -> None:
    old, new = split(deployer, unfinished)
    if "retire" in unfinished.steps and not any(c.running for c in old):
        # The old replicas were retired (the deploy failed its check or its watch and was
        # being undone): start the previous release again.
        deployer.restore_previous(unfinished.begin, new)
        return
    if new:
        say("removing the interrupted deployment's replicas: " + ", ".join(c.name for c in new))
        in_rotation = [c for c in new if c.running and deployer.edge.colour_of(c) is not None]
        # Those that had traffic drain; the others never served anyone.
        deployer.stack.stop(in_rotation)
        deployer.stack.remove_now([c for c in new if c not in in_rotation])
    deployer.restore_records(unfinished.begin)


def resume(deployer: Deployer, deployment: Deployment, unfinished: Unfinished) -> None:
    steps = unfinished.steps
    old, new = split(deployer, unfinished)
    serving_new = [c for c in new if c.running]
    if not serving_new:
        raise DeployError(
            "the new replicas joined the rotation but no longer run; start them "
            "(`docker start`) or `deploy.py reload-edge`, then `deploy.py rollback`"
        )
    colour = str(unfinished.begin.get("colour") or "")
    # All the new replicas in rotation (the switch may have stopped half-way), and the new
    # release recorded (again; the same values if already done).
    deployer.edge.add(serving_new, colour)
    deployer.record_release(deployment, previous=deployment.previous)
    done = ["recorded"]
    if "retire" not in steps and old:
        deployer.edge.wait_healthy(colour, healthy=True)
        deployer.retire(old, deployer.edge.colour_of(old[0]))
        done.append("old replicas retired")
    worker_image = unfinished.begin.get("worker_image")
    try:
        if "verify" not in steps:
            verify_through_edge(deployer.settings, deployment.release)
            done.append("verified")
        if "watch" not in steps:
            deployer.records.journal_step(
                deployment.id, "watch", **observe(deployer.settings, deployment.release)
            )
            done.append("watched")
        if worker_image and "worker" not in steps:
            deployer.replace_worker(deployment, str(worker_image))
            done.append("worker replaced")
    except DeployError as exc:
        say(f"FAILED: {exc}")
        deployer.records.journal_step(deployment.id, "undoing")
        deployer.restore_previous(unfinished.begin, serving_new)
        deployment.result = "rolled_back"
        deployment.recovery = f"resumed, then undone: {exc}"
        return
    deployment.result = "succeeded"
    deployment.recovery = "resumed: " + ", ".join(done)


def describe_serving(deployer: Deployer) -> str:
    serving = [c for c in deployer.stack.containers(deployer.settings.service) if c.running]
    releases = sorted({c.release or c.image for c in serving})
    return f"serving {', '.join(releases) or 'nothing'} on {len(serving)} replica(s)"
