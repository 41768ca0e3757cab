"""The Slack adapter as a runner Component: POST /slack/events on the shared HTTP server, or
Socket Mode (a WebSocket Slack opens for us) when an app-level token is configured."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
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
    """Bolt in HTTP or Socket Mode, sharing the process's event loop with the other adapters."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        if not settings.slack_bot_token or not (
            settings.slack_signing_secret or settings.slack_app_token
        ):
            raise ValueError(
                "SLACK_BOT_TOKEN needs SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN"
                " (Socket Mode)"
            )
        self.client = web_client(settings.slack_bot_token, settings.slack_api_url)
        self._renderer = services.renderer
        kudos = Kudos(services.database, services.program, services.loyalty.clock)
        people = SlackPeople(self.client, services.loyalty, None)
        language = services.renderer.catalogs.language_for(services.program.program.locale)
        giving = Giving(kudos, people, services.renderer, language)
        listeners = SlackListeners(services.loyalty, services.router, giving, people)
        self.listeners = listeners
        self.app: AsyncApp = build_app(
            settings.slack_bot_token,
            settings.slack_signing_secret or "",  # Socket Mode deliveries are not signed
            settings.slack_api_url,
            listeners,
        )
        self._handler = AsyncSlackRequestHandler(self.app)
        self.socket_mode: AsyncSocketModeHandler | None = None
        if settings.slack_app_token:
            self.socket_mode = AsyncSocketModeHandler(self.app, settings.slack_app_token)

    def routes(self) -> list[BaseRoute]:
        """Slack's Events API, slash commands and interactivity all post here (HTTP mode)."""
        if self.socket_mode is not None:
            return []
        return [Route("/slack/events", self._events, methods=["POST"])]

    async def _events(self, request: Request) -> Response:
        return await self._handler.handle(request)

    async def start(self) -> None:
        """Socket Mode: open the WebSocket (apps.connections.open, then connect); HTTP: nothing,
        bolt runs inside the HTTP server's requests."""
        if self.socket_mode is not None:
            await self.socket_mode.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        """Socket Mode: close the WebSocket; close the session answers go out on."""
        if self.socket_mode is not None:
            await self.socket_mode.close_async()  # type: ignore[no-untyped-call]
        await self.listeners.responses.close()

    def sender(self) -> SlackSender:
        """The outbox sender: direct messages to members, posts to channels."""
        return SlackSender(self.client, self._renderer)
