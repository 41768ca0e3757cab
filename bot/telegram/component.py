"""The Telegram runner Component: long polling by default, a secret-checked webhook when set."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.bootstrap import Services
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
        # One send budget per bot token, across workers: replies and notifications together.
        self.pacer = services.pacers["telegram"]
        self.adapter = TelegramAdapter(services, self.app, self.pacer)
        self._invites = services.invites
        self.webhook_url = settings.telegram_webhook_url
        self._secret = settings.telegram_webhook_secret or ""
        self._poll_timeout = poll_timeout
        self._inbound = services.inbound
        self._taking_over: asyncio.Task[None] | None = None

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
        self._taking_over = asyncio.create_task(self._take_over_loop(), name="telegram-take-over")

    async def stop(self) -> None:
        """Stop polling and handlers, then release the HTTP client."""
        if self._taking_over is not None:
            self._taking_over.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._taking_over
            self._taking_over = None
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def webhook(self, request: Request) -> Response:
        """Accept an update only with the right secret header; 403 and no effect otherwise.

        200 only once the update is kept in the database: a worker that dies after that leaves
        it to another (`_take_over_loop`); one that dies before never said 200, so Telegram
        sends it again. A redelivery of a kept update is acknowledged and nothing more.
        """
        given = request.headers.get(SECRET_HEADER, "")
        if not self._secret or not hmac.compare_digest(given.encode(), self._secret.encode()):
            return Response(status_code=403)
        body = await request.body()
        try:
            update = parse_update(body, self.app.bot)
        except BadUpdate as error:
            return PlainTextResponse(str(error), status_code=400)
        # Kept as the JSON it parsed to (a body may be UTF-16 or UTF-32 JSON, which json reads).
        payload = json.dumps(json.loads(body))
        try:
            delivery = await asyncio.to_thread(
                self._inbound.keep, f"tg:{update.update_id}", payload
            )
        except Exception:
            log.warning("could not keep update %s; Telegram will send it again",
                        update.update_id, exc_info=True)  # fmt: skip
            return PlainTextResponse("the update could not be stored", status_code=503)
        if delivery is not None:
            self.adapter.expect(update.update_id, delivery)
            await self.app.update_queue.put(update)
        return Response(status_code=200)

    async def _take_over_loop(self) -> None:
        """Handle kept updates whose handling's lease ran out (its worker died)."""
        pause = min(5.0, max(0.2, self._inbound.lease.total_seconds() / 4))
        while True:
            try:
                await self.take_over()
            except Exception:
                log.warning("taking over kept updates failed; trying again", exc_info=True)
            await asyncio.sleep(pause)

    async def take_over(self) -> int:
        """Queue the kept updates left behind by another handling; how many."""
        taken = await asyncio.to_thread(self._inbound.take_over, "tg:")
        for delivery, payload in taken:
            try:
                update = parse_update(payload.encode(), self.app.bot)
            except BadUpdate:  # it was checked before it was kept: nothing will read it now
                log.error("kept update %s cannot be read; dropped", delivery.key)
                await asyncio.to_thread(self._inbound.finish, delivery)
                continue
            # Worth a warning: a worker died (or stalled a whole lease) holding it.
            log.warning("taking over update %s: its handling's lease ran out", update.update_id)
            self.adapter.expect(update.update_id, delivery)
            await self.app.update_queue.put(update)
        return len(taken)
