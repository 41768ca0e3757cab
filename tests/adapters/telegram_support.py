"""A running Telegram adapter + outbox dispatcher against the fake Bot API, on a SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bot.bootstrap import Services, build
from bot.outbox.dispatcher import Dispatcher
from bot.runner import http_app
from bot.settings import Settings
from bot.telegram.component import TelegramComponent
from core.commands import AwardPoints
from core.model import Member, Role
from tests.fakes.telegram_api import (
    ApiCall,
    FakeTelegramApi,
    make_callback_update,
    make_command_update,
)

T = TypeVar("T")
TOKEN = "123:ABC"
SECRET = "s3cret-token"
HOOK = "https://bot.example.test/telegram/webhook"


@dataclass
class Harness:
    """The bot under test and helpers to talk to it as Telegram users."""

    fake: FakeTelegramApi
    services: Services
    component: TelegramComponent
    dispatcher: Dispatcher
    db_path: Path
    languages: dict[int, str] = field(default_factory=dict)

    def command(self, user_id: int, text: str, name: str = "Ann", language: str = "en") -> int:
        """Push a command update for polling; its update id."""
        update_id = self.fake.next_update_id()
        update = make_command_update(
            update_id, user_id, text, username=name.lower(), language_code=language, first_name=name
        )
        return self.fake.push_update(update)

    def tap(self, user_id: int, data: str, name: str = "Ann") -> int:
        """Push a button tap."""
        update_id = self.fake.next_update_id()
        return self.fake.push_update(
            make_callback_update(update_id, user_id, data, first_name=name)
        )

    async def replies(self, chat: int, count: int) -> list[ApiCall]:
        """Wait until `count` messages went to `chat`."""
        return await self.fake.wait_for_messages(chat, count, timeout=10)

    async def join(
        self, user_id: int, name: str, payload: str = "", language: str = "en"
    ) -> Member:
        """Enroll through /start and return the member."""
        before = len(self.fake.sent_messages(user_id))
        self.command(user_id, f"/start {payload}".strip(), name, language)
        await self.replies(user_id, before + 1)
        member = await asyncio.to_thread(self.services.loyalty.identify, "telegram", str(user_id))
        assert member is not None
        return member

    async def grant(self, member: Member, role: Role) -> Member:
        return await asyncio.to_thread(self.services.loyalty.set_role, member.code, role)

    async def award(self, member: Member, points: int, key: str, by: Member | None = None) -> None:
        """Award points directly; with an actor the member is notified through the outbox."""
        command = AwardPoints(
            member_id=member.id,
            key=key,
            reason="goodwill",
            points=points,
            actor_id=by.id if by else None,
        )
        await asyncio.to_thread(self.services.loyalty.award, command)

    def outbox(self) -> list[tuple[Any, ...]]:
        """(id, member_id, message key, status, last_error) of every outbox row."""
        with sqlite3.connect(self.db_path) as conn:
            query = "SELECT id, member_id, message_key, status, last_error FROM outbox ORDER BY id"
            return list(conn.execute(query))


async def until(predicate: Callable[[], T], timeout: float = 10.0) -> T:
    """Poll `predicate` until truthy, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
    return result


def settings_for(fake: FakeTelegramApi, tmp: Path, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp / 'loyalty.db'}",  # type: ignore[call-arg]
        loyalty_env="development",  # the fake's token and secret are not real ones
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake.base_url,
        **extra,
    )


@asynccontextmanager
async def running_bot(fake: FakeTelegramApi, tmp: Path, **extra: Any) -> AsyncIterator[Harness]:
    """Build the app from settings, start Telegram (polling unless a webhook is set) and the
    dispatcher; stop both afterwards."""
    services = await asyncio.to_thread(build, settings_for(fake, tmp, **extra))
    component = TelegramComponent(services, poll_timeout=1)
    dispatcher = Dispatcher(
        services.outbox,
        services.database,
        services.renderer,
        services.loyalty.clock,
        idle_seconds=0.05,
    )
    dispatcher.register(component.sender(), component.pacer)
    await component.start()
    await dispatcher.start()
    try:
        yield Harness(fake, services, component, dispatcher, tmp / "loyalty.db")
    finally:
        await dispatcher.stop()
        await component.stop()
        services.close()


@asynccontextmanager
async def running_webhook(fake: FakeTelegramApi, tmp: Path) -> AsyncIterator[Harness]:
    """`running_bot` in webhook mode: updates arrive through `webhook_client`, not polling."""
    async with running_bot(
        fake, tmp, telegram_webhook_url=HOOK, telegram_webhook_secret=SECRET
    ) as harness:
        yield harness


def webhook_client(harness: Harness) -> httpx.AsyncClient:
    """An HTTP client for the bot's own server (in process)."""
    transport = httpx.ASGITransport(app=http_app([harness.component]))
    return httpx.AsyncClient(transport=transport, base_url="http://bot.test")
