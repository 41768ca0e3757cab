"""Message categories: what kind of message an outbox row is, for opt-outs and quiet hours.

`transactional` messages (a receipt of points, a redemption, a voucher) always go, at any hour.
Every other category is marketing: a member may opt out of it in /settings, and it waits for
the end of the member's quiet hours. Features that send marketing messages add their category
here (one line each) and its label (`category.<name>`) to the message catalogs.
"""

from __future__ import annotations

TRANSACTIONAL = "transactional"
BROADCAST = "broadcast"  # promotions staff send to a segment
# Nudges (core.nudges): one category per kind, so a member can keep some and drop others.
NEAR_REWARD = "near_reward"
POINTS_EXPIRING = "points_expiring"
VOUCHER_EXPIRING = "voucher_expiring"
STREAK = "streak"
CHALLENGE_ENDING = "challenge_ending"
WINBACK = "winback"
TIER_KEEP = "tier_keep"
BIRTHDAY = "birthday_wishes"  # not "birthday": `/settings birthday` sets the day
NUDGES: tuple[str, ...] = (
    NEAR_REWARD,
    POINTS_EXPIRING,
    VOUCHER_EXPIRING,
    STREAK,
    CHALLENGE_ENDING,
    WINBACK,
    TIER_KEEP,
    BIRTHDAY,
)

MARKETING: tuple[str, ...] = (BROADCAST, *NUDGES)


def is_marketing(category: str) -> bool:
    """True for categories a member can opt out of and that respect quiet hours."""
    return category != TRANSACTIONAL


def is_known(category: str) -> bool:
    """True for `transactional` and every registered marketing category."""
    return category == TRANSACTIONAL or category in MARKETING
