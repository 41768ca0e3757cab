"""The Slack adapter as a runner Component: POST /slack/events on the shared HTTP server."""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.bootstrap import Services
from bot.slack.app import SlackListeners, build_app, web_client
from bot.slack.giving import Giving
from bot.slack.people import SlackPeople
from bot.slack.sender import SlackSender
from core.kudos import Kudos


class SlackComponent:
    """Bolt in HTTP mode, sharing the process's event loop with the other adapters."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        if not settings.slack_bot_token or not settings.slack_signing_secret:
            raise ValueError("SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are both needed")
        self.client = web_client(settings.slack_bot_token, settings.slack_api_url)
        kudos = Kudos(services.database, services.program, services.loyalty.clock)
        people = SlackPeople(self.client, services.loyalty, None)
        language = services.renderer.catalogs.language_for(services.program.program.locale)
        giving = Giving(kudos, people, services.renderer, language)
        listeners = SlackListeners(services.loyalty, services.router, giving, people)
        self.app: AsyncApp = build_app(
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_api_url,
            listeners,
        )
        self._handler = AsyncSlackRequestHandler(self.app)

    def routes(self) -> list[BaseRoute]:
        """Slack's Events API, slash commands and interactivity all post here."""
        return [Route("/slack/events", self._events, methods=["POST"])]

    async def _events(self, request: Request) -> Response:
        return await self._handler.handle(request)

    async def start(self) -> None:
        """Nothing to start: bolt runs inside the HTTP server's requests."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def sender(self) -> SlackSender:
        """The outbox sender that delivers notifications as Slack DMs."""
        return SlackSender(self.client)
