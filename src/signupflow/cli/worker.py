from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import click
from prometheus_client import start_http_server

from signupflow.cli.common import settings_or_exit
from signupflow.db import migrate
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory
from signupflow.ops.logging import configure_logging
from signupflow.worker.runner import Worker

log = logging.getLogger("signupflow.worker")
EXIT_SHUTDOWN_TIMEOUT = 1


@click.command()
@click.option("--once", is_flag=True, help="Run every task once, then exit")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65_535),
    envvar="WORKER_METRICS_PORT",
    help="Serve Prometheus metrics on this port (env WORKER_METRICS_PORT)",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
def worker(once: bool, metrics_port: int | None, metrics_host: str) -> None:
    """Run background tasks (sending notifications, queueing shift reminders). Several may run
    at once. On SIGTERM it finishes the item in hand and exits 0 (within SHUTDOWN_TIMEOUT_S)."""
    settings = settings_or_exit()
    configure_logging(level=settings.effective_log_level, fmt=settings.log_format)
    engine = make_engine(settings)
    if settings.should_auto_migrate:
        migrate.upgrade(engine)
    if metrics_port:
        start_http_server(metrics_port, addr=metrics_host)
    runner = Worker(settings, make_session_factory(engine))

    def on_signal(sig: int, _frame: FrameType | None) -> None:
        if runner.stop.is_set():
            return
        log.info("stopping: finishing the current item", extra={"signal": sig})
        runner.stop.set()
        # The item in hand is bounded by the SMTP timeout; if it is not, leave anyway (its
        # lease makes another worker retry it) before the orchestrator's SIGKILL.
        timer = threading.Timer(settings.shutdown_timeout_s, _give_up)
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if once:
            runner.run_once()
        else:
            runner.run()
    finally:
        engine.dispose()


def _give_up() -> None:
    log.error("shutdown timeout: exiting with the current item unfinished")
    logging.shutdown()
    os._exit(EXIT_SHUTDOWN_TIMEOUT)
