from __future__ import annotations

import click
import uvicorn

from signupflow.cli.common import settings_or_exit

# Below the usual 30 s orchestrator grace period, so in-flight requests finish before SIGKILL.
GRACEFUL_SHUTDOWN_S = 25


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--reload", is_flag=True, help="Restart on code changes (development only)")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the API. Refuses to start when the configuration is invalid."""
    settings = settings_or_exit()
    if reload and settings.is_strict:
        raise click.UsageError("--reload is for development only")
    uvicorn.run(
        "signupflow.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level=settings.effective_log_level.lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
    )
