"""`make bench-solver`: the standard workload (shared notes, benchmarks.md) and the large one
(1,000 volunteers x 250 events over the same period), each seeded through the service layer
into a fresh SQLite database and solved through `solve_now`, the function the API calls."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from signupflow.actor import Actor
from signupflow.auth.models import User
from signupflow.db import migrate
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.demo import ROLES, seed_workload
from signupflow.events.models import EventStatus
from signupflow.events.schemas import EventCreate, SlotSpec
from signupflow.events.service import create_event
from signupflow.organisations.models import Organisation
from signupflow.scheduling.runs import SolveSlots, solve_now
from signupflow.settings import Settings

START = datetime(2030, 1, 6, 15, 0, tzinfo=UTC)
PERIOD = timedelta(days=100)  # the standard workload: 50 events, one every two days
TIME_LIMIT_S = 10.0


def _machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), cpu)
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    memory_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return f"{os.cpu_count()} CPUs ({cpu}), {memory_kb / 1024 / 1024:.1f} GiB"


def _seed_large(session, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    seed_workload(
        session,
        settings,
        slug="large",
        admin_email="admin@large.example.org",
        password="bench-password-not-secret",
        volunteers=1000,
        events=0,
        time_off=200,
        start=START,
    )
    organisation = session.scalars(select(Organisation).where(Organisation.slug == "large")).one()
    admin_id = session.scalars(select(User.id).where(User.email == "admin@large.example.org")).one()
    admin = Actor.system(organisation, user_id=admin_id)
    for i in range(250):
        starts_at = START + PERIOD * i / 250
        create_event(
            session,
            admin,
            EventCreate(
                title=f"Event {i + 1:03d}",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                status=EventStatus.PUBLISHED,
                slots=[SlotSpec(role=ROLES[(i + k) % len(ROLES)], capacity=1) for k in range(4)],
            ),
        )


def run(name: str, volunteers: int, events: int, target_s: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            app_env="test",
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            bcrypt_rounds=4,
        )
        engine = make_engine(settings)
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            if events == 50:
                seed_workload(
                    session,
                    settings,
                    slug=name,
                    admin_email=f"admin@{name}.example.org",
                    password="bench-password-not-secret",
                    start=START,
                )
            else:
                _seed_large(session, settings)
        with unit_of_work(factory) as session:
            organisation = session.scalars(select(Organisation)).one()
            started = time.perf_counter()
            schedule = solve_now(
                session,
                factory,
                SolveSlots(1, retry_after_s=TIME_LIMIT_S),
                actor=Actor.system(organisation),
                starts=START - timedelta(days=1),
                ends=START + PERIOD + timedelta(days=1),
                time_limit_s=TIME_LIMIT_S,
            )
            report = schedule.report
        service_s = time.perf_counter() - started
        engine.dispose()
    fairness = report["fairness"]
    return {
        "workload": f"{name}: {volunteers} volunteers x {events} events",
        "service_s": round(service_s, 2),
        "solver_s": report["timing"]["total_s"],
        "target_s": target_s,
        "coverage": f"{report['filled']}/{report['seats']}",
        "violations": len(report["violations"]),
        "fairness": f"{fairness['min']}-{fairness['max']} (stdev {fairness['stdev']})",
        "engine": f"{report['engine']}: {report['engine_note']}",
    }


def main() -> None:
    rows = [run("standard", 200, 50, 1.0), run("large", 1000, 250, 10.0)]
    versions = ", ".join(
        f"{pkg} {importlib.metadata.version(pkg)}"
        for pkg in ("signupflow", "ortools", "sqlalchemy")
    )
    print(f"machine: {_machine()}; Python {platform.python_version()}; {versions}")
    print(f"command: make bench-solver ({' '.join(sys.argv)}); database: SQLite (temp file)")
    print(
        "| workload | service wall (s) | solver only (s) | target (s) | filled | hard violations "
        "| assignments per person | engine |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        print(
            f"| {r['workload']} | {r['service_s']} | {r['solver_s']} | < {r['target_s']} | "
            f"{r['coverage']} | {r['violations']} | {r['fairness']} | {r['engine']} |"
        )


if __name__ == "__main__":
    main()
