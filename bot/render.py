"""Turn Reply models into text in the reader's language, with locale-aware numbers and dates."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal

from bot.i18n import Catalogs
from bot.replies import (
    DayMonth,
    LanguageName,
    Line,
    LocalTime,
    Money,
    Progress,
    Reply,
    ShortDate,
    Signed,
    Timestamp,
    Weekday,
)
from core.broadcasts import Body
from core.text import MAX_REASON, shown

log = logging.getLogger(__name__)
BAR_CELLS = 10
# Names, receipts and reasons are limited where they enter; longer text in a reply is
# someone's input echoed back (an unknown command, say), shown cut short.
LONGEST_TEXT = MAX_REASON + 56


class Renderer:
    """Renders replies for one program (its time zone) from the shipped catalogs."""

    def __init__(self, catalogs: Catalogs, zone: ZoneInfo) -> None:
        self.catalogs = catalogs
        self.zone = zone

    def line(self, line: Line, language: str) -> str:
        """One catalog message with its parameters filled in."""
        template = self.catalogs.template(line.key, language, line.params)
        values = {name: self._safe_value(value, language) for name, value in line.params.items()}
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            log.error("message %s (%s) does not fit its parameters %s", line.key, language, values)
            return template

    def _safe_value(self, value: object, language: str) -> str:
        # A value the locale data cannot format (say, a 40-digit number) shows as plain text
        # rather than turning a whole reply into an apology.
        try:
            return self.value(value, language)
        except (ValueError, ArithmeticError, TypeError):
            log.warning("could not format %r for %s", value, language)
            return str(value)

    def text(self, reply: Reply, language: str) -> str:
        """The whole reply as plain text, one line per message."""
        return "\n".join(self.line(line, language) for line in reply.lines)

    def value(self, value: object, language: str) -> str:
        """One parameter formatted for `language`."""
        match value:
            case bool():
                return str(value)
            case int() | Decimal():
                return format_decimal(value, locale=language)
            case Signed(points=points):
                sign = "+" if points > 0 else "−" if points < 0 else ""
                return sign + format_decimal(abs(points), locale=language)
            case Money(minor=minor, currency=currency, decimals=decimals):
                amount = Decimal(minor).scaleb(-decimals)
                return format_currency(amount, currency, locale=language)
            case Progress(percent=percent):
                full = round(max(0, min(percent, 100)) * BAR_CELLS / 100)
                return "▓" * full + "░" * (BAR_CELLS - full)
            case LanguageName(code=code):
                return str(Locale.parse(code).get_display_name(code)).capitalize()
            case Timestamp(at=at):
                return format_datetime(at.astimezone(self.zone), "d MMM HH:mm", locale=language)
            case DayMonth(day=day):
                return format_date(day, "d MMM", locale=language)
            case LocalTime(at=at):
                return format_time(at, "HH:mm", locale=language)
            case time():
                return format_time(value, "HH:mm", locale=language)
            case Line():  # a parameter that is itself a catalog message (a category's name)
                return self.line(value, language)
            case datetime():
                local = value.astimezone(self.zone)
                # The year only when it is not this one: "3 Dec", but "22 Nov 2027".
                pattern = "d MMM" if local.year == datetime.now(self.zone).year else "d MMM y"
                return format_date(local, pattern, locale=language)
            case Weekday(day=day):
                return format_date(day, "EEEE", locale=language)
            case ShortDate(day=day):
                return format_date(day, "d MMM", locale=language)
            case date():  # a local calendar day (a member's or a store's): no zone to convert
                pattern = "d MMM" if value.year == datetime.now(self.zone).year else "d MMM y"
                return format_date(value, pattern, locale=language)
            case list() | tuple():
                return ", ".join(self.value(item, language) for item in value)
            case None:
                return ""
            case Body():  # staff's broadcast text: checked against the platform's limit
                return str(value)
            case str():
                return shown(value, LONGEST_TEXT)
            case _:
                return str(value)
