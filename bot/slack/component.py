"""The Slack adapter as a runner Component: POST /slack/events on the shared HTTP server, or
Socket Mode (a WebSocket Slack opens for us) when an app-level token is configured."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.bootstrap import Services
from bot.slack.app import SlackListeners, build_app
from bot.slack.files import SlackFiles
from bot.slack.gate import SlackGate, SlackHosts
from bot.slack.giving import Giving
from bot.slack.people import SlackPeople
from bot.slack.sender import SlackSender
from core.kudos import Kudos


class SlackComponent:
    """Bolt in HTTP or Socket Mode, sharing the process's event loop with the other adapters."""

    label = "Slack"

    def __init__(self, services: Services) -> None:
        settings = services.settings
        if not settings.slack_bot_token or not (
            settings.slack_signing_secret or settings.slack_app_token
        ):
            raise ValueError(
                "SLACK_BOT_TOKEN needs SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN"
                " (Socket Mode)"
            )
        self.app: AsyncApp = build_app(
            settings.slack_bot_token,
            settings.slack_signing_secret or "",  # Socket Mode deliveries are not signed
            settings.slack_api_url,
        )
        self.client = self.app.client
        self._renderer = services.renderer
        kudos = Kudos(services.database, services.program, services.loyalty.clock)
        people = SlackPeople(self.client, services.loyalty, None, services.privacy)
        language = services.renderer.catalogs.language_for(services.program.program.locale)
        giving = Giving(kudos, people, services.renderer, language)
        hosts = SlackHosts(settings.slack_api_url)
        files = SlackFiles(self.client, services.renderer)
        self.listeners = SlackListeners(
            services.loyalty, services.router, giving, people, hosts, services.gamification, files
        )
        self.listeners.register(self.app)
        self.gate = SlackGate(settings.slack_signing_secret or "", hosts)
        self._app_token = settings.slack_app_token
        self.socket_mode: AsyncSocketModeHandler | None = None

    def routes(self) -> list[BaseRoute]:
        """Slack's Events API, slash commands and interactivity all post here (HTTP mode)."""
        if self._app_token:
            return []
        return [Route("/slack/events", self._events, methods=["POST"])]

    async def _events(self, request: Request) -> Response:
        admitted = await self.gate.admit(request)
        if isinstance(admitted, Response):
            return admitted
        headers: dict[str, str | Sequence[str]] = {**request.headers}
        headers["content-type"] = "application/json"
        bolt_request = AsyncBoltRequest(body=json.dumps(admitted), headers=headers)
        return to_starlette_response(await self.app.async_dispatch(bolt_request))

    async def start(self) -> None:
        """Socket Mode: open the WebSocket (apps.connections.open, then connect); HTTP: nothing,
        bolt runs inside the HTTP server's requests."""
        if self._app_token:
            # Built here, inside the running event loop its aiohttp session belongs to.
            self.socket_mode = AsyncSocketModeHandler(self.app, self._app_token)
            await self.socket_mode.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        """Socket Mode: close the WebSocket; close the session answers go out on."""
        if self.socket_mode is not None:
            await self.socket_mode.close_async()  # type: ignore[no-untyped-call]
        await self.listeners.responses.close()

    def sender(self) -> SlackSender:
        """The outbox sender: direct messages to members, posts to channels."""
        return SlackSender(self.client, self._renderer)
