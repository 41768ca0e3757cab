"""Reading recognition out of Slack text: `+5 <@U2> thanks #teamwork` and `/kudos` arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LEADING_MENTIONS = re.compile(r"^\s*((?:<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s,]*)+)(.*)$", re.DOTALL)
_PLUS = re.compile(r"^\s*\+(\d{1,6})\s+(.*)$", re.DOTALL)
_POINTS = re.compile(r"^\s*(\d{1,6})(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class GiftRequest:
    """Who gets points, how many (None: the program's default) and why."""

    recipients: tuple[str, ...]
    points: int | None
    reason: str


def _mentions_then_rest(text: str) -> tuple[tuple[str, ...], str] | None:
    match = _LEADING_MENTIONS.match(text)
    if match is None:
        return None
    recipients = tuple(dict.fromkeys(MENTION.findall(match.group(1))))
    return recipients, match.group(2).strip()


def plus_message(text: str) -> GiftRequest | None:
    """A `+N @person… reason` message, or None for any other message."""
    plus = _PLUS.match(text)
    if plus is None:
        return None
    found = _mentions_then_rest(plus.group(2))
    if found is None:
        return None
    return GiftRequest(found[0], int(plus.group(1)), found[1])


def kudos_command(text: str) -> GiftRequest | None:
    """`/kudos @person… [points] reason`, or None when the text names nobody."""
    found = _mentions_then_rest(text)
    if found is None:
        return None
    recipients, rest = found
    points = _POINTS.match(rest)
    if points is None:
        return GiftRequest(recipients, None, rest)
    return GiftRequest(recipients, int(points.group(1)), (points.group(2) or "").strip())
