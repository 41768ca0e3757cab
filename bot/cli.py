"""The `loyalty` command line.

Whatever stops a start (configuration, program file, database, a platform that cannot be
reached, a port in use) is told in one line on standard error, with a non-zero exit status:
2 for what the operator must change, 1 for what failed while starting.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from bot.settings import Settings, describe

if TYPE_CHECKING:
    from bot.bootstrap import Services
    from bot.importer import Kind
    from core.loyalty import Loyalty
    from core.model import Member
    from core.ports import UnitOfWork

# The rest of the bot is imported where it is used: a mistake in the settings is reported
# before the database, chat and HTTP libraries are even loaded.

app = typer.Typer(
    help="Loyalty Bot: a chat-first loyalty and recognition platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
nudges_app = typer.Typer(
    help="Nudges: the reminders the bot sends on its own.", no_args_is_help=True
)
app.add_typer(nudges_app, name="nudges")
broadcast_app = typer.Typer(help="Broadcasts to a segment of members.", no_args_is_help=True)
app.add_typer(broadcast_app, name="broadcast")


def _fail(message: str, status: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(status)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        _fail(f"Configuration error: {describe(error)}")


def _services(settings: Settings) -> Services:
    from bot.bootstrap import DatabaseProblem, build
    from core.errors import ProgramError

    try:
        return build(settings)
    except ProgramError as error:
        _fail(f"Program file error: {error}")
    except DatabaseProblem as error:
        _fail(f"Database error: {error}")


def _chat() -> None:
    from bot.console import Console, log_to_file
    from bot.scheduler import catch_up, tier_jobs
    from core.errors import StorageUnavailable

    services = _services(_settings())
    # A piped script that is not UTF-8 must not stop the console: such lines are answered
    # as unreadable (see bot.requests).
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")
    try:
        # No scheduler runs beside the console: bring a demo database up to date once, quietly.
        try:
            catch_up(services.loyalty, tier_jobs(services.gamification))
        except StorageUnavailable as error:  # reading may still work: let the operator look
            typer.echo(f"The database is {error.reason}: due points were not released.", err=True)
        log = log_to_file()
        Console(services, sys.stdout, log).run(sys.stdin, interactive=sys.stdin.isatty())
    finally:
        services.close()


@app.command()
def chat() -> None:
    """Chat with the bot in this terminal (or pipe commands in, one per line)."""
    _chat()


@app.command()
def run() -> None:
    """Run every configured adapter and the purchase API; with neither a chat platform nor
    POS_WEBHOOK_SECRET configured, the console chat."""
    settings = _settings()
    if not settings.has_chat_platform and not settings.pos_webhook_secret:
        typer.echo(
            "No TELEGRAM_BOT_TOKEN, SLACK_BOT_TOKEN or POS_WEBHOOK_SECRET is set:"
            " starting the console chat.",
            err=True,
        )
        _chat()
        return
    from bot.platforms import platform_components
    from bot.runner import StartupError, serve

    services = _services(settings)
    try:
        asyncio.run(serve(services, platform_components(services)))
    except StartupError as error:
        _fail(f"Start-up error: {error}", status=1)
    finally:
        services.close()


@app.command("import-purchases")
def import_purchases(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import purchases from CSV (member, receipt, amount, currency, occurred_at, store,
    channel); a re-run skips receipts already in and continues."""
    from bot import import_rows

    _import(file, import_rows.purchases)


