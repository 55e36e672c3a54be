"""Writes under load (issue #15): volunteers signing themselves up, and an admin assigning
people, at 64 connections on PostgreSQL, then an exact count of every place.

`measure_writes` is what `make bench` calls; `python -m bench.write_bench` runs it alone.

The workload: the standard one (shared notes, benchmarks.md), its 200 volunteers given logins
(invited and accepted through the service layer, then logged in through the API), and for each
kind of write its own POPULAR_EVENTS + BENCH_WRITE_EVENTS (default 4 + 200) published events
after the standard ones, each with a slot for every one of the six roles, capacities rotating
through CAPACITIES (2 to 100). Each planned write is a distinct (person, event) pair, in a
volunteer's role: 200 volunteers x 204 events = 40,800 per kind, several times what a 20 s run
sends, so places never run out. The writes walk the 200 events so that consecutive writes go to
different events and every slot fills evenly along the plan; every 5th write goes instead to
one of the 4 popular events, whose slots fill within seconds and whose slot rows concurrent
writes queue on, so that every run meets full slots (409 `slot-full`) and contention.

Afterwards, for every slot of the measured events: `filled` == the assignments holding a
place == min(capacity, the requests sent for it) <= capacity; the ids answered 201 are
exactly the assignment rows; every other answer is a 409 `slot-full`, one for each request
that found no place. The wrk script drains before it stops (harness/request_plan.lua), so
every request sent has been answered and counted.

Environment: BENCH_DURATION (seconds per run, default 20), BENCH_WRITE_WORKERS (default: one per
core), BENCH_WRITE_EVENTS (events per kind, default 200). Results are printed and written to
bench/results/writes-*.{md,json}; the exit status is 1 when a check fails or there was an error.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from bench.http_bench import DEFAULT_DURATION_S, WARM_UP_S
from bench.reporting import run, save_report, start_run
from harness.app_server import running_server
from harness.request_plan import Plan, PlannedRequest, PlanRun, run_plan, sent_requests
from harness.workload import (
    ADMIN_EMAIL,
    PASSWORD,
    SLUG,
    AdminToken,
    Endpoint,
    fresh_database,
    seed,
)
from harness.wrk import run_wrk, wrk_binary, wrk_command
from signupflow.actor import Actor
from signupflow.assignments.ledger import ACTIVE
from signupflow.assignments.models import Assignment
from signupflow.auth.models import User
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.demo import ROLES
from signupflow.events.models import EventSlot, EventStatus
from signupflow.events.schemas import EventCreate, SlotSpec
from signupflow.events.service import create_event
from signupflow.invitations.schemas import InvitationCreate
from signupflow.invitations.service import accept_invitation, create_invitation
from signupflow.organisations.models import Organisation
from signupflow.people.models import Person
from signupflow.settings import Settings

CONNECTIONS = 64
DEFAULT_EVENTS = 200
# Popular events per kind of write, and how often a write goes to one of them (odd, so that
# both wrk threads, which take alternate writes, send some).
POPULAR_EVENTS = 4
POPULAR_EVERY = 5
# One per role slot of an event, rotated by event so that every role gets every capacity.
# About 33 people ask for each slot over a whole plan: the small slots fill early in a run,
# the large ones never.
CAPACITIES = (2, 5, 10, 20, 40, 100)
# After the standard workload's 50 events (from 2030-01-06, one every two days): its lists,
# ordered by start, stay what they are.
FIRST_EXTRA_EVENT = datetime(2031, 1, 5, 15, 0, tzinfo=UTC)
# Every volunteer logs in from one address within a minute, which the per-client default
# (10 x 10 a minute) would mostly refuse; logging in is set-up here, not what is measured.
# 200 logins from one address are set-up, not what is measured; the database is migrated by
# the seeding (this checkout's), which the code before issue #15 must not try to redo.
SERVER_ENV = {"LOGIN_ATTEMPTS_PER_MINUTE": "10000", "AUTO_MIGRATE": "false"}
SLOT_FULL = "409 /problems/slot-full"
ADMIN_KEY = "admin"  # the plan's token key of the admin (request_plan.lua withdraws with it)
_EVENT_PATH = re.compile(r"^/api/v1/events/(\d+)/")
SHOWN_PROBLEMS = 10

WriteKind = Literal["self sign-up", "admin assignment"]
ROUTES: dict[WriteKind, str] = {
    "self sign-up": "POST /api/v1/events/{id}/signups",
    "admin assignment": "POST /api/v1/events/{id}/assignments",
}


@dataclass(frozen=True)
class Volunteer:
    person_id: int
    email: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    duration_s: int
    workers: int
    events: int

    @classmethod
    def from_environment(cls) -> Config:
        env = os.environ.get
        try:
            config = cls(
                duration_s=int(env("BENCH_DURATION", str(DEFAULT_DURATION_S))),
                workers=int(env("BENCH_WRITE_WORKERS", str(len(os.sched_getaffinity(0))))),
                events=int(env("BENCH_WRITE_EVENTS", str(DEFAULT_EVENTS))),
            )
        except ValueError as exc:
            raise SystemExit(
                f"BENCH_DURATION, BENCH_WRITE_WORKERS and BENCH_WRITE_EVENTS: {exc}"
            ) from None
        if config.duration_s < 1 or config.workers < 1 or config.events < 2:
            raise SystemExit(
                "BENCH_DURATION >= 1, BENCH_WRITE_WORKERS >= 1 and BENCH_WRITE_EVENTS >= 2 "
                f"(got {config.duration_s}, {config.workers}, {config.events})"
            )
        return config


# ---------------------------------------------------------------------------------------------
# Seeding through the service layer (shared with the soak)


def _settings(database_url: str) -> Settings:
    # bcrypt cost 4 for the seeded passwords: logging in is set-up, not what is measured.
    return Settings(
        _env_file=None, app_env="test", database_url=database_url, bcrypt_rounds=4, load_demo=False
    )


def _as_admin(session: Session) -> Actor:
    organisation = session.scalars(select(Organisation).where(Organisation.slug == SLUG)).one()
    admin_id = session.scalars(select(User.id).where(User.email == ADMIN_EMAIL)).one()
    return Actor.system(organisation, user_id=admin_id)


def give_volunteers_logins(database_url: str) -> list[Volunteer]:
    """Every volunteer of the seeded organisation invited and accepted with PASSWORD, as the
    link in the invitation e-mail would; the volunteers in person id order."""
    settings = _settings(database_url)
    engine = make_engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            admin = _as_admin(session)
            people = session.scalars(
                select(Person)
                .where(Person.email != ADMIN_EMAIL)
                .options(selectinload(Person.skills))
                .order_by(Person.id)
            ).all()
            for person in people:
                invited = create_invitation(
                    session, admin, InvitationCreate(email=person.email, name=person.name), settings
                )
                accept_invitation(
                    session,
                    token=invited.token,
                    password=PASSWORD,
                    caller_user_id=None,
                    settings=settings,
                )
            return [Volunteer(p.id, p.email, tuple(p.roles)) for p in people]
    finally:
        engine.dispose()


def add_open_events(
    database_url: str, *, count: int, first: datetime, capacities: Sequence[int], title: str
) -> list[int]:
    """`count` published events, one a day from `first`, each with a slot for every role;
    slot k of event e holds capacities[(e + k) % len(capacities)] places. Their ids."""
    settings = _settings(database_url)
    engine = make_engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            admin = _as_admin(session)
            ids = []
            for e in range(count):
                starts_at = first + timedelta(days=e)
                event = create_event(
                    session,
                    admin,
                    EventCreate(
                        title=f"{title} {e + 1:03d}",
                        location="Main hall",
                        starts_at=starts_at,
                        ends_at=starts_at + timedelta(hours=2),
                        status=EventStatus.PUBLISHED,
                        slots=[
                            SlotSpec(role=role, capacity=capacities[(e + k) % len(capacities)])
                            for k, role in enumerate(ROLES)
                        ],
                    ),
                )
                ids.append(event.id)
            return ids
    finally:
        engine.dispose()


def log_in_volunteers(client: httpx.Client, volunteers: Sequence[Volunteer]) -> dict[str, str]:
    """Each volunteer's access token through POST /api/v1/auth/login, by person id."""
    tokens = {}
    for volunteer in volunteers:
        response = client.post(
            "/api/v1/auth/login",
            json={"email": volunteer.email, "password": PASSWORD, "organisation": SLUG},
        )
        if response.status_code != 200:
            raise RuntimeError(
                f"logging in {volunteer.email} failed: {response.status_code} {response.text}"
            )
        tokens[str(volunteer.person_id)] = str(response.json()["access_token"])
    return tokens


