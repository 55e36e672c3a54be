"""`make bench-restore` at a tiny size: the data generator fills the real schema, pgBackRest
backs it up and restores it with the production settings, and the restored cluster holds every
row (the benchmark refuses otherwise). The 3 GiB figures are in docs/benchmarks.md."""

from __future__ import annotations

import shutil

import pytest
from bench.restore_bench import GIB, run_benchmark

from harness.postgres import pg_bin_dir
from tests.support.services import require_service
from tests.support.settings import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="needs a real PostgreSQL cluster and pgBackRest; runs in the PostgreSQL pass",
)
TARGET_GIB = 0.01


def test_the_restore_benchmark_backs_up_and_restores_every_row_of_what_it_generated() -> None:
    if pg_bin_dir() is None:
        require_service("PostgreSQL server binaries are not installed")
    if shutil.which("pgbackrest") is None:
        require_service("pgbackrest is not installed (apt-get install pgbackrest)")
    figures = run_benchmark(TARGET_GIB).figures
    assert figures["database_bytes"] >= TARGET_GIB * GIB
    assert figures["organisations"] > 1
    # Copies of organisation 0: every table holds a multiple of its rows.
    assert figures["rows"]["assignments"] == 200 * figures["organisations"]
    assert figures["rows"]["people"] == 201 * figures["organisations"]
    assert figures["cluster_bytes"] > figures["repository_bytes"] > 0
    assert 0 < figures["restore_seconds"] <= figures["ready_seconds"]
    assert figures["extrapolated_restore_seconds"] > figures["restore_seconds"]
