"""Birthdays members tell the bot (`/settings birthday 14 Mar`): a day and month, no year
needed (one is kept only when given; otherwise the year 2000, a leap year, so 29 Feb fits).
In a year without 29 Feb, such a birthday is kept on 28 Feb (`observed_on`)."""

from __future__ import annotations

import re
from calendar import isleap
from datetime import date

PLACEHOLDER_YEAR = 2000
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january", "oca", "ocak"),
            ("feb", "february", "şub", "şubat", "sub", "subat"),
            ("mar", "march", "mart"),
            ("apr", "april", "nis", "nisan"),
            ("may", "mayıs", "mayis"),
            ("jun", "june", "haz", "haziran"),
            ("jul", "july", "tem", "temmuz"),
            ("aug", "august", "ağu", "ağustos", "agu", "agustos"),
            ("sep", "sept", "september", "eyl", "eylül", "eylul"),
            ("oct", "october", "eki", "ekim"),
            ("nov", "november", "kas", "kasım", "kasim"),
            ("dec", "december", "ara", "aralık", "aralik"),
        ),
        start=1,
    )
    for name in names
}
_DAY_MONTH = re.compile(r"(\d{1,2})\s*[ ./-]?\s*([^\W\d_]+)\.?", re.UNICODE)
_MONTH_DAY = re.compile(r"([^\W\d_]+)\.?\s*(\d{1,2})", re.UNICODE)
_NUMERIC = re.compile(r"(\d{1,2})[./](\d{1,2})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def observed_on(birthday: date, year: int) -> date:
    """The day of `year` on which the birthday is kept: 29 Feb falls on 28 Feb in a year
    without it (the day before, so it stays in February and is never missed)."""
    if (birthday.month, birthday.day) == (2, 29) and not isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def month_days(day: date) -> list[str]:
    """The stored birthdays (MM-DD) kept on `day`: its own, and 02-29 on 28 Feb of a year
    without it."""
    days = [day.strftime("%m-%d")]
    if (day.month, day.day) == (2, 28) and not isleap(day.year):
        days.append("02-29")
    return days


def parse_birthday(text: str) -> date | None:
    """`14 Mar`, `Mar 14`, `14 March`, `14.03`, `14/03` or `1990-03-14`; None when unreadable."""
    value = text.strip().lower()
    day = month = None
    year = PLACEHOLDER_YEAR
    if found := _ISO.fullmatch(value):
        year, month, day = int(found[1]), int(found[2]), int(found[3])
    elif found := _DAY_MONTH.fullmatch(value):
        day, month = int(found[1]), _MONTHS.get(found[2])
    elif found := _MONTH_DAY.fullmatch(value):
        month, day = _MONTHS.get(found[1]), int(found[2])
    elif found := _NUMERIC.fullmatch(value):
        day, month = int(found[1]), int(found[2])
    if day is None or month is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