# ---------------------------------------------------------------------------------------------
# Plans


def write_request(
    kind: WriteKind, event_id: int, volunteer: Volunteer, role: str
) -> PlannedRequest:
    """The volunteer signing up for `role`, or the admin placing them in it."""
    if kind == "self sign-up":
        body = json.dumps({"role": role})
        return PlannedRequest(
            "POST", f"/api/v1/events/{event_id}/signups", str(volunteer.person_id), body
        )
    body = json.dumps({"person_id": volunteer.person_id, "role": role})
    return PlannedRequest("POST", f"/api/v1/events/{event_id}/assignments", ADMIN_KEY, body)


def walk(
    kind: WriteKind, volunteers: Sequence[Volunteer], event_ids: Sequence[int]
) -> Iterator[PlannedRequest]:
    """Every (volunteer, event) pair once: write i is event i mod E and volunteer
    (i div E + event) mod V, in one of the volunteer's roles, alternating by event. Consecutive
    writes go to consecutive events, and each event's slots fill evenly along the walk."""
    count, people = len(event_ids), len(volunteers)
    for i in range(people * count):
        e = i % count
        volunteer = volunteers[(i // count + e) % people]
        yield write_request(
            kind, event_ids[e], volunteer, volunteer.roles[e % len(volunteer.roles)]
        )


def write_plan(
    kind: WriteKind,
    volunteers: Sequence[Volunteer],
    event_ids: Sequence[int],
    popular_ids: Sequence[int],
) -> list[PlannedRequest]:
    """The walk over `event_ids`, with every POPULAR_EVERY-th write (while they last) from the
    walk over `popular_ids`: a few events everyone wants, whose small slots fill within
    seconds and whose slot rows concurrent writes queue on."""
    spread, popular = walk(kind, volunteers, event_ids), walk(kind, volunteers, popular_ids)
    plan: list[PlannedRequest] = []
    for request in spread:
        if len(plan) % POPULAR_EVERY == POPULAR_EVERY - 1:
            plan += islice(popular, 1)
        plan.append(request)
    return plan + list(popular)


def requested_per_slot(sent: Iterable[PlannedRequest]) -> Counter[tuple[int, str]]:
    """How many of the sent writes asked for each (event id, role)."""
    counts: Counter[tuple[int, str]] = Counter()
    for request in sent:
        match = _EVENT_PATH.match(request.path)
        if match is None:
            raise ValueError(f"not an event's write: {request.path}")
        counts[int(match.group(1)), str(json.loads(request.body)["role"])] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# The exact count


@dataclass(frozen=True)
class SlotCount:
    slot_id: int
    event_id: int
    role: str
    capacity: int
    filled: int
    holding: int  # assignments holding a place (pending or confirmed)
    rows: int  # every assignment row of the slot


def slot_counts(database_url: str, event_ids: Sequence[int]) -> tuple[list[SlotCount], list[int]]:
    """Every slot of these events with its counter and its assignments, and the ids of the
    assignments at these events."""
    engine = make_engine(_settings(database_url))
    try:
        with engine.connect() as connection:
            per_slot = (
                select(
                    Assignment.slot_id,
                    func.count().label("rows"),
                    func.sum(case((Assignment.status.in_(ACTIVE), 1), else_=0)).label("holding"),
                )
                .where(Assignment.event_id.in_(event_ids))
                .group_by(Assignment.slot_id)
                .subquery()
            )
            slots = connection.execute(
                select(
                    EventSlot.id,
                    EventSlot.event_id,
                    EventSlot.role,
                    EventSlot.capacity,
                    EventSlot.filled,
                    func.coalesce(per_slot.c.holding, 0),
                    func.coalesce(per_slot.c.rows, 0),
                )
                .outerjoin(per_slot, per_slot.c.slot_id == EventSlot.id)
                .where(EventSlot.event_id.in_(event_ids))
                .order_by(EventSlot.id)
            ).all()
            ids = connection.scalars(
                select(Assignment.id).where(Assignment.event_id.in_(event_ids))
            ).all()
    finally:
        engine.dispose()
    return [SlotCount(*(row[:3]), *(int(v) for v in row[3:])) for row in slots], list(ids)


@dataclass(frozen=True)
class CapacityCheck:
    slots: int
    full: int
    places: int  # assignments holding a place
    problems: list[str]


def _listed(problems: list[str]) -> list[str]:
    if len(problems) <= SHOWN_PROBLEMS:
        return problems
    return [*problems[:SHOWN_PROBLEMS], f"... and {len(problems) - SHOWN_PROBLEMS} more"]


def check_capacity(
    slots: Sequence[SlotCount],
    requested: Mapping[tuple[int, str], int],
    statuses: Mapping[str, int],
    answered_ids: Sequence[int],
    row_ids: Iterable[int],
) -> CapacityCheck:
    """Every slot holds exactly min(capacity, requests for it) people and its counter says so;
    each 201 is one row and each row one 201; every other answer is a 409 `slot-full`, one
    for each request that found no place."""
    problems = []
    for slot in slots:
        asked = requested.get((slot.event_id, slot.role), 0)
        expected = min(slot.capacity, asked)
        if not slot.filled == slot.holding == slot.rows == expected <= slot.capacity:
            problems.append(
                f"slot {slot.slot_id} ({slot.role} at event {slot.event_id}): capacity "
                f"{slot.capacity}, requested {asked}, filled {slot.filled}, holding "
                f"{slot.holding}, rows {slot.rows}; expected {expected}"
            )
    known = {(slot.event_id, slot.role) for slot in slots}
    problems += [f"requests for a slot that does not exist: {k}" for k in set(requested) - known]
    answered, rows = Counter(answered_ids), set(row_ids)
    created = statuses.get("201", 0)
    if created != len(answered_ids):
        problems.append(f"{created} answers 201, {len(answered_ids)} with an assignment id")
    problems += [f"assignment {i} answered 201 {n} times" for i, n in answered.items() if n > 1]
    if set(answered) - rows:
        problems.append(f"answered 201 without a row: {sorted(set(answered) - rows)[:20]}")
    if rows - set(answered):
        problems.append(f"rows without a 201 answer: {sorted(rows - set(answered))[:20]}")
    places = sum(slot.holding for slot in slots)
    refused = sum(requested.values()) - places
    if statuses.get(SLOT_FULL, 0) != refused:
        problems.append(
            f"{statuses.get(SLOT_FULL, 0)} answers 409 slot-full, but {refused} requests found "
            "no place"
        )
    unexpected = {k: n for k, n in statuses.items() if k not in ("201", SLOT_FULL)}
    if unexpected:
        problems.append(f"answers other than 201 and 409 slot-full: {unexpected}")
    return CapacityCheck(
        slots=len(slots),
        full=sum(1 for slot in slots if slot.filled >= slot.capacity),
        places=places,
        problems=_listed(problems),
    )


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass(frozen=True)
class WriteRow:
    write: WriteKind
    workers: int
    connections: int
    planned: int
    sent: int
    run: PlanRun
    check: CapacityCheck

    def failures(self) -> list[str]:
        found = [f"{self.write}: {name} {n}" for name, n in self.run.errors().items()]
        return found + [f"{self.write}: {problem}" for problem in self.check.problems]


@dataclass(frozen=True)
class WriteBench:
    database: str  # the server's version
    duration_s: int
    events: int
    volunteers: int
    rows: list[WriteRow]

    def failures(self) -> list[str]:
        return [failure for row in self.rows for failure in row.failures()]


def _measure_write(
    kind: WriteKind,
    *,
    url: str,
    database_url: str,
    plan: Plan,
    event_ids: Sequence[int],
    workers: int,
    duration_s: int,
    workdir: Path,
) -> WriteRow:
    run = run_plan(
        url,
        plan,
        connections=CONNECTIONS,
        duration_s=duration_s,
        workdir=workdir,
        wrk=wrk_binary() or "wrk",
    )
    sent = sent_requests(plan, run)
    slots, row_ids = slot_counts(database_url, event_ids)
    check = check_capacity(slots, requested_per_slot(sent), run.statuses, run.created, row_ids)
    return WriteRow(
        write=kind,
        workers=workers,
        connections=CONNECTIONS,
        planned=len(plan.requests),
        sent=len(sent),
        run=run,
        check=check,
    )


def measure_writes(
    workdir: Path,
    *,
    duration_s: int,
    workers: int,
    events: int = DEFAULT_EVENTS,
    server_env: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> WriteBench:
    """The writes benchmark on a throwaway PostgreSQL cluster of its own: seeds, serves with
    `workers` workers (`server_env` added to the server's environment; `source`: another
    version's tree to serve, harness.baseline's), measures each kind of write for
    `duration_s` at 64 connections, and counts every place. Prints a line per kind as it
    goes."""
    workdir.mkdir(parents=True, exist_ok=True)
    with fresh_database("postgresql", workdir) as database_url:
        print("writes: seeding the standard workload, logins and events", flush=True)
        version = seed(database_url)
        volunteers = give_volunteers_logins(database_url)
        event_ids: dict[WriteKind, list[int]] = {}
        for index, kind in enumerate(ROUTES):
            # The first POPULAR_EVENTS of each set are its popular events.
            event_ids[kind] = add_open_events(
                database_url,
                count=POPULAR_EVENTS + events,
                first=FIRST_EXTRA_EVENT + timedelta(days=index * (POPULAR_EVENTS + events)),
                capacities=CAPACITIES,
                title=kind.capitalize(),
            )
        rows = []
        with (
            running_server(
                database_url,
                workdir=workdir,
                workers=workers,
                extra_env={**SERVER_ENV, **(server_env or {})},
                source=source,
            ) as server,
            httpx.Client(base_url=server.url, timeout=30.0) as client,
        ):
            admin = AdminToken(client, email=ADMIN_EMAIL, organisation=SLUG)
            tokens = log_in_volunteers(client, volunteers)
            warm_up = Endpoint("list events", "/api/v1/events?limit=50", 50)
            for kind in ROUTES:
                command = wrk_command(
                    server.url + warm_up.path,
                    connections=CONNECTIONS,
                    duration_s=WARM_UP_S,
                    token=admin.valid_for(WARM_UP_S),
                    wrk=wrk_binary() or "wrk",
                )
                run_wrk(command, duration_s=WARM_UP_S)
                plan = Plan(
                    tokens=tokens
                    if kind == "self sign-up"
                    else {ADMIN_KEY: admin.valid_for(duration_s + 60)},
                    requests=write_plan(
                        kind,
                        volunteers,
                        event_ids[kind][POPULAR_EVENTS:],
                        event_ids[kind][:POPULAR_EVENTS],
                    ),
                    mode="once",
                )
                row = _measure_write(
                    kind,
                    url=server.url,
                    database_url=database_url,
                    plan=plan,
                    event_ids=event_ids[kind],
                    workers=workers,
                    duration_s=duration_s,
                    workdir=workdir / kind.replace(" ", "-"),
                )
                rows.append(row)
                print("  " + _table_line(row), flush=True)
    return WriteBench(
        database=f"PostgreSQL {version}",
        duration_s=duration_s,
        events=events,
        volunteers=len(volunteers),
        rows=rows,
    )


# ---------------------------------------------------------------------------------------------
# Reporting


HEADER = (
    "| write | workers | connections | requests/s | p50 ms | p99 ms | requests | 201 "
    "| refused (409) | errors | slots (full) | capacity |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|",
)


def _refusals(statuses: Mapping[str, int]) -> str:
    refused = {k.removeprefix("409 /problems/"): n for k, n in statuses.items() if k != "201"}
    return ", ".join(f"{k} {n:,}" for k, n in sorted(refused.items())) or "0"


def _table_line(row: WriteRow) -> str:
    r = row.run
    errors = ", ".join(f"{k} {n}" for k, n in r.errors().items()) or "0"
    capacity = "exact" if not row.check.problems else f"{len(row.check.problems)} problems"
    return (
        f"| {row.write} | {row.workers} | {row.connections} | {r.requests_per_s:,.0f} "
        f"| {r.result.p50_ms:.1f} | {r.result.p99_ms:.1f} | {r.result.requests:,} "
        f"| {r.count('201'):,} | {_refusals(r.statuses)} | {errors} "
        f"| {row.check.slots:,} ({row.check.full:,}) | {capacity} |"
    )


def report_title(bench: WriteBench) -> str:
    return f"Writes at {CONNECTIONS} connections ({bench.database})"


def report_lines(bench: WriteBench) -> list[str]:
    """The writes section of a report under its title: the table, what the workload was, and
    any failure."""
    lines = [
        f"{bench.volunteers} volunteers with logins; per kind of write {POPULAR_EVENTS} popular "
        f"and {bench.events} other published events of six role slots (capacities "
        f"{', '.join(map(str, CAPACITIES))}, rotating); each write a distinct (person, event) "
        f"pair, every {POPULAR_EVERY}th to a popular event; {bench.duration_s} s per run after "
        f"a {WARM_UP_S} s warm-up (list events).",
        "",
        *HEADER,
        *(_table_line(row) for row in bench.rows),
        "",
    ]
    for row in bench.rows:
        share = row.sent / row.planned if row.planned else 0.0
        note = f"- {row.write} ({ROUTES[row.write]}): {row.sent:,} of {row.planned:,} planned "
        note += f"writes sent ({share:.0%}), {row.check.places:,} places taken, "
        note += f"window {row.run.window_s:.1f} s, drain {row.run.drain_s:.2f} s"
        if row.run.exhausted:
            note += "; the plan ran out before the window ended (raise BENCH_WRITE_EVENTS)"
        lines.append(note)
    lines += [f"- FAILED: {failure}" for failure in bench.failures()]
    lines += [
        "",
        "requests/s: answers / the window (wrk's run without the drain, in which the requests "
        "still in flight were answered); slots: every role slot of the measured events, and "
        "how many are full; capacity: `filled` == assignments == min(capacity, requests) for "
        "every slot, and each 201 is exactly one row.",
        "",
    ]
    return lines


def main() -> int:
    config = Config.from_environment()
    facts = start_run()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sf-writes-") as tmp:
        bench = measure_writes(
            Path(tmp), duration_s=config.duration_s, workers=config.workers, events=config.events
        )
    command = (
        f"BENCH_DURATION={config.duration_s} BENCH_WRITE_WORKERS={config.workers} "
        f"BENCH_WRITE_EVENTS={config.events} python -m bench.write_bench"
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            f"# SignUpFlow writes benchmark, {stamp}",
            "",
            *(f"- {key}: {value}" for key, value in facts.items()),
            f"- command: `{command}`",
            "",
            f"## {report_title(bench)}",
            "",
            *report_lines(bench),
        ]
    )
    save_report("writes", text, {"facts": facts, "writes": raw_figures(bench)})
    print(f"done in {time.monotonic() - started:.0f} s")
    failures = bench.failures()
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def raw_figures(bench: WriteBench) -> dict[str, Any]:
    """The figures for the JSON report (without the long list of created ids)."""
    raw = asdict(bench)
    for row in raw["rows"]:
        row["run"].pop("created", None)
    return raw


if __name__ == "__main__":
    run(main)
