"""The one reader of money and of points typed by people, for every command and adapter.

Money is read in the program's currency and locale only, in one format: ASCII digits and,
for the minor units, the locale's decimal sign ("12.40" in English, "12,40" in Turkish), with
the program's currency symbol or code allowed before or after. Anything that could be read
two ways is refused with the accepted format rather than guessed at: "1,000" (a thousand, or
one with three decimals?), "1_000", "1e-2", digits of other scripts, another currency's symbol.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_symbol, get_decimal_symbol

from core import errors
from core.program import Program
from core.text import shown

MAX_AMOUNT_TEXT = 32
MAX_UNIT_DIGITS = 12  # whole currency units: beyond any purchase, inside a 64-bit column
MAX_POINT_DIGITS = 9
# Something a person meant as a number: digits (of any script), number punctuation, an
# exponent. "2nd" or "5stars" are words; "-5", "1,000", "1e3" and "٥" are numbers.
_NUMBER_LIKE = re.compile(r"[+\-−]?[\d.,_]*\d[\d.,_]*(?:[eE][+\-]?\d+)?")
_POINTS = re.compile(rf"\+?[0-9]{{1,{MAX_POINT_DIGITS}}}")


@dataclass(frozen=True)
class MoneyFormat:
    """How one program writes money: its currency, decimals and the locale's decimal sign."""

    currency: str
    decimals: int
    decimal_sign: str
    symbol: str

    @property
    def example(self) -> str:
        """A sample amount in the accepted format, such as "12.40"."""
        return "12" + (self.decimal_sign + "40".ljust(self.decimals, "0")[: self.decimals]
                       if self.decimals else "")  # fmt: skip

    def parse(self, text: str) -> int:
        """A positive amount in minor units; UnreadableAmount with the format otherwise."""
        number = self._without_currency(text.strip()) if len(text) <= MAX_AMOUNT_TEXT else None
        fraction = rf"(?:{re.escape(self.decimal_sign)}([0-9]{{1,{self.decimals}}}))?"
        pattern = rf"([0-9]{{1,{MAX_UNIT_DIGITS}}})" + (fraction if self.decimals else "")
        found = re.fullmatch(pattern, number) if number is not None else None
        minor = 0
        if found is not None:
            units, cents = found.group(1), (found.group(2) if self.decimals else None) or ""
            minor = int(units) * 10**self.decimals + int(cents.ljust(self.decimals, "0") or 0)
        if minor <= 0:
            raise errors.UnreadableAmount(
                text=shown(text.strip(), 32), example=self.example, currency=self.currency
            )
        return minor

    def _without_currency(self, text: str) -> str | None:
        """The number with our currency's symbol or code taken off; None with another's."""
        for mark in sorted({self.symbol, self.currency, self.currency.lower()}, key=len)[::-1]:
            if text.startswith(mark):
                text = text[len(mark) :].strip()
                break
            if text.endswith(mark):
                text = text[: -len(mark)].strip()
                break
        if any(unicodedata.category(char) == "Sc" or char.isalpha() for char in text):
            return None
        return text


@cache
def money_format(currency: str, decimals: int, locale: str) -> MoneyFormat:
    """The money format of a currency in a locale (unknown locales read as English)."""
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        parsed = Locale.parse("en")
    return MoneyFormat(
        currency=currency,
        decimals=decimals,
        decimal_sign=get_decimal_symbol(parsed),
        symbol=get_currency_symbol(currency, parsed),
    )


def program_money(program: Program) -> MoneyFormat:
    """The money format of `program`."""
    info = program.program
    return money_format(info.currency, info.currency_decimals, info.locale)


def parse_money(text: str, program: Program) -> int:
    """Money in `program`'s one format, in minor units (see MoneyFormat.parse)."""
    return program_money(program).parse(text)


def looks_like_number(text: str) -> bool:
    """True when `text` is written like a number (of any kind), not like a word."""
    return _NUMBER_LIKE.fullmatch(text) is not None


def parse_points(text: str) -> int:
    """A positive whole number of points ("50", "+5"); UnreadablePoints otherwise."""
    if not _POINTS.fullmatch(text) or int(text) <= 0:
        raise errors.UnreadablePoints(text=shown(text, 32))
    return int(text)
