"""Argument parsing shared by handlers: strict, with a usage error on anything odd.

Money and points have their own readers in `bot.amounts`, shared with every adapter.
"""

from __future__ import annotations

from bot.router import UsageError


def arg_count(args: tuple[str, ...], command: str, least: int, most: int | None = None) -> None:
    """Refuse too few or too many arguments."""
    if len(args) < least or (most is not None and len(args) > most):
        raise UsageError(command)


LARGEST_NUMBER_DIGITS = 9


def whole_number(text: str, command: str) -> int:
    """A positive whole number written with ASCII digits (not "²", not 40 digits long)."""
    if not (text.isascii() and text.isdigit()) or len(text) > LARGEST_NUMBER_DIGITS:
        raise UsageError(command)
    if int(text) <= 0:
        raise UsageError(command)
    return int(text)
