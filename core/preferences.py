"""What a member chose about the messages they get: time zone, quiet hours, categories.

Defaults need no row: the time zone of the member's chat platform (Slack's profile) or else
the program's, quiet hours 21:00-09:00, every category on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

from core import categories, errors
from core.model import Identity
from core.zones import is_zone

_CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?")
_RANGE = re.compile(r"\s*(\S+?)\s*(?:-|–|—|to|\.\.)\s*(\S+)\s*", re.IGNORECASE)
OFF_WORDS = frozenset({"off", "none", "no"})


@dataclass(frozen=True, kw_only=True)
class QuietHours:
    """Local hours in which marketing messages wait: from `start` up to `end` (may wrap
    midnight); start == end means no quiet hours."""

    start: time
    end: time

    @property
    def off(self) -> bool:
        """True when there are no quiet hours at all."""
        return self.start == self.end

    def ends_at(self, moment: datetime, zone: tzinfo) -> datetime | None:
        """The first minute after the quiet hours that hold at `moment` in `zone`, or None
        when `moment` is outside them."""
        if self.off:
            return None
        local = moment.astimezone(zone)
        now, day = local.time().replace(tzinfo=None), local.date()
        if self.start < self.end:
            inside = self.start <= now < self.end
        else:  # across midnight: 21:00-09:00
            inside = now >= self.start or now < self.end
            if now >= self.start:
                day += timedelta(days=1)
        if not inside:
            return None
        return datetime.combine(day, self.end, tzinfo=zone)

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """`22:00-08:00`, `22-8`, `22.30–7`, or `off`; InvalidQuietHours otherwise."""
        if text.strip().lower() in OFF_WORDS:
            return QUIET_OFF
        found = _RANGE.fullmatch(text)
        if found is None:
            raise errors.InvalidQuietHours(text=text)
        return cls(start=_clock(found.group(1), text), end=_clock(found.group(2), text))

    def minutes(self) -> tuple[int, int]:
        """(start, end) as minutes after midnight, as stored."""
        return self.start.hour * 60 + self.start.minute, self.end.hour * 60 + self.end.minute

    @classmethod
    def from_minutes(cls, start: int, end: int) -> QuietHours:
        """Quiet hours from stored minutes after midnight."""
        return cls(start=time(start // 60, start % 60), end=time(end // 60, end % 60))


DEFAULT_QUIET_HOURS = QuietHours(start=time(21), end=time(9))
QUIET_OFF = QuietHours(start=time(0), end=time(0))


def _clock(text: str, whole: str) -> time:
    found = _CLOCK.fullmatch(text)
    if found is None or int(found.group(1)) > 23 or int(found.group(2) or 0) > 59:
        raise errors.InvalidQuietHours(text=whole)
    return time(int(found.group(1)), int(found.group(2) or 0))


@dataclass(frozen=True, kw_only=True)
class Preferences:
    """A member's own choices; None and empty mean the defaults."""

    time_zone: str | None = None
    quiet_hours: QuietHours | None = None
    opted_out: frozenset[str] = frozenset()

    @property
    def quiet(self) -> QuietHours:
        """The quiet hours that hold for this member."""
        return self.quiet_hours or DEFAULT_QUIET_HOURS

    def receives(self, category: str) -> bool:
        """Whether messages of `category` reach this member (transactional ones always do)."""
        return not categories.is_marketing(category) or category not in self.opted_out


class ZoneSource(StrEnum):
    """Where a member's time zone comes from."""

    MEMBER = "member"  # chosen in /settings
    PLATFORM = "platform"  # the chat platform's profile (Slack's users.info)
    PROGRAM = "program"  # nobody said: the program's


def chosen_zone(
    preferences: Preferences, identities: Iterable[Identity]
) -> tuple[str, ZoneSource] | None:
    """The zone the member chose, else the one a chat platform reports for them; None when
    nobody said (the program's zone holds)."""
    if preferences.time_zone:
        return preferences.time_zone, ZoneSource.MEMBER
    for identity in identities:
        if identity.time_zone and is_zone(identity.time_zone):
            return identity.time_zone, ZoneSource.PLATFORM
    return None
