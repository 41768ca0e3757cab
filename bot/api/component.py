"""The purchase API as a runner Component: mounted at /api on the shared HTTP server."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from bot.api.app import purchase_api_asgi
from bot.bootstrap import Services

PREFIX = "/api"


class PurchaseApiComponent:
    """POST /api/v1/purchases and /api/v1/refunds, OpenAPI at /api/openapi.json, docs at
    /api/docs; only built when POS_WEBHOOK_SECRET is set."""

    def __init__(self, services: Services) -> None:
        secret = services.settings.pos_webhook_secret
        if not secret:
            raise ValueError("the purchase API needs POS_WEBHOOK_SECRET")
        self.app = purchase_api_asgi(services.loyalty, services.cards, secret)

    def routes(self) -> list[BaseRoute]:
        """The API under /api."""
        return [Mount(PREFIX, app=self.app)]

    async def start(self) -> None:
        """Nothing to start: the API runs inside the HTTP server's requests."""

    async def stop(self) -> None:
        """Nothing to stop."""
