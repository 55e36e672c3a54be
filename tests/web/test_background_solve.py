"""The schedule page when the solver runs in the background (SOLVER_IN_WORKER, as in
production): the API answers 202 with a queued schedule, the page says the scheduler is at work
and polls until the real `signupflow worker` process has made the draft, or has failed."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from harness.app_server import AppServer, signupflow_executable, start_server
from harness.repository import REPO
from tests.web.browser import DESKTOP
from tests.web.support import (
    DATABASES,
    Org,
    api_signup,
    log_in_browser,
    messages,
    open_page,
    published_event,
    server_env,
    submit,
    volunteer,
    watch,
)
from tests.web.test_schedule_review import EVENT

TEXT = messages("en")
# The page polls once a second; the worker process starts, solves and exits within this.
READY_TIMEOUT_MS = 15_000


@dataclass
class Background:
    server: AppServer
    env: dict[str, str]
    database: Path

    def run_worker(self) -> None:
        """One pass of the real worker over the same database: every queued run is solved."""
        done = subprocess.run(
            [signupflow_executable(), "worker", "--once"],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


@pytest.fixture(scope="module")
def background(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    data = tmp_path_factory.mktemp("web-worker")
    # No worker thread in the server: the test starts the worker when it wants the run solved,
    # so the page is seen waiting first.
    env = {**server_env(data), "SOLVER_IN_WORKER": "true", "WORKER_INLINE": "false"}
    server = start_server(env, data / "server.log")
    try:
        server.wait_ready()
        DATABASES[server.url] = env["DATABASE_URL"]
        yield Background(server, env, data / "signupflow.db")
    finally:
        server.stop()


@pytest.fixture
def watched(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    yield watch(context.new_page())
    context.close()


def start_run(page: Any, background: Background) -> int:
    """Run the scheduler from the page; the id of the schedule the API queued (202)."""
    schedule_id, _, _ = start_run_of(page, background)
    return schedule_id


def start_run_of(page: Any, background: Background) -> tuple[int, Org, dict[str, Any]]:
    """The same, with the organisation and its event."""
    base = background.server.url
    org = api_signup(base)
    with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
        volunteer(api, base, "Ana")
        event = published_event(api, EVENT, hours=3)
    log_in_browser(page, base, org.tokens)
    open_page(page, base, "/schedule", "schedule")
    form = page.locator("main form").first
    with page.expect_response(re.compile(r"/api/v1/schedules/solve$")) as response:
        submit(form)
    assert response.value.status == 202, response.value.text()
    # Nothing solves it yet: the page says so and stays where it is.
    expect(form.get_by_role("status")).to_have_text(TEXT["plan.queued"])
    expect(page).to_have_url(re.compile(r"#/schedule$"))
    schedule_id: int = response.value.json()["id"]
    return schedule_id, org, event


def test_the_page_waits_for_the_worker_and_shows_the_draft(
    background: Background, watched: Any
) -> None:
    schedule_id = start_run(watched.page, background)
    background.run_worker()
    expect(watched.page.locator(".flash")).to_have_text(
        TEXT["plan.ready"], timeout=READY_TIMEOUT_MS
    )
    expect(watched.page).to_have_url(re.compile(rf"#/schedule\?id={schedule_id}$"))
    review = watched.page.locator(f"main section.review[data-schedule='{schedule_id}']")
    expect(review).to_have_attribute("data-status", "draft")
    expect(review.locator("article.plan-event", has_text=EVENT)).to_contain_text("Ana")
    watched.assert_clean()


def test_a_failed_background_run_is_shown_as_failed(background: Background, watched: Any) -> None:
    schedule_id = start_run(watched.page, background)
    # A request the solver cannot read: what any bug in a run looks like to the worker (as in
    # tests/api/test_solver_in_worker.py). The worker's own failure handling does the rest.
    with sqlite3.connect(background.database) as db:
        db.execute("UPDATE schedules SET report = '{}' WHERE id = ?", (schedule_id,))
    db.close()
    background.run_worker()
    form = watched.page.locator("main form").first
    expect(form.locator(".form-error")).to_have_text(TEXT["plan.failed"], timeout=READY_TIMEOUT_MS)
    expect(form.get_by_role("status")).to_have_text("")
    expect(watched.page).to_have_url(re.compile(r"#/schedule$"))

    # Coming back later, the run is listed, and shown, as failed.
    watched.page.reload()
    failed = TEXT["schedule_status.failed"]
    listed = watched.page.locator(f"main table a[href='#/schedule?id={schedule_id}']")
    expect(listed).to_have_text(TEXT["plan.schedule_name"].format(id=schedule_id, status=failed))
    review = watched.page.locator(f"main section.review[data-schedule='{schedule_id}']")
    expect(review).to_have_attribute("data-status", "failed")
    expect(watched.page.locator("main section.review > h2")).to_have_text(
        TEXT["plan.review_title"].format(id=schedule_id, status=failed)
    )
    expect(review.get_by_text(TEXT["plan.failed"], exact=True)).to_be_visible()
    watched.assert_clean()


def test_a_run_still_in_the_worker_is_shown_in_progress_then_ready(
    background: Background, watched: Any
) -> None:
    schedule_id = start_run(watched.page, background)
    # Opened again while the run waits for the worker: no half-made draft, but a status...
    watched.page.reload()
    review = watched.page.locator(f"main section.review[data-schedule='{schedule_id}']")
    expect(review).to_have_attribute("data-status", "queued")
    expect(review.get_by_role("status")).to_have_text(TEXT["plan.queued"])
    expect(review.locator("article.plan-event")).to_have_count(0)
    # ...and the draft once the worker has made it.
    background.run_worker()
    expect(review).to_have_attribute("data-status", "draft", timeout=READY_TIMEOUT_MS)
    expect(review.locator("article.plan-event", has_text=EVENT)).to_contain_text("Ana")
    watched.assert_clean()


def test_the_waiting_page_polls_conditionally_and_sees_another_admins_change(
    background: Background, watched: Any
) -> None:
    """While the run waits, each poll sends the tag of the last answer and is answered 304
    Not Modified, without a body; a change another admin makes to the organisation makes the
    next poll a full answer again, and the draft, when the worker has made it, shows it."""
    page = watched.page
    polled = re.compile(r"/api/v1/schedules/\d+$")

    def poll(status: int) -> Callable[[Any], bool]:
        return lambda response: bool(polled.search(response.url)) and response.status == status

    unchanged: list[Any] = []
    page.on(
        "response", lambda response: unchanged.append(response) if poll(304)(response) else None
    )
    schedule_id, org, event = start_run_of(page, background)
    page.wait_for_event("response", poll(304), timeout=READY_TIMEOUT_MS)
    page.wait_for_event("response", poll(304), timeout=READY_TIMEOUT_MS)
    sent = {response.request.headers.get("if-none-match") for response in unchanged}
    assert None not in sent
    assert unchanged[0].headers["etag"] in sent

    base = background.server.url
    with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
        other_admin = volunteer(api, base, "Bea", role="admin")
        with page.expect_response(poll(200), timeout=READY_TIMEOUT_MS) as changed:
            renamed = httpx.patch(
                f"{base}/api/v1/events/{event['id']}",
                json={"title": "Harvest fair (moved)"},
                headers={"Authorization": f"Bearer {other_admin['tokens']['access_token']}"},
            )
            assert renamed.status_code == 200, renamed.text
    # Still waiting: a new tag, the same run; the polls that follow are 304s to the new tag.
    assert changed.value.json()["status"] == "queued"
    assert changed.value.headers["etag"] not in sent
    with page.expect_response(poll(304), timeout=READY_TIMEOUT_MS) as again:
        pass
    assert again.value.request.headers["if-none-match"] == changed.value.headers["etag"]
    expect(page.locator("main form").first.get_by_role("status")).to_have_text(TEXT["plan.queued"])

    background.run_worker()
    review = page.locator(f"main section.review[data-schedule='{schedule_id}']")
    expect(review).to_have_attribute("data-status", "draft", timeout=READY_TIMEOUT_MS)
    expect(review.locator("article.plan-event", has_text="Harvest fair (moved)")).to_contain_text(
        "Ana"
    )
    watched.assert_clean()
