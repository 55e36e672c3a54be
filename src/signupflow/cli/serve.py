from __future__ import annotations

import os
import tempfile

import click
import uvicorn

from signupflow.cli.common import settings_or_exit
from signupflow.ops.logging import configure_logging
from signupflow.ops.server import run_server

APP_FACTORY = "signupflow.app:app_from_environment"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    envvar="WEB_CONCURRENCY",
    help="Worker processes (env WEB_CONCURRENCY)",
)
@click.option("--reload", is_flag=True, help="Restart on code changes (development only)")
@click.option(
    "--app",
    "app_factory",
    default=APP_FACTORY,
    show_default=True,
    help="ASGI app factory to serve with the same server machinery (diagnostics)",
)
def serve(host: str, port: int, workers: int, reload: bool, app_factory: str) -> None:
    """Serve the API. Refuses to start when the configuration is invalid. On SIGTERM it
    drains (DRAIN_DELAY_S), finishes in-flight requests (SHUTDOWN_TIMEOUT_S) and exits 0."""
    settings = settings_or_exit()
    configure_logging(level=settings.effective_log_level, fmt=settings.log_format)
    if reload:
        if settings.is_strict:
            raise click.UsageError("--reload is for development only")
        uvicorn.run(
            app_factory,
            factory=True,
            host=host,
            port=port,
            reload=True,
            log_config=None,
        )
        return
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Workers write their metrics here so that any worker's /metrics covers all of them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="signupflow-metrics-")
    config = uvicorn.Config(
        app_factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,  # our JSON logging, configured in each process
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=",".join(settings.trusted_proxies),
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
        timeout_keep_alive=5,
    )
    raise SystemExit(run_server(config, workers=workers, drain_delay_s=settings.drain_delay_s))
