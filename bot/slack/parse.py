"""Reading recognition out of Slack text: `+5 <@U2> thanks #teamwork` and `/kudos` mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.text import MAX_REASON, shown

MENTION = re.compile(r"<@([UW][A-Z0-9]{1,20})(?:\|[^>]*)?>")
_LEADING_MENTIONS = re.compile(
    r"^\s*((?:<@[UW][A-Z0-9]{1,20}(?:\|[^>]*)?>[\s,]*)+)(.*)$", re.DOTALL
)
_PLUS = re.compile(r"^\s*\+([0-9]{1,6})\s+(.*)$", re.DOTALL)


@dataclass(frozen=True)
class GiftRequest:
    """Who gets points, how many (None: the program's default) and why."""

    recipients: tuple[str, ...]
    points: int | None
    reason: str


def mentions_then_rest(text: str) -> tuple[tuple[str, ...], str] | None:
    """The user ids a text starts by mentioning (each once) and the rest; None when it does
    not start with a mention."""
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
    found = mentions_then_rest(plus.group(2))
    if found is None:
        return None
    # The message stays in the channel as written; the gift keeps a reason of usable length.
    return GiftRequest(found[0], int(plus.group(1)), shown(found[1], MAX_REASON))
