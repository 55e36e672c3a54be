"""The schedule page beyond running and publishing one draft: two drafts compared (the diff the
page shows), an earlier schedule published again (roll back), a published one unpublished,
and a hand edit that breaks a rule (the translated rule shown, nothing lost). And a volunteer
declining a shift: the place opens again for the others."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.support.messages import render
from tests.web.browser import DESKTOP
from tests.web.support import (
    PLACEHOLDER,
    Org,
    api_signup,
    log_in_browser,
    messages,
    open_page,
    published_event,
    submit,
    volunteer,
    watch,
)

TEXT = messages("en")
EVENT = "Harvest fair"


def run_draft(page: Any, text: dict[str, str], after: str | None = None) -> Any:
    """Run the scheduler from the page (solved within the request here); the new draft,
    once it replaces the review of `after` (so the last run's flash is not taken for it)."""
    submit(page.locator("main form").first)
    review = page.locator("main section.review[data-status=draft]")
    if after is not None:
        expect(review).not_to_have_attribute("data-schedule", after)
    expect(review).to_be_visible()
    expect(page.locator(".flash")).to_have_text(text["plan.ready"])
    return review


def show_schedule(page: Any, base: str, schedule_id: str) -> None:
    # Only the hash changes: wait for this schedule's review, not the one already shown.
    open_page(page, base, f"/schedule?id={schedule_id}", "schedule")
    expect(page.locator(f"main section.review[data-schedule='{schedule_id}']")).to_be_visible()


def placed_in(review: Any) -> str:
    """The one person the draft puts in the usher slot (the solver's pick: Ana or Ben)."""
    chip = review.locator("li.plan-slot ul.entries > li")
    expect(chip).to_have_count(1)
    return "Ana" if chip.inner_text().startswith("Ana") else "Ben"


def confirm(page: Any, question: str) -> None:
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text(question)
    dialog.locator("button[value=yes]").click()


def act(page: Any, label: str, question: str, flash: str, status: str) -> Any:
    """Press one of the review's actions, confirm, and wait for the schedule's new state."""
    page.locator("[data-testid=plan-actions] button", has_text=label).click()
    confirm(page, question)
    expect(page.locator(".flash")).to_have_text(flash)
    review = page.locator(f"main section.review[data-status={status}]")
    expect(review).to_be_visible()
    return review


def usher_coverage(page: Any, org: Org) -> Any:
    open_page(page, org.base_url, "/dashboard", "dashboard")
    return page.locator("main tbody tr", has_text=EVENT).locator("ul.coverage")


def test_identical_drafts_compare_without_placeholder_text(
    web_server: AppServer, browser: Any
) -> None:
    # Nothing added or removed: the page once printed the empty lists as "nullnull" (#16).
    base = web_server.url
    org = api_signup(base)
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    try:
        with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
            volunteer(api, base, "Ana")
            published_event(api, EVENT, hours=3)
        watched = watch(context.new_page())
        page = watched.page
        log_in_browser(page, base, org.tokens)
        open_page(page, base, "/schedule", "schedule")
        first_id = run_draft(page, TEXT).get_attribute("data-schedule") or ""
        run_draft(page, TEXT, after=first_id)
        compare = page.locator("main form", has=page.locator("[name=against]"))
        compare.locator("[name=against]").select_option(first_id)
        submit(compare)
        expect(page.locator("[data-testid=compare-summary]")).to_have_text(
            TEXT["plan.diff_summary"].format(added=0, removed=0, unchanged=1)
        )
        shown = page.locator("main .comparison").inner_text()
        assert PLACEHOLDER.findall(shown) == [], shown
        watched.assert_clean()
    finally:
        context.close()


def test_drafts_compared_published_rolled_back_and_unpublished(
    web_server: AppServer, browser: Any
) -> None:
    base = web_server.url
    org = api_signup(base)
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    try:
        with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
            volunteer(api, base, "Ana")
            volunteer(api, base, "Ben")
            published_event(api, EVENT, hours=3)
        watched = watch(context.new_page())
        page = watched.page
        log_in_browser(page, base, org.tokens)
        open_page(page, base, "/schedule", "schedule")

        # Two runs over the same data make the same draft; the second is edited by hand to
        # put the other volunteer in the slot.
        first = run_draft(page, TEXT)
        first_id = first.get_attribute("data-schedule") or ""
        chosen = placed_in(first)
        other = "Ben" if chosen == "Ana" else "Ana"
        second = run_draft(page, TEXT, after=first_id)
        second_id = second.get_attribute("data-schedule") or ""
        assert second_id != first_id
        expect(page).to_have_url(re.compile(rf"#/schedule\?id={second_id}$"))
        remove = TEXT["plan.remove_named"].format(name=chosen, role="Usher")
        second.get_by_role("button", name=remove).click()
        expect(page.locator(".flash")).to_have_text(TEXT["plan.entry_removed"])
        add = page.locator("main section.review form.add-entry")
        add.locator("[name=person_id]").select_option(label=other)
        submit(add)
        expect(page.locator(".flash")).to_have_text(TEXT["plan.entry_added"])
        chip = page.locator("main section.review li.plan-slot ul.entries > li")
        expect(chip).to_have_count(1)
        expect(chip).to_contain_text(f"{other} · {TEXT['plan.source.edit']}")

        # Compared with the first draft: one placement added, one removed, by name.
        compare = page.locator("main form", has=page.locator("[name=against]"))
        compare.locator("[name=against]").select_option(first_id)
        submit(compare)
        expect(page.locator("[data-testid=compare-summary]")).to_have_text(
            TEXT["plan.diff_summary"].format(added=1, removed=1, unchanged=0)
        )
        result = page.locator("main .comparison")
        added = result.locator("div", has=page.locator("h3", has_text=TEXT["plan.diff_added"]))
        removed = result.locator("div", has=page.locator("h3", has_text=TEXT["plan.diff_removed"]))

        # Each line says when: the same placement in two events differs by its date.
        def line(name: str) -> re.Pattern[str]:
            text = TEXT["plan.diff_line"].format(name=name, role="Usher", event=EVENT, when="@")
            # English (the interface's language): a medium date, a short time.
            when = r"\w{3} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M"
            return re.compile("^" + re.escape(text).replace("@", when) + "$")

        expect(added.locator("li")).to_have_text([line(other)])
        expect(removed.locator("li")).to_have_text([line(chosen)])

        # Publish the first, then the second over it: the first is replaced.
        show_schedule(page, base, first_id)
        act(
            page,
            TEXT["plan.publish"],
            TEXT["plan.confirm_publish"],
            TEXT["plan.published"],
            "published",
        )
        show_schedule(page, base, second_id)
        act(
            page,
            TEXT["plan.publish"],
            TEXT["plan.confirm_publish"],
            TEXT["plan.published"],
            "published",
        )
        expect(usher_coverage(page, org)).to_have_text("Usher: 1/1")

        # Roll back to the first: published again, the second replaced in the list.
        show_schedule(page, base, first_id)
        replaced = TEXT["schedule_status.superseded"]
        expect(page.locator("main section.review > h2")).to_have_text(
            TEXT["plan.review_title"].format(id=first_id, status=replaced)
        )
        review = act(
            page,
            TEXT["plan.rollback"],
            TEXT["plan.confirm_rollback"],
            TEXT["plan.rolled_back"],
            "published",
        )
        assert review.get_attribute("data-schedule") == first_id
        listed = page.locator(f"main table a[href='#/schedule?id={second_id}']")
        expect(listed).to_have_text(
            TEXT["plan.schedule_name"].format(id=second_id, status=replaced)
        )
        expect(review.locator("li.plan-slot ul.entries > li")).to_have_text(chosen)

        # Unpublish it: its unconfirmed placement goes, and it can be published again later.
        review = act(
            page,
            TEXT["plan.unpublish"],
            TEXT["plan.confirm_unpublish"],
            TEXT["plan.unpublished"],
            "unpublished",
        )
        expect(review.locator("[data-testid=plan-actions] button")).to_have_text(
            TEXT["plan.rollback"]
        )
        expect(usher_coverage(page, org)).to_have_text("Usher: 0/1")
        watched.assert_clean()
    finally:
        context.close()


def test_a_hand_edit_that_breaks_a_rule_is_refused_in_the_users_language(
    web_server: AppServer, browser: Any
) -> None:
    text = messages("es")
    base = web_server.url
    org = api_signup(base, locale="es")
    context = browser.new_context(locale="es-ES", viewport=DESKTOP)
    try:
        with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
            volunteer(api, base, "Ana")
            volunteer(api, base, "Ben")
            cook = api.post(
                "/invitations", json={"email": f"c-{org.slug}@example.org", "name": "Cleo"}
            )
            assert cook.status_code == 201, cook.text  # holds no usher role
            published_event(api, EVENT, hours=3)
        watched = watch(context.new_page())
        page = watched.page
        log_in_browser(page, base, org.tokens)
        open_page(page, base, "/schedule", "schedule")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        review = run_draft(page, text)
        url = page.url
        chosen = placed_in(review)
        other = "Ben" if chosen == "Ana" else "Ana"

        # The slot is full: adding the other usher breaks the capacity rule.
        add = review.locator("form.add-entry")
        add.locator("[name=person_id]").select_option(label=other)
        submit(add)
        rule = text["plan.rule_broken"]
        expect(add.locator(".form-error")).to_have_text(rule.format(rule=text["rule.capacity"]))
        # Nothing lost: the choice stays selected, the draft and the page are as they were.
        expect(add.locator("[name=person_id] option:checked")).to_have_text(other)
        expect(review.locator("li.plan-slot ul.entries > li")).to_have_count(1)
        expect(review.locator("li.plan-slot ul.entries > li")).to_contain_text(chosen)
        assert page.url == url
        expect(page.locator(".flash")).to_have_text(text["plan.ready"])  # still the run's

        # Someone without the role (a 422 rather than a 409): named the same way.
        without = text["plan.without_role"].format(name="Cleo")
        add.locator("[name=person_id]").select_option(label=without)
        submit(add)
        expect(add.locator(".form-error")).to_have_text(rule.format(rule=text["rule.role"]))
        expect(add.locator("[name=person_id] option:checked")).to_have_text(without)

        # The server kept nothing of either attempt.
        page.reload()
        entries = page.locator("main section.review li.plan-slot ul.entries > li")
        expect(entries).to_have_count(1)
        expect(entries).to_contain_text(chosen)
        watched.assert_clean()
    finally:
        context.close()


def test_a_declined_shift_opens_again_for_the_others(web_server: AppServer, browser: Any) -> None:
    base = web_server.url
    org = api_signup(base)
    contexts = [browser.new_context(locale="en-GB", viewport=DESKTOP) for _ in range(2)]
    try:
        with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
            ana, ben = volunteer(api, base, "Ana"), volunteer(api, base, "Ben")
            event = published_event(api, EVENT, hours=3)
            assigned = api.post(
                f"/events/{event['id']}/assignments",
                json={"person_id": ana["person_id"], "role": "Usher"},
            )
            assert assigned.status_code == 201, assigned.text

        # Ben finds the only place taken.
        ben_page = watch(contexts[1].new_page())
        log_in_browser(ben_page.page, base, ben["tokens"])
        open_page(ben_page.page, base, "/open-shifts", "open-shifts")
        card = ben_page.page.locator("article.shift", has_text=EVENT)
        places = TEXT["shifts.places_open"]
        expect(card.locator("ul.slots-list > li")).to_contain_text(
            render("en", places, open=0, capacity=1)
        )
        expect(
            card.get_by_role("button", name=TEXT["shifts.sign_up_as"].format(role="Usher"))
        ).to_have_count(0)

        # Ana declines it from My schedule.
        ana_page = watch(contexts[0].new_page())
        page = ana_page.page
        log_in_browser(page, base, ana["tokens"])
        open_page(page, base, "/my-schedule", "my-schedule")
        row = page.locator("main tbody tr", has_text=EVENT)
        expect(row.locator("[data-status]")).to_have_attribute("data-status", "pending")
        decline = TEXT["schedule.decline_named"].format(role="Usher", title=EVENT)
        row.get_by_role("button", name=decline).click()
        expect(page.locator(".flash")).to_have_text(TEXT["schedule.declined"])
        row = page.locator("main tbody tr", has_text=EVENT)
        expect(row.locator("[data-status]")).to_have_attribute("data-status", "declined")
        expect(row.locator("[data-status]")).to_have_text(TEXT["assignment_status.declined"])
        expect(row.get_by_role("button", name=decline)).to_have_count(0)

        # The place is open again, and Ben can take it.
        ben_page.page.reload()
        card = ben_page.page.locator("article.shift", has_text=EVENT)
        expect(card.locator("ul.slots-list > li")).to_contain_text(
            render("en", places, open=1, capacity=1)
        )
        card.get_by_role("button", name=TEXT["shifts.sign_up_as"].format(role="Usher")).click()
        expect(ben_page.page.locator(".flash")).to_have_text(TEXT["shifts.signed_up"])
        ana_page.assert_clean()
        ben_page.assert_clean()
    finally:
        for context in contexts:
            context.close()


def test_a_run_reads_as_the_days_it_covers_and_its_form_keeps_them(
    web_server: AppServer, browser: Any
) -> None:
    # A run of D1 to D2 once read "D1, 00:00 until D2+1, 00:00", and its form went back to
    # today and four weeks after each run.
    base = web_server.url
    org = api_signup(base)
    first = (datetime.now(UTC) + timedelta(days=2)).date()
    last = first + timedelta(days=20)
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    try:
        watched = watch(context.new_page())
        page = watched.page
        log_in_browser(page, base, org.tokens)
        open_page(page, base, "/schedule", "schedule")
        form = page.locator("main form").first
        form.locator("[name=starts_on]").fill(first.isoformat())
        form.locator("[name=ends_on]").fill(last.isoformat())
        run_draft(page, TEXT)
        days = page.evaluate(
            "([a, b]) => new Intl.DateTimeFormat(document.documentElement.lang,"
            " {dateStyle: 'medium', timeZone: 'UTC'})"
            ".formatRange(new Date(a), new Date(b))",
            [f"{first}T00:00:00Z", f"{last}T12:00:00Z"],
        )
        expect(page.locator("[data-testid=plan-range]")).to_have_text(
            TEXT["plan.range"].format(days=days)
        )
        form = page.locator("main form").first
        expect(form.locator("[name=starts_on]")).to_have_value(first.isoformat())
        expect(form.locator("[name=ends_on]")).to_have_value(last.isoformat())
        watched.assert_clean()
    finally:
        context.close()


def test_the_figures_of_a_draft_follow_its_hand_edits(web_server: AppServer, browser: Any) -> None:
    # Once the page kept the run's coverage and fairness after an entry was removed (#16).
    base = web_server.url
    org = api_signup(base)
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    try:
        with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
            volunteer(api, base, "Ana")
            published_event(api, EVENT, hours=3)
        watched = watch(context.new_page())
        page = watched.page
        log_in_browser(page, base, org.tokens)
        open_page(page, base, "/schedule", "schedule")
        review = run_draft(page, TEXT)
        stats = page.locator("[data-testid=plan-stats]")
        expect(stats).to_contain_text(TEXT["plan.filled_of"].format(filled=1, seats=1))
        remove = TEXT["plan.remove_named"].format(name="Ana", role="Usher")
        review.get_by_role("button", name=remove).click()
        expect(page.locator(".flash")).to_have_text(TEXT["plan.entry_removed"])
        expect(stats).to_contain_text(TEXT["plan.filled_of"].format(filled=0, seats=1))
        fairness = page.locator("[data-testid=fairness]")
        expect(fairness).to_contain_text(TEXT["plan.fair_range_value"].format(min=0, max=0))
        watched.assert_clean()
    finally:
        context.close()
