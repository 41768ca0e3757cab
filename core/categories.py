"""Message categories: what kind of message an outbox row is, for opt-outs and quiet hours.

`transactional` messages (a receipt of points, a redemption, a voucher) always go, at any hour.
Every other category is marketing: a member may opt out of it in /settings, and it waits for
the end of the member's quiet hours. Features that send marketing messages add their category
here (one line each) and its label (`category.<name>`) to the message catalogs.
"""

from __future__ import annotations

TRANSACTIONAL = "transactional"
BROADCAST = "broadcast"  # promotions staff send to a segment

MARKETING: tuple[str, ...] = (BROADCAST,)


def is_marketing(category: str) -> bool:
    """True for categories a member can opt out of and that respect quiet hours."""
    return category != TRANSACTIONAL


def is_known(category: str) -> bool:
    """True for `transactional` and every registered marketing category."""
    return category == TRANSACTIONAL or category in MARKETING
