"""Slack users as members: profile and time zone from users.info (cached), enrolled on sight."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core import deliveries
from core.errors import MemberNotFound
from core.loyalty import Loyalty
from core.model import Identity, Member
from core.privacy import Privacy

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


# A time zone or name change shows within the hour; memory stays bounded in a big workspace.
PERSON_TTL_SECONDS = 3600.0
MAX_CACHED_PEOPLE = 10_000


class SlackPeople:
    """Looks people up once per process; colleagues join the program the first time they appear."""

    def __init__(
        self,
        client: AsyncWebClient,
        loyalty: Loyalty,
        bot_user_id: str | None,
        privacy: Privacy | None = None,
    ) -> None:
        self._client = client
        self._loyalty = loyalty
        self.bot_user_id = bot_user_id
        # Who asked to be forgotten is not enrolled on sight again (only by /loyalty start).
        self._privacy = privacy
        self._cache: dict[str, tuple[float, Person]] = {}

    async def person(self, user_id: str, member: Member | None = None) -> Person:
        """The person behind a Slack user id (looked up again after an hour: people travel).

        `member` is their membership when the caller has just read it (a delivery's sender,
        read as it was admitted): a cached person then needs no second read.
        """
        now = time.monotonic()
        cached = self._cache.get(user_id)
        if cached is not None and now - cached[0] < PERSON_TTL_SECONDS:
            if member is not None and not cached[1].is_bot:
                return replace(cached[1], member=member)
            return await self._current(cached[1])
        person = await self._look_up(user_id)
        if len(self._cache) >= MAX_CACHED_PEOPLE:  # dicts keep insertion order: drop the oldest
            del self._cache[next(iter(self._cache))]
        self._cache.pop(user_id, None)
        self._cache[user_id] = (now, person)
        return person

    async def _current(self, person: Person) -> Person:
        """A cached person with their membership as it is now: the profile may be an hour old,
        but a membership erased by /forget (perhaps in another worker) must not be used."""
        if person.is_bot or self._privacy is None:
            return person
        member = await asyncio.to_thread(self._loyalty.identify, PLATFORM, person.user_id)
        if member is None:
            identity = Identity(platform=PLATFORM, external_id=person.user_id,
                                display_name=person.name, language=person.locale,
                                time_zone=person.time_zone)  # fmt: skip
            member = await asyncio.to_thread(self._enrolled, identity)
        return replace(person, member=member)

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
        identity = Identity(
            platform=PLATFORM,
            external_id=user_id,
            display_name=name or user_id,
            username=user.get("name"),
            language=locale,
            time_zone=zone,
        )
        # Enrolled on sight, aside from the delivery being handled: the command's own effect
        # (a gift) settles it, and enrolling again after a crash changes nothing.
        with deliveries.aside():
            member = await asyncio.to_thread(self._enrolled, identity)
        return Person(user_id, name or user_id, zone, False, member, locale)

    def _enrolled(self, identity: Identity) -> Member | None:
        """The person's membership, enrolling them unless they asked to be forgotten (then
        None until they send /loyalty start themselves)."""
        if self._privacy is not None and self._privacy.forgotten(PLATFORM, identity.external_id):
            return self._loyalty.identify(PLATFORM, identity.external_id)
        return self._loyalty.enroll(identity).member
