"""Report periods: what `/report [period]` and `loyalty report --from --to` mean by a period.

A period is a run of whole days in the program's time zone, from the first day's midnight to the
midnight after the last day; reports count what happened in `[start, end)` (UTC instants).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import DomainError

# The longest period a report covers: ten years of days is far beyond any business question and
# keeps a typo ("20266-01") from asking the database for centuries.
LONGEST_DAYS = 3660
DEFAULT_DAYS = 30
_DAYS = re.compile(r"(\d{1,4})d")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"\d{4}")


class PeriodUnreadable(DomainError):
    """A period the report cannot read; the reply shows the forms it can."""

    code = "report_period"


@dataclass(frozen=True, kw_only=True)
class ReportPeriod:
    """Whole local days `first`..`last` (inclusive), as UTC instants `[start, end)`."""

    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.last - self.first).days + 1


def period_of(first: date, last: date, zone: ZoneInfo) -> ReportPeriod:
    """The period of local days `first`..`last` in `zone`; refuses a backwards or huge one."""
    if last < first:
        raise PeriodUnreadable(text=f"{first.isoformat()}..{last.isoformat()}")
    if (last - first).days >= LONGEST_DAYS:
        raise PeriodUnreadable(text=f"{first.isoformat()}..{last.isoformat()}")
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return ReportPeriod(first=first, last=last, start=start, end=end)


def local_midnights(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which each local day of `zone` that `[start, end)` touches begins,
    in order: the first is at or before `start` (what a report buckets its flows by)."""
    first = start.astimezone(zone).date()
    last = max(first, (end - timedelta(microseconds=1)).astimezone(zone).date())
    return [
        datetime.combine(first + timedelta(days=n), time(), zone).astimezone(UTC)
        for n in range((last - first).days + 1)
    ]


def parse_period(text: str | None, now: datetime, zone: ZoneInfo) -> ReportPeriod:
    """`today`, `yesterday`, `week` (the last 7 days), `month` (this month so far),
    `last-month`, `year` (this year so far), `<N>d` (the last N days, today included),
    `2026-11`, `2026`, `2026-11-03` or `2026-11-01..2026-11-15`; nothing: the last 30 days."""
    today = now.astimezone(zone).date()
    word = (text or "").strip().lower()
    first, last = _days(word, today, text or "")
    return period_of(first, last, zone)


def _days(word: str, today: date, text: str) -> tuple[date, date]:
    """The first and last local day `word` names."""
    match word:
        case "":
            return today - timedelta(days=DEFAULT_DAYS - 1), today
        case "today":
            return today, today
        case "yesterday":
            return today - timedelta(days=1), today - timedelta(days=1)
        case "week":
            return today - timedelta(days=6), today
        case "month":
            return today.replace(day=1), today
        case "last-month" | "lastmonth":
            last = today.replace(day=1) - timedelta(days=1)
            return last.replace(day=1), last
        case "year":
            return today.replace(month=1, day=1), today
    return _explicit(word, today, text)


def _explicit(word: str, today: date, text: str) -> tuple[date, date]:
    """Periods written out: `30d`, `2026-11`, `2026`, a day or a range of days."""
    try:
        if found := _DAYS.fullmatch(word):
            count = int(found.group(1))
            if count < 1:
                raise ValueError(word)
            return today - timedelta(days=count - 1), today
        if ".." in word:
            left, _, right = word.partition("..")
            return date.fromisoformat(left), date.fromisoformat(right)
        if found := _MONTH.fullmatch(word):
            first = date(int(found.group(1)), int(found.group(2)), 1)
            following = (first + timedelta(days=32)).replace(day=1)
            return first, following - timedelta(days=1)
        if _YEAR.fullmatch(word):
            return date(int(word), 1, 1), date(int(word), 12, 31)
        day = date.fromisoformat(word)
        return day, day
    except ValueError:
        raise PeriodUnreadable(text=text[:40]) from None
