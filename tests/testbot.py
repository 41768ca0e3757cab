"""The `testbot` fixture (errbot's idea): a chat line through the real router, as a given
person, and the reply as each platform would show it.

    def test_balance(testbot):
        testbot.person("ann")
        assert "⭐ 25 points" in testbot.say("/balance", as_="ann").plain

It runs on both engines (the suite-wide `database_url` fixture), with the whole app built
from settings as `loyalty run` builds it, and a clock the test can move.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.bootstrap import Services, build
from bot.replies import Reply
from bot.requests import ChatRequest
from bot.settings import Settings
from bot.telegram.render import html_text
from core.model import Identity, Member, Role

START = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


class MovableClock:
    """A clock the test sets or moves."""

    def __init__(self, now: datetime = START) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        """Move the clock forward, e.g. `advance(minutes=31)`."""
        self.current += timedelta(**delta)


@dataclass(frozen=True)
class Said:
    """The bot's answer to one line: as plain text, as Telegram HTML, and its buttons."""

    reply: Reply
    plain: str
    html: str
    buttons: list[str] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        """The catalog keys of the reply's lines."""
        return [line.key for line in self.reply.lines]


class BotUnderTest:
    """The app, and the people who talk to it (by name, on one platform)."""

    def __init__(self, services: Services, clock: MovableClock, platform: str = "telegram"):
        self.services = services
        self.clock = clock
        self.platform = platform
        self._keys = itertools.count(1)

    def identity(self, name: str) -> Identity:
        """The chat identity of `name` (id and username derived from it)."""
        return Identity(
            platform=self.platform,
            external_id=f"id-{name}",
            display_name=name.capitalize(),
            username=name,
            language="en",
        )

    def person(self, name: str, role: Role = Role.MEMBER) -> Member:
        """`name` as an enrolled member with `role`."""
        loyalty = self.services.loyalty
        member = loyalty.enroll(self.identity(name)).member
        if member.role != role:
            member = loyalty.set_role(member.code, role)
        return member

    def say(self, line: str, as_: str = "ann") -> Said:
        """Send `line` as `as_` (enrolled or not) and return what the bot answers."""
        identity = self.identity(as_)
        request = ChatRequest.read(identity, line, f"testbot:{next(self._keys)}")
        reply = self.services.router.handle(request)
        renderer = self.services.renderer
        member = self.services.loyalty.identify(identity.platform, identity.external_id)
        language = renderer.catalogs.language_for(
            reply.language or (member.language if member else None) or identity.language
        )
        buttons = [button.command for row in reply.buttons for button in row]
        return Said(
            reply, renderer.text(reply, language), html_text(renderer, reply, language), buttons
        )

    def member(self, name: str) -> Member:
        """The member behind `name`."""
        identity = self.identity(name)
        member = self.services.loyalty.identify(identity.platform, identity.external_id)
        assert member is not None, f"{name} is not a member"
        return member

    def points(self, name: str) -> tuple[int, int]:
        """(available, pending) points of `name`."""
        summary = self.services.loyalty.balance(self.member(name).id)
        return summary.available, summary.pending


@pytest.fixture
def testbot(migrated_url: str) -> Iterator[BotUnderTest]:
    """The bot on a fresh database, once on SQLite and once on PostgreSQL."""
    clock = MovableClock()
    settings = Settings(_env_file=None, database_url=migrated_url, loyalty_env="development")  # type: ignore[call-arg]
    services = build(settings, clock=clock, migrate=False)
    try:
        yield BotUnderTest(services, clock)
    finally:
        services.close()
