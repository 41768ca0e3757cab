"""The command menu: members in the default scope, staff and admins per chat."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat

from bot.render import Renderer
from bot.replies import Line
from bot.router import Router
from core.model import Role

log = logging.getLogger(__name__)
MAX_KNOWN_CHATS = 100_000


class Menus:
    """Keeps each chat's command menu in line with the speaker's role."""

    def __init__(self, bot: Bot, router: Router, renderer: Renderer) -> None:
        self._bot = bot
        self._router = router
        self._renderer = renderer
        self._chat_roles: dict[int, Role] = {}

    def commands(self, role: Role, language: str) -> list[BotCommand]:
        """The menu for `role`, described by the /help lines."""
        names = self._router.commands_for(role)
        return [BotCommand(name, self._description(name, language)) for name in names]

    async def publish_defaults(self) -> None:
        """The member menu in the default scope, in every shipped language."""
        catalogs = self._renderer.catalogs
        await self._bot.set_my_commands(self.commands(Role.MEMBER, "en"))
        for language in catalogs.languages:
            if language != "en":
                await self._bot.set_my_commands(
                    self.commands(Role.MEMBER, language), language_code=language
                )

    async def refresh(self, chat_id: int, role: Role, language: str) -> None:
        """Give this chat the menu of `role` when it changed since we last looked."""
        known = self._chat_roles.get(chat_id, Role.MEMBER)
        if len(self._chat_roles) >= MAX_KNOWN_CHATS:  # forget all: a staff menu is merely re-sent
            self._chat_roles.clear()
        self._chat_roles[chat_id] = role
        if known == role:
            return
        scope = BotCommandScopeChat(chat_id)
        try:
            if role is Role.MEMBER:
                await self._bot.delete_my_commands(scope=scope)
            else:
                await self._bot.set_my_commands(self.commands(role, language), scope=scope)
        except Exception:
            log.warning("could not update the menu of chat %s", chat_id, exc_info=True)

    def _description(self, name: str, language: str) -> str:
        text = self._renderer.line(Line(f"help.{name}"), language)
        # "/earn <member> <amount>: record a purchase" -> "record a purchase"
        _, sep, rest = text.partition(": ")
        description = (rest if sep else text).strip() or name
        return description[:256]
