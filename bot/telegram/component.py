"""The Telegram runner Component: long polling by default, a secret-checked webhook when set."""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.bootstrap import Services
from bot.outbox.pacer import Pacer
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.app import TelegramApp, build_application
from bot.telegram.sender import TelegramSender
from bot.telegram.updates import BadUpdate, parse_update

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
UPDATES = ["message", "callback_query"]


class TelegramComponent:
    """Runs the PTB Application inside our own event loop (no run_polling)."""

    label = "Telegram"

    def __init__(
        self, services: Services, app: TelegramApp | None = None, poll_timeout: int = 10
    ) -> None:
        settings = services.settings
        if settings.telegram_webhook_url and not settings.telegram_webhook_secret:
            raise ValueError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET")
        self.app = app or build_application(settings)
        self._renderer = services.renderer
        # One send budget per bot: replies and notifications together stay under the limit.
        self.pacer = Pacer(TelegramSender.per_second, TelegramSender.per_chat_interval)
        self.adapter = TelegramAdapter(services, self.app, self.pacer)
        self._invites = services.invites
        self.webhook_url = settings.telegram_webhook_url
        self._secret = settings.telegram_webhook_secret or ""
        self._poll_timeout = poll_timeout

    def sender(self) -> TelegramSender:
        """The outbox sender for Telegram members and groups."""
        return TelegramSender(self.app.bot, self._renderer)

    def routes(self) -> list[BaseRoute]:
        """The webhook endpoint, in webhook mode only."""
        if not self.webhook_url:
            return []
        return [Route(WEBHOOK_PATH, self.webhook, methods=["POST"])]

    async def start(self) -> None:
        """Initialise, publish menus, then poll or register the webhook."""
        await self.app.initialize()
        # getMe ran in initialize(): /refer can now hand out t.me/<bot>?start=ref-<code> links.
        self._invites.telegram_username = self.app.bot.username
        await self.adapter.menus.publish_defaults()
        if self.webhook_url:
            await self.app.bot.set_webhook(
                self.webhook_url, secret_token=self._secret, allowed_updates=UPDATES
            )
        else:
            await self.app.bot.delete_webhook()
            updater = self.app.updater
            if updater is None:
                raise RuntimeError("the Application was built without an Updater")
            await updater.start_polling(timeout=self._poll_timeout, allowed_updates=UPDATES)
        await self.app.start()

    async def stop(self) -> None:
        """Stop polling and handlers, then release the HTTP client."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def webhook(self, request: Request) -> Response:
        """Accept an update only with the right secret header; 403 and no effect otherwise."""
        given = request.headers.get(SECRET_HEADER, "")
        if not self._secret or not hmac.compare_digest(given.encode(), self._secret.encode()):
            return Response(status_code=403)
        try:
            update = parse_update(await request.body(), self.app.bot)
        except BadUpdate as error:
            return PlainTextResponse(str(error), status_code=400)
        await self.app.update_queue.put(update)
        return Response(status_code=200)
