"""`signupflow schedule solve`: the same service function the API calls."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import click

from signupflow.actor import Actor
from signupflow.cli.common import organisation_by_slug, settings_or_exit
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.errors import DomainError
from signupflow.organisations.models import Organisation
from signupflow.scheduling.publish import publish
from signupflow.scheduling.runs import SolveSlots, solve_now


@click.group()
def schedule() -> None:
    """Solve and publish schedules."""


def _day(_ctx: click.Context, _param: click.Parameter, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)") from None


@schedule.command("solve")
@click.option("--org", "slug", required=True, help="Organisation slug")
@click.option("--from", "first", required=True, callback=_day, help="First day (local)")
@click.option("--to", "last", required=True, callback=_day, help="Last day, inclusive")
@click.option("--publish", "and_publish", is_flag=True, help="Publish the draft at once")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON")
def solve_command(slug: str, first: date, last: date, and_publish: bool, as_json: bool) -> None:
    """Fill the role slots of the events between two dates (in the organisation's time zone)."""
    if last < first:
        raise click.BadParameter("--to must not be before --from")
    settings = settings_or_exit()
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory) as session:
            organisation = organisation_by_slug(session, slug)
            organisation_id = organisation.id
            zone = ZoneInfo(organisation.timezone)
            starts = datetime.combine(first, time(0), zone).astimezone(UTC)
            ends = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
            try:
                draft = solve_now(
                    session,
                    factory,
                    SolveSlots(1, retry_after_s=settings.solver_time_limit_s),
                    actor=Actor.system(organisation),
                    starts=starts,
                    ends=ends,
                    time_limit_s=settings.solver_time_limit_s,
                )
            except DomainError as exc:
                raise click.ClickException(exc.detail) from None
            report = {"schedule_id": draft.id, "status": draft.status.value, **draft.report}
        # The draft is committed first: a publish refused now leaves it to review, and its
        # run finished (a rolled-back run would hold the organisation until its lease ends).
        if and_publish:
            with unit_of_work(factory) as session:
                try:
                    system = Actor.system(session.get_one(Organisation, organisation_id))
                    outcome = publish(session, system, draft.id)
                except DomainError as exc:
                    raise click.ClickException(exc.detail) from None
                report["published"] = {"added": len(outcome.added), "removed": len(outcome.removed)}
                report["status"] = outcome.schedule.status.value
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    fairness = report["fairness"]
    click.echo(
        f"schedule {report['schedule_id']} ({report['status']}): {report['filled']}/"
        f"{report['seats']} seats filled, engine {report['engine']} ({report['engine_note']})\n"
        f"hard violations: {len(report['violations'])}; assignments per person "
        f"{fairness['min']}-{fairness['max']} (stdev {fairness['stdev']}); "
        f"{report['timing']['total_s']} s"
    )
    for unfilled in report["unfilled"]:
        click.echo(f"  unfilled slot {unfilled['slot_id']}: {unfilled['detail']}")
