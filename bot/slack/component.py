"""The Slack adapter as a runner Component: POST /slack/events on the shared HTTP server, or
Socket Mode (a WebSocket Slack opens for us) when an app-level token is configured."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Sequence

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.bootstrap import Services
from bot.slack.app import HOLDER_HEADER, KEPT, Kept, SlackListeners, build_app, delivery_key
from bot.slack.files import SlackFiles
from bot.slack.gate import SlackGate, SlackHosts
from bot.slack.giving import Giving
from bot.slack.people import PLATFORM, SlackPeople
from bot.slack.sender import SlackSender

log = logging.getLogger(__name__)


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
        # 429s the client waits out (replies' and the outbox's) and replies' own go into the
        # 429 metric; one that reaches the dispatcher after the client's retries is counted there.
        rate_limited = functools.partial(services.metrics.rate_limit_seen, "slack")
        self.app: AsyncApp = build_app(
            settings.slack_bot_token,
            settings.slack_signing_secret or "",  # Socket Mode deliveries are not signed
            settings.slack_api_url,
            rate_limited,
        )
        self.client = self.app.client
        self._renderer = services.renderer
        kudos = services.kudos
        people = SlackPeople(self.client, services.loyalty, None, services.privacy)
        language = services.renderer.catalogs.language_for(services.program.program.locale)
        giving = Giving(kudos, people, services.renderer, language)
        hosts = SlackHosts(settings.slack_api_url)
        files = SlackFiles(self.client, services.renderer)
        self.listeners = SlackListeners(
            services.loyalty,
            services.router,
            giving,
            people,
            hosts,
            services.gamification,
            files,
            inbound=services.inbound,
            channels=services.pacers["slack"],
            rate_limited=rate_limited,
        )
        self.listeners.register(self.app)
        self.gate = SlackGate(settings.slack_signing_secret or "", hosts)
        self._app_token = settings.slack_app_token
        self.socket_mode: AsyncSocketModeHandler | None = None
        self._inbound = services.inbound
        self._loyalty = services.loyalty
        self._taking_over: asyncio.Task[None] | None = None

    def routes(self) -> list[BaseRoute]:
        """Slack's Events API, slash commands and interactivity all post here (HTTP mode)."""
        if self._app_token:
            return []
        return [Route("/slack/events", self._events, methods=["POST"])]

    async def _events(self, request: Request) -> Response:
        """Keep the delivery in the database, then hand it to bolt, whose `ack()` answers
        Slack: so an acknowledged delivery is never lost (a worker that dies leaves it to
        another, `_take_over_loop`) and one Slack sends again is acknowledged, nothing more."""
        admitted = await self.gate.admit(request)
        if isinstance(admitted, Response):
            return admitted
        headers: dict[str, str | Sequence[str]] = {**request.headers}
        headers["content-type"] = "application/json"
        body = json.dumps(admitted)
        bolt_request = AsyncBoltRequest(body=body, headers=headers)
        key = delivery_key(admitted)
        if key is not None:  # none: a URL check, or a delivery bolt's middleware refuses
            user_id = bolt_request.context.user_id
            try:
                kept = await asyncio.to_thread(self._keep, key, body, user_id)
            except Exception:
                log.warning("could not keep %s; Slack will send it again", key, exc_info=True)
                return Response("the delivery could not be stored", status_code=503)
            if kept is None:
                return Response(status_code=200)
            bolt_request.context[KEPT] = kept
        return to_starlette_response(await self.app.async_dispatch(bolt_request))

    def _keep(self, key: str, body: str, user_id: str | None) -> Kept | None:
        """Keep a delivery (None: kept before) and read its sender's membership, in one trip
        to a worker thread (`SlackListeners.admit` would otherwise make a second). Should the
        read fail, the request fails as if not kept: Slack's next try is acknowledged, and the
        kept delivery is taken over once its lease runs out."""
        delivery = self._inbound.keep(key, body)
        if delivery is None:
            return None
        member = self._loyalty.identify(PLATFORM, user_id) if user_id else None
        return Kept(delivery, user_id, member)

    async def _take_over_loop(self) -> None:
        """Handle kept deliveries whose handling's lease ran out (its worker died)."""
        pause = min(5.0, max(0.2, self._inbound.lease.total_seconds() / 4))
        while True:
            try:
                await self.take_over()
            except Exception:
                log.warning("taking over kept Slack deliveries failed", exc_info=True)
            await asyncio.sleep(pause)

    async def take_over(self) -> int:
        """Run the kept deliveries left behind by another handling through bolt; how many.
        Their `ack()` reaches nobody: Slack had its answer when they were kept."""
        taken = await asyncio.to_thread(self._inbound.take_over, "slack:")
        for delivery, payload in taken:
            log.warning("taking over %s: its handling's lease ran out", delivery.key)
            headers: dict[str, str | Sequence[str]] = {
                "content-type": "application/json",
                HOLDER_HEADER: delivery.holder,
            }
            request = AsyncBoltRequest(body=payload, headers=headers)
            # A task of its own, as an HTTP request has: the delivery it handles stays in it.
            await asyncio.create_task(self.app.async_dispatch(request))
        return len(taken)

    async def start(self) -> None:
        """Socket Mode: open the WebSocket (apps.connections.open, then connect); HTTP: bolt
        runs inside the HTTP server's requests, and kept deliveries are taken over.

        Web API calls (replies' look-ups, the outbox's direct messages) share one HTTP
        session from here on: without one, slack-sdk opens a session, and a TCP connection,
        for every call (about one per /kudos, for the gift's direct message)."""
        if self.client.session is None or self.client.session.closed:
            self.client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.client.timeout)
            )
        if not self._app_token:
            self._taking_over = asyncio.create_task(self._take_over_loop(), name="slack-take-over")
        if self._app_token:
            # Built here, inside the running event loop its aiohttp session belongs to.
            self.socket_mode = AsyncSocketModeHandler(self.app, self._app_token)
            await self.socket_mode.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        """Socket Mode: close the WebSocket; close the sessions answers and calls go out on."""
        if self._taking_over is not None:
            self._taking_over.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._taking_over
            self._taking_over = None
        if self.socket_mode is not None:
            await self.socket_mode.close_async()  # type: ignore[no-untyped-call]
        await self.listeners.responses.close()
        session, self.client.session = self.client.session, None
        if session is not None:
            await session.close()

    def sender(self) -> SlackSender:
        """The outbox sender: direct messages to members, posts to channels."""
        return SlackSender(self.client, self._renderer)
