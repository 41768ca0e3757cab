"""Argument parsing shared by handlers: strict, with a usage error on anything odd."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bot.router import UsageError
from core.program import Program


def arg_count(args: tuple[str, ...], command: str, least: int, most: int | None = None) -> None:
    """Refuse too few or too many arguments."""
    if len(args) < least or (most is not None and len(args) > most):
        raise UsageError(command)


# Far beyond any real purchase or page number, well inside every database integer.
LARGEST_AMOUNT = Decimal(10) ** 12
LARGEST_NUMBER_DIGITS = 9


def money(text: str, program: Program, command: str) -> int:
    """A positive amount such as 12.40 (or 12,40) in minor units."""
    try:
        amount = Decimal(text.replace(",", ".").lstrip("$€£₺"))
        if not amount.is_finite() or not 0 < amount < LARGEST_AMOUNT:
            raise UsageError(command)
        return program.to_minor(amount)
    except (InvalidOperation, ValueError):
        raise UsageError(command) from None


def whole_number(text: str, command: str) -> int:
    """A positive whole number written with ASCII digits (not "²", not 40 digits long)."""
    if not (text.isascii() and text.isdigit()) or len(text) > LARGEST_NUMBER_DIGITS:
        raise UsageError(command)
    if int(text) <= 0:
        raise UsageError(command)
    return int(text)
