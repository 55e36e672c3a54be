"""`python -m tests.support.serve_test_app MODULE:FACTORY PORT WORKERS`: serve a test app
through the production server machinery (GracefulServer, the worker supervisor)."""

from __future__ import annotations

import sys

import uvicorn

from signupflow.ops.logging import configure_logging
from signupflow.ops.server import run_server
from signupflow.settings import load_settings


def main() -> None:
    app, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    settings = load_settings()
    configure_logging(level="INFO", fmt="json")
    config = uvicorn.Config(app, factory=True, host="127.0.0.1", port=port, workers=workers,
                            log_config=None, access_log=False,
                            timeout_graceful_shutdown=int(settings.shutdown_timeout_s))
    raise SystemExit(run_server(config, workers=workers, drain_delay_s=settings.drain_delay_s))


if __name__ == "__main__":
    main()
