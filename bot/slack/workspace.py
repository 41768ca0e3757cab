"""Requests from our own Slack workspace only.

A distributed Slack app signs the requests of every workspace it is installed in with the
same signing secret, so a valid signature does not say the request is ours. The first time
it is needed, `auth.test` tells which workspace (and enterprise, and app) the bot token
belongs to; a request from another is refused before any listener runs. As bolt middleware,
it covers HTTP and Socket Mode alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Workspace:
    """Who the bot token belongs to."""

    team_id: str | None
    enterprise_id: str | None
    app_id: str | None

    def foreign(self, team_id: str | None, enterprise_id: str | None, app_id: str | None) -> bool:
        """True when a request names another workspace (of another enterprise) or app."""
        if app_id and self.app_id and app_id != self.app_id:
            return True
        if not team_id or team_id == self.team_id:
            return False
        # An org-wide install serves every workspace of its enterprise.
        return not (self.enterprise_id and enterprise_id == self.enterprise_id)


class WorkspaceGuard:
    """Bolt middleware: requests from other workspaces are answered 403 and go no further."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._ours: Workspace | None = None
        self._lock = asyncio.Lock()

    async def ours(self) -> Workspace:
        """Our workspace, from `auth.test` (asked once)."""
        async with self._lock:
            if self._ours is None:
                found = await self._client.auth_test()
                self._ours = Workspace(
                    team_id=found.get("team_id"),
                    enterprise_id=found.get("enterprise_id"),
                    app_id=found.get("app_id"),
                )
            return self._ours

    async def __call__(
        self, body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Refuse a request from another workspace; pass ours on."""
        ours = await self.ours()
        app_id = body.get("api_app_id")
        if ours.foreign(
            context.team_id, context.enterprise_id, app_id if isinstance(app_id, str) else None
        ):
            log.warning("refusing a request from workspace %s (app %s)", context.team_id, app_id)
            return BoltResponse(status=403, body="this app does not serve that workspace")
        await next()
        return None
