"""Argument parsing shared by handlers: strict, with a usage error on anything odd."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bot.router import UsageError
from core.program import Program


def arg_count(args: tuple[str, ...], command: str, least: int, most: int | None = None) -> None:
    """Refuse too few or too many arguments."""
    if len(args) < least or (most is not None and len(args) > most):
        raise UsageError(command)


def money(text: str, program: Program, command: str) -> int:
    """A positive amount such as 12.40 (or 12,40) in minor units."""
    try:
        amount = Decimal(text.replace(",", ".").lstrip("$€£₺"))
        minor = program.to_minor(amount)
    except (InvalidOperation, ValueError):
        raise UsageError(command) from None
    if minor <= 0:
        raise UsageError(command)
    return minor


def whole_number(text: str, command: str) -> int:
    """A positive whole number."""
    if not text.isdigit() or int(text) <= 0:
        raise UsageError(command)
    return int(text)
