"""Zero-downtime deploys of SignUpFlow's app replicas (Docker Compose, Caddy edge).

    python3 deploy/deploy.py deploy signupflow:1.4.0   # migrate, roll, verify; undo on failure
    python3 deploy/deploy.py rollback                  # back to the release before the current one
    python3 deploy/deploy.py history                   # what was deployed when, and how it went
    python3 deploy/deploy.py reload-edge               # put the ready replicas in rotation
    python3 deploy/deploy.py recover                   # finish or undo an interrupted deploy
    python3 deploy/deploy.py watch                     # restart containers stopped outside a deploy
    python3 deploy/deploy.py backup                    # a pgBackRest backup now (full by default)
    python3 deploy/deploy.py restore [--target T] --yes  # PITR, edge in maintenance (pitr.py)
    python3 deploy/deploy.py maintenance on|off        # the edge answers 503 / serves

Python 3.11+, standard library only, so a server needs nothing but Docker and python3. The
stack is COMPOSE_FILE from the env file (relative to its directory), else compose.prod.yml
(-f to choose, e.g. with compose.pebble.yml). Run from
anywhere. deploy/README.md is the operator's guide.

One module per concern: cli (arguments, commands), settings, runner (commands with timeouts),
stack (the app containers), edge (the rotation: colour aliases on the edge network, the
check through it), observe (the watch after the cut-over), lock, envfile (the .env Compose
reads), records (history, state, journal), deployer (the steps below), recovery (an
interrupted deploy), watch (the watcher).

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
 5. switch    The new replicas join the edge's rotation without any change to the edge: the
              Caddyfile proxies to two fixed names, app-blue and app-green, each checked on
              /health/ready every second, and the tool connects each new replica to the
              edge network under the colour the old ones do not carry (`docker network
              connect --alias app-green`). Docker's DNS answers the name at once; the step
              ends when the edge's own check reports the colour healthy (Caddy's metrics).
              Caddy never reloads, so no client connection is closed (a reload closes every
              idle keep-alive connection: a client that does not retry, or a POST, fails).
              Until here the old replicas served everything, and they still serve beside
              the new ones; from here the new release is the stack's, and is recorded at
              once where Compose reads it: APP_IMAGE and APP_RELEASE in the env file (.env;
              so a later `docker compose up -d` keeps it instead of recreating the replicas
              on an older image), the current and previous release in state.json (what
              `rollback` goes back to), and the tags <project>-app:current / :previous (so a
              rollback or an undo needs no build or pull).
 6. retire    `docker stop -t 30` the old replicas. At SIGTERM each answers 503 on
              /health/ready while it still serves for DRAIN_DELAY_S (5 s, with
              `Connection: close`), so the edge's check takes their colour out of rotation
              (the tool measures it: about 1 s) before they stop accepting connections;
              then they finish what is in flight (SHUTDOWN_TIMEOUT_S 20 s; 25 s < 30 s, so
              SIGKILL never cuts it short). Once they exit their colour resolves to nothing.
 7. verify    Through the edge itself (--verify-url): /health/live must name the new release
              on several consecutive requests.
 8. watch     For --watch-window seconds (60 by default), probes through the edge (the
              verify URL, five a second, each on a fresh connection) must stay under
              --watch-max-error-rate failed (5xx or no answer; over the last 20 probes, 5 %
              by default) and their p99 under --watch-max-p99 (2 s). A release that crosses
              either, or fails verify, is undone: the previous release (pinned, no build or
              pull) is started again, joins the rotation under the other colour, the new
              replicas drain out, and the records go back to what they said before.
 9. worker    With --worker-image, the worker is replaced only after the app passed its
              watch (compose up), and must then run steadily for 10 s. A failure here is
              undone with the app: the worker goes back to the image it ran, the app to
              the previous release. WORKER_IMAGE is recorded in the env file.
10. end       The history file gets version, times, result and step durations.

Every step is journaled (journal.jsonl, flushed to disk) as it completes, after a `begin`
entry that names the replicas running before and what the records said. A deploy that stops
half-way (killed, a reboot) is found by the next `deploy`, `rollback`, `reload-edge` or
`recover`: undone if no new replica had joined the rotation yet, finished (retire, verify,
watch, worker; undone if the check or the watch fails) if one had. See recovery.py.

Timing: the edge probes /health/ready every second, and a draining replica answers 503 at
once, so a replica that stops by other means (docker compose stop, a host shutdown) is out of
rotation within about 1 s, well inside its DRAIN_DELAY_S of 5 s; a crashed one refuses
connections, and the edge's dial moves on to the colour's other address, or retries elsewhere
(lb_try_duration 10 s). The edge's check is per colour, not per replica: both replicas of a
colour start and stop together, so they agree.

`watch` (run it as a service: deploy/systemd/signupflow-watch.service) closes a gap in Docker's
restart policies: a container stopped by `docker kill` or `docker stop` counts as deliberately
stopped, and the engine leaves it down. Every --interval seconds the watcher starts any
container of the project whose restart policy says it should run (always, unless-stopped) and
that is not running, except while a deploy holds the lock (a deploy stops containers on
purpose). A crashed replica is restarted by the engine itself; a killed one by the watcher,
within seconds. Stop the watcher before stopping services by hand for maintenance.

Any failure is undone automatically: before step 6 the new replicas are removed (drained if
they had joined the rotation) while the old ones serve on; from step 6 on the previous
release is started again first. The records go back to what they said. Every command has a
timeout, so the undo finishes within ROLLBACK_BUDGET_S.
"""

from __future__ import annotations
