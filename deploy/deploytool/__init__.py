"""Zero-downtime deploys of SignUpFlow's app replicas (Docker Compose, Caddy edge).

    python3 deploy/deploy.py deploy signupflow:1.4.0   # migrate, roll, verify; undo on failure
    python3 deploy/deploy.py rollback                  # back to the release before the current one
    python3 deploy/deploy.py history                   # what was deployed when, and how it went
    python3 deploy/deploy.py reload-edge               # point the edge at the ready replicas
    python3 deploy/deploy.py recover                   # finish or undo an interrupted deploy
    python3 deploy/deploy.py watch                     # restart containers stopped outside a deploy

Python 3.11+, standard library only, so a server needs nothing but Docker and python3. The
stack is compose.prod.yml (the default; -f to choose, e.g. with compose.pebble.yml). Run from
anywhere. deploy/README.md is the operator's guide.

One module per concern: cli (arguments, commands), settings, runner (commands with timeouts),
stack (the app containers), edge (the Caddy edge's upstreams, the check through it), lock,
envfile (the .env Compose reads), records (history, state, journal), deployer (the steps
below), recovery (an interrupted deploy), watch (the watcher).

A deploy, step by step, and why in this order:
 1. lock      One deploy at a time per project: a lock file in the state directory names its
              holder and expires (--lock-ttl) unless the holder's heartbeat renews it, so a
              killed deploy blocks the next one for at most the TTL; the next command takes
              over and finishes or undoes what the killed one left (recovery.py, below).
 2. migrate   `compose run --rm migrate` with the new image, while the old replicas serve.
              Migrations must therefore keep the old code working (expand, then contract in a
              later release); a rollback never migrates down.
 3. start     `compose up -d --no-deps --no-recreate --scale app=2N app` with the new image:
              N new replicas beside the N old ones, which compose leaves alone.
 4. ready     Each new replica must answer 200 on /health/ready twice in a row (database
              reachable, schema at the head) before it gets any traffic; a replica that exits,
              restarts or stays unready past --ready-timeout fails the deploy.
 5. switch    The edge's upstream list becomes the new replicas, applied with a graceful
              `caddy reload`: requests in flight on the old replicas finish through the old
              configuration, new requests go to the new ones. Until here the old replicas
              served everything; undoing any of this is just removing the new ones. From
              here the new release is the stack's, and is recorded at once where Compose
              reads it: APP_IMAGE and APP_RELEASE in the env file (.env; so a later
              `docker compose up -d` keeps it instead of recreating the replicas on an older
              image), the current and previous release in state.json (what `rollback` goes
              back to), and the tags <project>-app:current / :previous (so a rollback needs
              no build or pull). The edge keeps its upstream list on a volume, so a
              re-created edge starts on these replicas too.
 6. verify    Through the edge itself (--verify-url): /health/live must name the new release
              on several consecutive requests. On failure the edge goes back to the old
              replicas, which are still running and ready, so a rollback takes seconds.
 7. retire    Only now `docker stop -t 30` the old replicas. They left the rotation in step 5,
              before SIGTERM, so none stops accepting connections while the edge still sends
              it traffic; the app still drains as if it did (503 on /health/ready, 5 s of
              service with `Connection: close`, then up to 20 s for requests in flight; 25 s <
              30 s, so SIGKILL never cuts it short).
 8. worker    With --worker-image, the worker is replaced last (compose up), once the schema and
              the app are in place. A failure here is reported, not undone: the app serves
              the new release, and the old worker still works with the expanded schema.
              WORKER_IMAGE is recorded in the env file.
 9. end       The history file gets version, times, result and step durations.

Every step is journaled (journal.jsonl, flushed to disk) as it completes, after a `begin`
entry that names the replicas running before and what the records said. A deploy that stops
half-way (killed, a reboot) is found by the next `deploy`, `rollback`, `reload-edge` or
`recover`: undone if the edge had not switched yet, finished (verify, retire, worker) if it
had. See recovery.py.

Timing: the edge probes /health/ready every second, and a draining replica answers 503 at
once, so a replica that stops by other means (docker compose stop, a host shutdown) is out of
rotation within about 1 s, well inside its DRAIN_DELAY_S of 5 s; a crashed one refuses
connections, and the edge retries elsewhere (lb_try_duration 10 s) until its check drops it.

`watch` (run it as a service: deploy/systemd/signupflow-watch.service) closes a gap in Docker's
restart policies: a container stopped by `docker kill` or `docker stop` counts as deliberately
stopped, and the engine leaves it down. Every --interval seconds the watcher starts any
container of the project whose restart policy says it should run (always, unless-stopped) and
that is not running, except while a deploy holds the lock (a deploy stops containers on
purpose). A crashed replica is restarted by the engine itself; a killed one by the watcher,
within seconds. Stop the watcher before stopping services by hand for maintenance.

Any failure before step 7 is undone automatically: the new replicas are removed and, if the
edge had switched, it switches back first and the records go back to what they said. Every
command has a timeout, so the undo finishes within ROLLBACK_BUDGET_S.
"""

from __future__ import annotations