@app.command("import-members")
def import_members(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import customers from CSV (customer_id, name, telegram_username, birthday, points);
    `points` is an opening balance; a re-run skips customers already in."""
    from bot import import_rows

    _import(file, import_rows.members)


def _import(file: Path, kind: Callable[[Loyalty], Kind[Any]]) -> None:
    from bot.importer import Rejected, run_import

    services = _services(_settings())
    try:
        summary = run_import(file, kind(services.loyalty))
    except Rejected as problem:
        _fail(f"Import error: {problem}")
    finally:
        services.close()
    typer.echo(
        f"Imported {summary.imported:,}, skipped {summary.duplicates:,} as duplicates,"
        f" rejected {summary.rejected:,}."
    )
    if summary.expired:
        typer.echo(
            f"Already expired on arrival (older than the points' lifetime): {summary.expired:,}."
        )
    if summary.rejected_file is not None:
        typer.echo(f"Rejected rows, with line numbers and reasons: {summary.rejected_file}")
    if summary.interrupted:
        _fail(f"Stopped after line {summary.last_line:,}; run the same command again to continue.",
              status=130)  # fmt: skip


@app.command()
def report(
    since: Annotated[
        str | None, typer.Option("--from", help="first day, YYYY-MM-DD (default: 30 days ago)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="last day, YYYY-MM-DD (default: today)")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text, csv or json")] = "text",
    charts: Annotated[
        Path | None, typer.Option("--charts", help="also write the charts as PNGs here")
    ] = None,
) -> None:
    """The program report for whole days in the program's time zone: liability, expiry,
    breakage, redemptions, members, challenges, recognition, messages, reward rate."""
    from datetime import date

    from core.report_period import PeriodUnreadable

    if output not in ("text", "csv", "json"):
        _fail(f"Unknown --format {output!r}: use text, csv or json.")
    try:
        first = date.fromisoformat(since) if since else None
        last = date.fromisoformat(until) if until else None
    except ValueError as error:
        _fail(f"Cannot read the period: {error} (write days as YYYY-MM-DD).")
    services = _services(_settings())
    try:
        assert services.reports is not None
        try:
            result = services.reports.for_days(first, last)
        except PeriodUnreadable as error:
            _fail(f"Cannot report on {error.params['text']}: the period must run forwards and"
                  " span at most ten years.")  # fmt: skip
        typer.echo(_report_output(services, result, output), nl=False)
        if charts is not None:
            _write_charts(services, result, charts)
    finally:
        services.close()


def _report_output(services: Services, result: Any, output: str) -> str:
    from bot.report_views import report_csv, report_json, report_text

    if output == "json":
        return report_json(result) + "\n"
    if output == "csv":
        return report_csv(result)
    return report_text(result, services.renderer, "en") + "\n"


def _write_charts(services: Services, result: Any, folder: Path) -> None:
    from bot.report_charts import charts

    folder.mkdir(parents=True, exist_ok=True)
    for chart in charts(result, services.renderer, "en"):
        (folder / chart.filename).write_bytes(chart.png)
        typer.echo(f"Chart: {folder / chart.filename}", err=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations up to the latest."""
    from bot.bootstrap import DatabaseProblem, migrate

    settings = _settings()
    try:
        migrate(settings)
    except DatabaseProblem as error:
        _fail(f"Database error: {error}")
    typer.echo("Database is up to date.")


def _moment(text: str | None, services: Services) -> datetime:
    """`--at` in ISO 8601 (the program's zone when it names none), or now."""
    if text is None:
        return services.loyalty.clock.now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"--at: {text!r} is not a date and time like 2026-12-01T10:30")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=services.program.zone)
    return moment.astimezone(UTC)


def _member(uow: UnitOfWork, *, member_id: int) -> Member | None:
    return uow.members.by_id(member_id)


@nudges_app.command("preview")
def nudges_preview(
    at: Annotated[str | None, typer.Option(help="plan as of this moment (ISO 8601)")] = None,
) -> None:
    """Print the nudges that would go now (or --at), to whom and why, without sending any."""
    services = _services(_settings())
    try:
        now = _moment(at, services)
        plan = services.nudges.plan(now, dry_run=True)
        for item in plan.planned:
            member = services.database.run(partial(_member, member_id=item.member_id), write=False)
            who = f"{member.code} {member.display_name}" if member else f"#{item.member_id}"
            typer.echo(f"{item.kind:<17} {who:<28} {item.why}")
        due = ", ".join(f"{kind} {count:,}" for kind, count in plan.due.items()) or "none"
        typer.echo(
            f"{len(plan.planned):,} nudges would go at {now.isoformat(timespec='minutes')}"
            f" (selected: {due}; not yet their hour or in quiet hours: {plan.waiting:,};"
            f" over the frequency cap: {plan.capped:,})."
        )
    finally:
        services.close()


