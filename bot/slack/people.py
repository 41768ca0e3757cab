"""Slack users as members: profile and time zone from users.info (cached), enrolled on sight."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.errors import MemberNotFound
from core.loyalty import Loyalty
from core.model import Identity, Member

PLATFORM = "slack"


@dataclass(frozen=True)
class Person:
    """A Slack user as the bot needs them: membership (none for bots), name and time zone."""

    user_id: str
    name: str
    time_zone: str | None
    is_bot: bool
    member: Member | None
    locale: str | None = None  # the Slack client's language, like "tr-TR"

    @property
    def member_id(self) -> int | None:
        """The member id; None for bots and apps, which never join the program."""
        return self.member.id if self.member is not None else None


class SlackPeople:
    """Looks people up once per process; colleagues join the program the first time they appear."""

    def __init__(self, client: AsyncWebClient, loyalty: Loyalty, bot_user_id: str | None) -> None:
        self._client = client
        self._loyalty = loyalty
        self.bot_user_id = bot_user_id
        self._cache: dict[str, Person] = {}

    async def person(self, user_id: str) -> Person:
        """The person behind a Slack user id."""
        cached = self._cache.get(user_id)
        if cached is not None:
            return cached
        person = await self._look_up(user_id)
        self._cache[user_id] = person
        return person

    async def _look_up(self, user_id: str) -> Person:
        try:
            response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            if error.response.get("error") == "user_not_found":
                raise MemberNotFound(ref=f"<@{user_id}>") from error
            raise
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        name = str(profile.get("display_name") or user.get("real_name") or user.get("name") or "")
        zone = user.get("tz")
        locale = user.get("locale")
        is_bot = bool(user.get("is_bot")) or user_id == self.bot_user_id
        if is_bot:
            return Person(user_id, name, zone, True, None, locale)
        identity = Identity(PLATFORM, user_id, name or user_id, user.get("name"), locale, zone)
        result = await asyncio.to_thread(self._loyalty.enroll, identity)
        return Person(user_id, name or user_id, zone, False, result.member, locale)
