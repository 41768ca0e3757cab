"""Telegram handlers: update -> ChatRequest -> router (in a worker thread) -> HTML reply."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup, InputFile, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, RetryAfter
from telegram.ext import (
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.bootstrap import Services
from bot.outbox.pacer import Pacer
from bot.replies import Attachment, Reply
from bot.requests import ChatRequest, addressee
from bot.telegram.app import TelegramApp
from bot.telegram.menus import Menus
from bot.telegram.render import CAPTION_LIMIT, TEXT_LIMIT, html_text, keyboard
from bot.telegram.sender import PLATFORM, retry_seconds
from core.deliveries import Delivery, DeliveryTaken, handling, new_handling
from core.model import Identity, Member, Role
from core.text import is_readable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    """A reply ready for the Bot API: HTML text, keyboard, optional photo."""

    text: str
    markup: InlineKeyboardMarkup | None
    image_png: bytes | None
    # Files after the message (charts as photos, an export as a document) with HTML captions.
    files: tuple[tuple[Attachment, str], ...] = ()


# A reply meets at most this many 429s (each waited out) before it is given up.
REPLY_ATTEMPTS = 8

# Commands after which the sender's membership or language may differ.
MEMBERSHIP_COMMANDS = frozenset({"start", "settings"})


def identity_of(user: User) -> Identity:
    """The platform-neutral identity of a Telegram user."""
    return Identity(
        platform=PLATFORM,
        external_id=str(user.id),
        display_name=user.first_name,
        username=user.username,
        language=user.language_code,
    )


class TelegramAdapter:
    """Installs the handlers on a PTB Application and answers through it."""

    def __init__(self, services: Services, app: TelegramApp, pacer: Pacer | None = None) -> None:
        self.services = services
        self.app = app
        # The token's budget, shared with the outbox and every other worker.
        self.pacer = pacer or services.pacers[PLATFORM]
        self.menus = Menus(app.bot, services.router, services.renderer)
        # Updates kept in the database (webhook, taken over) and the handling that holds each.
        self._kept: dict[int, Delivery] = {}
        app.add_handler(MessageHandler(filters.COMMAND, self.on_command))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(CallbackQueryHandler(self.on_callback))
        # After the handler above (or none) is done with an update: mark a kept one done.
        app.add_handler(TypeHandler(Update, self.on_handled), group=1)
        app.add_error_handler(self.on_error)

    def expect(self, update_id: int, delivery: Delivery) -> None:
        """`delivery` holds the kept update `update_id`, about to be handled here."""
        self._kept[update_id] = delivery

    def _delivery(self, update_id: int) -> Delivery:
        """The handling of this update: the kept one's, or a new one (long polling)."""
        return self._kept.get(update_id) or new_handling(f"tg:{update_id}")

    async def on_handled(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A kept update whose command wrote nothing (or no command at all) is done now; one
        whose command wrote was settled in that command's transaction."""
        delivery = self._kept.pop(update.update_id, None)
        if delivery is not None and not delivery.settled and not delivery.failed:
            await asyncio.to_thread(self.services.inbound.finish, delivery)

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A /command typed in a chat."""
        message, user = update.effective_message, update.effective_user
        if message is not None and user is not None and (text := self._for_us(message.text)):
            await self._serve(update, user, message.chat_id, text)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button tap: run its command as the person who tapped."""
        query = update.callback_query
        if query is None:
            return
        try:
            await query.answer()  # always, or the client keeps spinning
        except BadRequest:  # "query is too old" after downtime: the tap still counts
            log.info("callback query of update %s could not be answered", update.update_id)
        chat = update.effective_chat
        if chat is not None and (data := self._for_us(query.data)):
            await self._serve(update, query.from_user, chat.id, data)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat: the next step of a conversation (a broadcast composed
        step by step), or else a short hint towards the commands; the router decides
        (`ChatRequest.read`). In a group it is only the hint: what staff say there never
        becomes a broadcast's text."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or not (text := self._for_us(message.text)):
            return
        if message.chat.type == ChatType.PRIVATE:
            await self._serve(update, user, message.chat_id, text)
            return
        language = await asyncio.to_thread(self._language, identity_of(user), None)
        await self._send(message.chat_id, Reply.say("free_text"), language)

    def _for_us(self, text: object) -> str | None:
        """The text of a message the bot should answer; None for one to ignore quietly: not
        text at all (a forged `"text": 123`), broken characters Telegram never sends, or a
        command addressed to another bot in a group ("/balance@other_bot")."""
        if not isinstance(text, str) or not text or not is_readable(text):
            return None
        bot = addressee(text)
        if bot is not None and bot.lower() != self._username().lower():
            return None
        return text

    def _username(self) -> str:
        try:  # known once the application is initialised (getMe)
            return self.app.bot.username or ""
        except RuntimeError:
            return ""

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log with the update id and apologise once, in the reader's language; never into a
        chat that is flood-limited (the apology would only meet the same 429)."""
        update_id = update.update_id if isinstance(update, Update) else None
        chat = update.effective_chat if isinstance(update, Update) else None
        if isinstance(context.error, RetryAfter):  # a reply that kept meeting 429s
            log.warning("telegram update %s: chat %s stayed flood-limited; reply dropped",
                        update_id, chat.id if chat else None)  # fmt: skip
            return
        log.error("telegram update %s failed", update_id, exc_info=context.error)
        delivery = self._kept.get(update_id) if update_id is not None else None
        if delivery is not None:  # nothing it did took effect: handled again after its lease
            delivery.failed = True
        if chat is None:
            return
        if self.pacer.paused_for(str(chat.id)) > 0:
            log.info("not apologising in chat %s: it is flood-limited", chat.id)
            return
        user = update.effective_user if isinstance(update, Update) else None
        try:
            language = "en"
            if user is not None:
                language = await asyncio.to_thread(self._language, identity_of(user), None)
            await self._send(chat.id, Reply.say("error.unexpected"), language)
        except Exception:
            log.warning("could not apologise in chat %s", chat.id, exc_info=True)

    async def _serve(self, update: Update, user: User, chat_id: int, text: str) -> None:
        # One hop to a worker thread per update, the core being synchronous; but where reads
        # never wait (SQLite in WAL), a read-only command on an update kept nowhere runs here:
        # its few reads take less of the loop than a hop, which under a burst waited about
        # 12 ms for a pool thread and then for the GIL after every statement.
        delivery = self._delivery(update.update_id)
        request = ChatRequest.read(identity_of(user), text, delivery.key)
        try:
            if self._runs_here(delivery, request):
                handled = self._handle(delivery, request)
            else:
                handled = await asyncio.to_thread(self._handle, delivery, request)
        except DeliveryTaken:
            log.info(
                "update %s was taken over by another worker; its answer is theirs", update.update_id
            )
            return
        if handled is None:
            log.info("update %s was handled before, or is being handled; skipped", update.update_id)
            return
        rendered, language, role = handled
        await self._deliver(chat_id, rendered)
        await self.menus.refresh(chat_id, role, language)

    def _runs_here(self, delivery: Delivery, request: ChatRequest) -> bool:
        services = self.services
        if delivery.fresh or not services.database.reads_never_wait:
            return False  # a kept update is settled by a write; elsewhere reads may wait
        return services.router.reads_only(request)

    def _handle(
        self, delivery: Delivery, request: ChatRequest
    ) -> tuple[Rendered, str, Role] | None:
        """Hold the delivery, run the command and render the reply (in a worker thread, or on
        the event loop for a read-only command: `_runs_here`); None when the update was
        handled before or another handling holds it."""
        handled = self._answer(delivery, request)
        if handled is None:
            return None
        reply, language, role = handled
        return self._render(reply, language), language, role

    def _answer(self, delivery: Delivery, request: ChatRequest) -> tuple[Reply, str, Role] | None:
        services = self.services
        # One read transaction for the claim, the sender and a read-only command's reads
        # (/balance: one BEGIN and one pooled connection instead of two).
        with services.database.reading():
            held, member = services.loyalty.admit(
                delivery, PLATFORM, request.identity.external_id, services.inbound.lease
            )
            if not held:
                return None
            # The command's write transaction marks the update handled, in the same commit.
            with handling(delivery):
                return self._run(request, member)

    def _run(self, request: ChatRequest, member: Member | None) -> tuple[Reply, str, Role]:
        reply = self.services.router.handle_as(request, member)
        identity = request.identity
        if request.command in MEMBERSHIP_COMMANDS:  # they may have changed who this is
            member = self.services.loyalty.identify(identity.platform, identity.external_id)
        if member is not None and request.command == "start":
            # A member who blocked the bot and comes back may be written to again.
            self.services.outbox.clear_unreachable(member.id, PLATFORM)
        language = self.services.renderer.catalogs.reader_language(
            reply.language, member.language if member else None, identity.language
        )
        return reply, language, member.role if member else Role.MEMBER

    def _language(self, identity: Identity, member_language: str | None) -> str:
        member = self.services.loyalty.identify(identity.platform, identity.external_id)
        return self.services.renderer.catalogs.reader_language(
            member_language, member.language if member else None, identity.language
        )

    def _render(self, reply: Reply, language: str) -> Rendered:
        renderer = self.services.renderer
        limit = TEXT_LIMIT if reply.image_png is None else CAPTION_LIMIT
        text = html_text(renderer, reply, language, limit)
        files = tuple((upload, self._caption(upload, language)) for upload in reply.attachments)
        return Rendered(text, keyboard(renderer, reply, language), reply.image_png, files)

    def _caption(self, upload: Attachment, language: str) -> str:
        if upload.caption is None:
            return ""
        return html_text(self.services.renderer, Reply([upload.caption]), language, CAPTION_LIMIT)

    async def _send(self, chat_id: int, reply: Reply, language: str) -> None:
        await self._deliver(chat_id, self._render(reply, language))

    async def _deliver(self, chat_id: int, rendered: Rendered) -> None:
        """The reply, then each attached file, each within the token's budget and each sent
        again after a 429 (so a file's 429 never repeats the message before it)."""
        bot = self.app.bot
        if rendered.image_png is not None:
            photo = rendered.image_png
            await self._paced(chat_id, lambda: bot.send_photo(
                chat_id, photo, caption=rendered.text, parse_mode=ParseMode.HTML,
                reply_markup=rendered.markup))  # fmt: skip
        else:
            await self._paced(chat_id, lambda: bot.send_message(
                chat_id, rendered.text, parse_mode=ParseMode.HTML,
                reply_markup=rendered.markup))  # fmt: skip
        for upload, caption in rendered.files:
            await self._paced(chat_id, functools.partial(self._post_file, chat_id, upload, caption))

    async def _post_file(self, chat_id: int, upload: Attachment, caption: str) -> None:
        bot = self.app.bot
        if upload.kind == "photo":
            await bot.send_photo(chat_id, upload.data, caption=caption or None,
                                 parse_mode=ParseMode.HTML)  # fmt: skip
        else:
            document = InputFile(upload.data, filename=upload.filename)
            await bot.send_document(chat_id, document, caption=caption or None,
                                    parse_mode=ParseMode.HTML)  # fmt: skip

    async def _paced(self, chat_id: int, send: Callable[[], Awaitable[object]]) -> None:
        """`send` within the token's budget; a 429 pauses the chat and it goes again after
        `retry_after` (RetryAfter only after REPLY_ATTEMPTS of them)."""
        chat = str(chat_id)
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            await self.pacer.wait_reply(chat)
            try:
                await send()
                return
            except RetryAfter as error:
                self.services.metrics.rate_limit_seen(PLATFORM)
                seconds = retry_seconds(error)
                self.pacer.pause_chat(chat, seconds)
                if attempt == REPLY_ATTEMPTS:
                    raise
                log.info("reply to chat %s met a 429: again in %.0f s", chat, seconds)
