"""Challenge windows: a week, a month or fixed dates, counted in the member's own time zone.

A window is a run of local calendar days. Its period label ("2026-W12", "2026-03",
"2026-12-01..2026-12-31") names it in storage and in ledger keys, so a reward is given once per
member, challenge and period; its end is the member's local midnight after its last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache


class WindowKind(StrEnum):
    """How a challenge's periods are cut."""

    WEEKLY = "weekly"  # Monday to Sunday
    MONTHLY = "monthly"
    FIXED = "fixed"  # from `starts` to `ends`, both included


@dataclass(frozen=True, kw_only=True)
class Window:
    """One period of a challenge for one member: local days `first_day`..`last_day`."""

    period: str
    first_day: date
    last_day: date

    def contains(self, day: date) -> bool:
        """True when the local `day` falls in the window."""
        return self.first_day <= day <= self.last_day

    def starts_at(self, zone: tzinfo) -> datetime:
        """The instant the window opens: local midnight of its first day, in UTC."""
        return local_midnight(self.first_day, zone)

    def ends_at(self, zone: tzinfo) -> datetime:
        """The instant the window closes: local midnight after its last day, in UTC."""
        return local_midnight(self.last_day + timedelta(days=1), zone)

    @property
    def days(self) -> int:
        """How many local days the window spans."""
        return (self.last_day - self.first_day).days + 1


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of the local `day` in `zone`, in UTC (daylight saving included)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The calendar day `moment` falls on in `zone`."""
    return moment.astimezone(zone).date()


@lru_cache(maxsize=4096)
def window_on(
    kind: WindowKind, day: date, starts: date | None = None, ends: date | None = None
) -> Window | None:
    """The window holding the local `day`; None when a fixed window does not hold it (cached:
    one event asks it for every challenge, and windows are immutable)."""
    if kind is WindowKind.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        year, week, _ = monday.isocalendar()
        return Window(
            period=f"{year}-W{week:02d}", first_day=monday, last_day=monday + timedelta(days=6)
        )
    if kind is WindowKind.MONTHLY:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Window(
            period=f"{day:%Y-%m}", first_day=first, last_day=following - timedelta(days=1)
        )
    if starts is None or ends is None or not starts <= day <= ends:
        return None
    return Window(
        period=f"{starts.isoformat()}..{ends.isoformat()}", first_day=starts, last_day=ends
    )
