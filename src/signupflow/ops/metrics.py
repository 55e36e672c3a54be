"""Prometheus metrics. With several worker processes, PROMETHEUS_MULTIPROC_DIR makes every
scrape see the whole server (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

REQUESTS = Counter("signupflow_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "signupflow_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    # Every latency target in deploy/monitoring/rules/slo.yml is a bucket bound (0.2, 0.5),
    # so "p99 over the target" is read exactly, not interpolated inside a bucket.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter("signupflow_http_errors_total", "Responses with status 5xx", ["route"])
SOLVER_RUNS = Counter("signupflow_solver_runs_total", "Solver runs", ["engine"])
SOLVER_SECONDS = Histogram(
    "signupflow_solver_seconds",
    "Solver wall time",
    ["engine"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60, 120),
)
NOTIFICATIONS_SENT = Counter(
    "signupflow_notifications_sent_total", "E-mails handed to the SMTP server", ["kind"]
)
NOTIFICATIONS_FAILED = Counter(
    "signupflow_notifications_failed_total",
    "Failed send attempts; final=true when no retry is left",
    ["kind", "final"],
)
NOTIFICATIONS_UNRENDERABLE = Counter(
    "signupflow_notifications_unrenderable_total",
    "Notifications that could not be made into a message (a defect: alert on any); each is "
    "marked failed and logged at error level with its id",
    ["kind"],
)
NOTIFICATIONS_QUEUED = Gauge(
    "signupflow_notifications_queue_depth",
    "Notifications waiting to be sent (pending or being sent)",
    multiprocess_mode="max",
)
SOLVER_QUEUED = Gauge(
    "signupflow_solver_queue_depth",
    "Solver runs waiting for a worker (queued, not yet claimed)",
    multiprocess_mode="max",
)

__all__ = ["CONTENT_TYPE_LATEST", "ERRORS", "LATENCY", "REQUESTS", "observe", "render"]


def observe(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
    if status >= 500:
        ERRORS.labels(route).inc()


class PoolCollector(Collector):
    """Connection-pool usage of this process, read at scrape time."""

    def __init__(self, engine: Engine, maximum: int) -> None:
        self.engine = engine
        self.maximum = maximum

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.engine.pool
        gauge = GaugeMetricFamily(
            "signupflow_db_pool_connections", "Database connections", labels=["state", "pid"]
        )
        pid = str(os.getpid())
        if isinstance(pool, QueuePool):
            gauge.add_metric(["active", pid], pool.checkedout())
            gauge.add_metric(["idle", pid], pool.checkedin())
        gauge.add_metric(["max", pid], self.maximum)
        yield gauge


def render(pool_collector: PoolCollector) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        # The notification metrics count here when the worker runs inside `serve`.
        for collector in (
            REQUESTS,
            LATENCY,
            ERRORS,
            NOTIFICATIONS_SENT,
            NOTIFICATIONS_FAILED,
            NOTIFICATIONS_UNRENDERABLE,
            NOTIFICATIONS_QUEUED,
            SOLVER_QUEUED,
            SOLVER_RUNS,
            SOLVER_SECONDS,
        ):
            registry.register(collector)
    registry.register(pool_collector)
    return generate_latest(registry)
