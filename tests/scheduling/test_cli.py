"""`signupflow schedule solve` as operators run it: bad input exits non-zero, saying why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from signupflow.db import migrate
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.demo import seed_workload
from tests.support.settings import make_settings

SRC = Path(__file__).resolve().parents[2] / "src"


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    # This checkout's code, whichever checkout the venv's `signupflow` script points at.
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "APP_ENV": "test", "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from signupflow.cli.main import cli; cli()",
            "schedule",
            "solve",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_schedule_solve_reports_and_refuses_bad_input(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    settings = make_settings(url)
    engine = make_engine(settings)
    migrate.upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        seed_workload(
            session,
            settings,
            slug="clidemo",
            admin_email="a@cli.example.org",
            password="cli-password",
            volunteers=24,
            events=6,
            time_off=2,
        )
    engine.dispose()

    unknown = run(url, "--org", "nowhere", "--from", "2030-01-01", "--to", "2030-02-01")
    assert unknown.returncode != 0
    assert "no organisation with the slug 'nowhere'" in unknown.stderr
    bad_date = run(url, "--org", "clidemo", "--from", "2030-13-01", "--to", "2030-02-01")
    assert bad_date.returncode != 0
    assert "is not a date" in bad_date.stderr
    backwards = run(url, "--org", "clidemo", "--from", "2030-02-01", "--to", "2030-01-01")
    assert backwards.returncode != 0

    solved = run(
        url, "--org", "clidemo", "--from", "2030-01-01", "--to", "2030-02-01", "--publish", "--json"
    )
    assert solved.returncode == 0, solved.stderr
    report = json.loads(solved.stdout)
    assert (report["filled"], report["seats"], report["violations"]) == (24, 24, [])
    assert report["published"] == {"added": 24, "removed": 0}
