"""The `loyalty` command line."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer

from bot.bootstrap import Services, build, migrate
from bot.console import Console
from bot.platforms import platform_components
from bot.runner import serve
from bot.scheduler import catch_up
from bot.settings import Settings
from core.errors import ProgramError

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


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations up to the latest."""
    migrate(_settings())
    typer.echo("Database is up to date.")


def main() -> None:
    """Entry point for `python -m bot.cli`."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
