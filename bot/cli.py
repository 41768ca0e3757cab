"""The `loyalty` command line."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from bot import import_rows
from bot.bootstrap import Services, build, migrate
from bot.console import Console
from bot.importer import Kind, Rejected, run_import
from bot.platforms import platform_components
from bot.runner import serve
from bot.scheduler import catch_up
from bot.settings import Settings
from core.errors import ProgramError
from core.loyalty import Loyalty

app = typer.Typer(
    help="Loyalty Bot: a chat-first loyalty and recognition platform.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        typer.echo(f"Configuration error: {error}", err=True)
        raise typer.Exit(2) from None


def _services(settings: Settings) -> Services:
    try:
        return build(settings)
    except ProgramError as error:
        typer.echo(f"Program file error: {error}", err=True)
        raise typer.Exit(2) from None


def _chat() -> None:
    services = _services(_settings())
    try:
        # No scheduler runs beside the console: bring a demo database up to date once, quietly.
        catch_up(services.loyalty)
        Console(services, sys.stdout).run(sys.stdin, interactive=sys.stdin.isatty())
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
        _chat()
        return
    if settings.slack_bot_token and not (settings.slack_signing_secret or settings.slack_app_token):
        typer.echo(
            "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) nor"
            " SLACK_APP_TOKEN (Socket Mode) is; Slack needs one of them.",
            err=True,
        )
        raise typer.Exit(2)
    services = _services(settings)
    try:
        asyncio.run(serve(services, platform_components(services)))
    finally:
        services.close()


@app.command("import-purchases")
def import_purchases(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import purchases from CSV (member, receipt, amount, currency, occurred_at, store,
    channel); a re-run skips receipts already in and continues."""
    _import(file, import_rows.purchases)


@app.command("import-members")
def import_members(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import customers from CSV (customer_id, name, telegram_username, birthday, points);
    `points` is an opening balance; a re-run skips customers already in."""
    _import(file, import_rows.members)


def _import(file: Path, kind: Callable[[Loyalty], Kind[Any]]) -> None:
    services = _services(_settings())
    try:
        summary = run_import(file, kind(services.loyalty))
    except Rejected as problem:
        typer.echo(f"Import error: {problem}", err=True)
        raise typer.Exit(2) from None
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
        typer.echo(
            f"Stopped after line {summary.last_line:,}; run the same command again to continue.",
            err=True,
        )
        raise typer.Exit(130)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations up to the latest."""
    migrate(_settings())
    typer.echo("Database is up to date.")


def main() -> None:
    """Entry point for `python -m bot.cli`."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
