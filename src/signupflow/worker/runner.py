"""The worker loop: run every registered task, sleep the poll interval when none had work,
stop between items when asked. Used by `signupflow worker` and, in development, by a thread
inside `serve`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from signupflow.notifications.mailer import Mailer, make_mailer
from signupflow.settings import Settings
from signupflow.worker.tasks import TASKS, Task, TaskContext

log = logging.getLogger("signupflow.worker")


class Worker:
    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        *,
        tasks: Sequence[Task] = TASKS,
        mailer: Mailer | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.stop = stop or threading.Event()
        self.tasks = tuple(tasks)
        self.poll_interval_s = settings.worker_poll_interval_s
        self.ctx = TaskContext(
            settings=settings,
            session_factory=session_factory,
            mailer=mailer or make_mailer(settings),
            stop=self.stop,
        )
        self._last_run: dict[str, float] = {}

    def run_once(self) -> int:
        """Run each task that is due; how many items they handled."""
        handled = 0
        for task in self.tasks:
            if self.stop.is_set():
                break
            now = time.monotonic()
            last = self._last_run.get(task.name)
            if task.interval_s is not None and last is not None and now - last < task.interval_s:
                continue
            self._last_run[task.name] = now
            try:
                handled += task.run(self.ctx)
            except Exception:
                # A database or network outage must not end the worker: retry next poll.
                log.exception("task failed", extra={"task": task.name})
        return handled

    def run(self) -> None:
        log.info(
            "worker started",
            extra={"tasks": [t.name for t in self.tasks], "poll_interval_s": self.poll_interval_s},
        )
        while not self.stop.is_set():
            if self.run_once() == 0:
                self.stop.wait(self.poll_interval_s)
        log.info("worker stopped")


def start_thread(worker: Worker) -> threading.Thread:
    thread = threading.Thread(target=worker.run, name="signupflow-worker", daemon=True)
    thread.start()
    return thread
