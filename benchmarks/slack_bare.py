"""The baseline for the Slack benchmark: a bare bolt AsyncApp that acks `/kudos` with fixed text.

Served exactly like `loyalty run` serves Slack (Starlette route `/slack/events` through bolt's
Starlette adapter, uvicorn with the same options), configured from the same environment
variables. Run as `python -m benchmarks.slack_bare`; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.runner import Component, serve_http
from bot.slack.app import web_client

REPLY = "Thanks! (bare bolt app)"


class BareSlack:
    """A runner Component with one bolt listener and no database."""

    def __init__(self, token: str, secret: str, api_url: str) -> None:
        self.app = AsyncApp(signing_secret=secret, client=web_client(token, api_url))
        self.app.command("/kudos")(self._kudos)
        self._handler = AsyncSlackRequestHandler(self.app)

    async def _kudos(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(REPLY)

    async def _events(self, request: Request) -> Response:
        return await self._handler.handle(request)

    def routes(self) -> list[Route]:
        return [Route("/slack/events", self._events, methods=["POST"])]

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""


def main() -> None:
    env = os.environ
    component: Component = BareSlack(
        env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"], env["SLACK_API_URL"]
    )
    asyncio.run(serve_http([component], env.get("HTTP_HOST", "127.0.0.1"), int(env["HTTP_PORT"])))


if __name__ == "__main__":
    main()
