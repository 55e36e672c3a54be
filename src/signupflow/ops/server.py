"""Running Uvicorn with a graceful, load-balancer-friendly shutdown.

On SIGTERM (or SIGINT) a worker:
1. reports not-ready at once (/health/ready answers 503) and answers with `Connection: close`,
   so the edge stops routing to it and clients reconnect elsewhere;
2. keeps serving for `drain_delay_s`, longer than the edge's health-check interval, so requests
   routed before the edge noticed still succeed;
3. stops accepting, lets in-flight requests finish within `timeout_graceful_shutdown`, closes
   its pools (lifespan shutdown) and exits 0.
A second signal skips the rest of the drain; a third forces exit.

Uvicorn's own multi-process supervisor always uses its plain Server class, so several workers
are supervised here: the parent forwards SIGTERM to every worker and waits for them.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from multiprocessing.context import SpawnProcess
from types import FrameType

import uvicorn
from uvicorn._subprocess import get_subprocess

from signupflow.ops.shutdown import DRAIN

log = logging.getLogger("signupflow.server")
STARTUP_FAILURE = 3  # as uvicorn: the app could not start, so restarting it would not help


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, drain_delay_s: float) -> None:
        super().__init__(config)
        self.drain_delay_s = drain_delay_s
        self._signals = 0

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not recorded in uvicorn's _captured_signals: re-raising the signal after a clean
        # shutdown would make the process die "by signal" instead of exiting 0.
        self._signals += 1
        if self._signals == 1 and DRAIN.begin():
            log.info("draining for %.1f s before closing listeners", self.drain_delay_s)
            timer = threading.Timer(self.drain_delay_s, self._stop_accepting)
            timer.daemon = True
            timer.start()
        elif self._signals == 2:
            self._stop_accepting()
        else:
            self.force_exit = True

    def _stop_accepting(self) -> None:
        self.should_exit = True

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        super().run(sockets)
        if not self.started:
            raise SystemExit(STARTUP_FAILURE)


def run_server(config: uvicorn.Config, *, workers: int, drain_delay_s: float) -> int:
    """Serve until stopped; the exit status is 0 after a graceful shutdown."""
    if workers == 1:
        server = GracefulServer(config, drain_delay_s=drain_delay_s)
        server.run()
        return 0
    return _supervise(config, workers=workers, drain_delay_s=drain_delay_s)


def _supervise(config: uvicorn.Config, *, workers: int, drain_delay_s: float) -> int:
    sock = config.bind_socket()
    stopping = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)

    def spawn() -> SpawnProcess:
        target = GracefulServer(config, drain_delay_s=drain_delay_s).run
        process = get_subprocess(config, target=target, sockets=[sock])
        process.start()
        return process

    processes = [spawn() for _ in range(workers)]
    started = time.monotonic()
    while not stopping.wait(0.5):
        for index, process in enumerate(processes):
            if not process.is_alive():
                exitcode = process.exitcode
                if exitcode == STARTUP_FAILURE and time.monotonic() - started < 30:
                    log.error("worker failed to start (exit %s); stopping", exitcode)
                    stopping.set()
                    break
                log.warning("worker %s exited with %s; replacing it", process.pid, exitcode)
                processes[index] = spawn()
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: each worker drains on its own
    # The workers hold their own copies of the listening socket; once they close theirs after
    # the drain, new connections must be refused, not left queueing on ours.
    sock.close()
    for process in processes:
        process.join()
    codes = [process.exitcode for process in processes]
    return 0 if all(code == 0 for code in codes) else 1
