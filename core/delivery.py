"""Whether, and when, a queued message may reach a member: opt-outs and quiet hours.

Decided when the message is about to go, not when it was queued: the member may have changed
their mind, and a backlog may push a message queued at 20:59 into the night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from core import categories
from core.model import Identity, Member
from core.ports import UnitOfWork
from core.preferences import Preferences, chosen_zone
from core.zones import zone_of


@dataclass(frozen=True, kw_only=True)
class Audience:
    """What the dispatcher needs to know about a member to reach them, read at once."""

    member: Member
    identities: list[Identity]
    preferences: Preferences
    unreachable: frozenset[str]  # platforms where the member blocked the bot

    def zone(self, program_zone: tzinfo) -> tzinfo:
        """The member's time zone: their choice, their platform's, else the program's."""
        found = chosen_zone(self.preferences, self.identities)
        return zone_of(found[0], program_zone) if found else program_zone


def audience_of(uow: UnitOfWork, member_id: int) -> Audience | None:
    """The member behind an outbox row, with what decides how to reach them; None if gone."""
    member = uow.members.by_id(member_id)
    if member is None:
        return None
    return Audience(
        member=member,
        identities=uow.members.identities(member_id),
        preferences=uow.preferences.get(member_id),
        unreachable=uow.members.unreachable_on(member_id),
    )


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """Send now, skip for good (`skip` says why), or wait until `defer_until`."""

    skip: str | None = None
    defer_until: datetime | None = None

    @property
    def send(self) -> bool:
        """True when the message may go now."""
        return self.skip is None and self.defer_until is None


SEND = Verdict()


def verdict(category: str, preferences: Preferences, zone: tzinfo, now: datetime) -> Verdict:
    """A transactional message always goes now; a marketing one is skipped when the member
    opted out of its category, and waits for the end of their quiet hours."""
    if not categories.is_marketing(category):
        return SEND
    if not preferences.receives(category):
        return Verdict(skip=f"opted_out:{category}")
    until = preferences.quiet.ends_at(now, zone)
    return SEND if until is None else Verdict(defer_until=until)