@broadcast_app.command("send")
def broadcast_send(
    segment: Annotated[str, typer.Argument(help="all, a tier, inactive:<days>, ... joined with +")],
    text: Annotated[str, typer.Argument(help="the message")],
    holdout: Annotated[int, typer.Option(help="percent held back as a control group")] = 10,
    at: Annotated[str | None, typer.Option(help="start then (ISO 8601) instead of now")] = None,
    preview: Annotated[bool, typer.Option(help="only say who would get it")] = False,
) -> None:
    """Send (or schedule, or only preview) a broadcast from the shell; `loyalty run` delivers it."""
    from core.errors import DomainError

    services = _services(_settings())
    try:
        now = services.loyalty.clock.now()
        broadcasts = services.broadcasts
        try:
            draft = broadcasts.compose(
                author_id=None, segment_text=segment, body=text, now=now, holdout_percent=holdout
            )
            info = draft.broadcast
            typer.echo(
                f"Broadcast #{info.id} to {info.segment}: {draft.audience:,} members,"
                f" {draft.holdout:,} ({info.holdout_percent}%) held back."
            )
            if preview:
                broadcasts.cancel(info.id, now)
                return
            if at is not None:
                scheduled = broadcasts.schedule(info.id, _moment(at, services), now)
                when = scheduled.scheduled_at
                typer.echo(f"Scheduled for {when.isoformat() if when else at}.")
            else:
                audience, held = broadcasts.send_now(info.id, now)
                typer.echo(f"Queued for {audience - held:,} members ({held:,} held back).")
        except DomainError as error:
            _fail(f"Broadcast refused: {error.code} {error.params}")
    finally:
        services.close()


@broadcast_app.command("cancel")
def broadcast_cancel(broadcast_id: int) -> None:
    """Cancel a broadcast: members still waiting get nothing."""
    from core.errors import DomainError

    services = _services(_settings())
    try:
        services.broadcasts.cancel(broadcast_id, services.loyalty.clock.now())
        typer.echo(f"Broadcast #{broadcast_id} is cancelled.")
    except DomainError as error:
        _fail(f"Broadcast refused: {error.code} {error.params}")
    finally:
        services.close()


@broadcast_app.command("report")
def broadcast_report(broadcast_id: int) -> None:
    """Where every member of a broadcast's audience stands, and its lift so far."""
    from core.errors import DomainError
    from core.lift import broadcast_lift

    services = _services(_settings())
    try:
        report = services.broadcasts.report(broadcast_id)
        typer.echo(
            f"Broadcast #{broadcast_id}: audience {report.audience:,}; sent {report.sent:,},"
            f" skipped {report.skipped:,}, blocked {report.blocked:,}, failed {report.failed:,},"
            f" waiting {report.waiting:,}, held back {report.holdout:,}."
        )
        for days in (7, 30):
            lift = broadcast_lift(services.broadcasts.store, broadcast_id, days)
            if lift is None:
                continue
            typer.echo(f"Lift over {days} days ({lift.audience:,} vs {lift.holdout:,} held back):")
            for metric in lift.metrics:
                typer.echo(
                    f"  {metric.metric:<12} {metric.audience:.2f} vs {metric.holdout:.2f}"
                    f" ({metric.difference:+.2f}, 95% interval {metric.low:+.2f} to"
                    f" {metric.high:+.2f})"
                )
            if not lift.enough:
                typer.echo("  Not enough members to tell (at least 30 in each group).")
    except DomainError as error:
        _fail(f"Broadcast refused: {error.code} {error.params}")
    finally:
        services.close()


def main() -> None:
    """Entry point for `python -m bot.cli`."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
