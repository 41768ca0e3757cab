"""The member card image: the QR code alone, or with the member's badges as medals under it."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from PIL import Image

from bot.badge_image import card_png
from bot.cards import qr_png
from core.challenge_board import EarnedBadge
from core.challenge_rules import Badge

EARNED = datetime(2026, 3, 4, tzinfo=UTC)


def test_without_badges_the_card_is_the_qr_code_itself() -> None:
    qr = qr_png("LC.K7Q-4MX2.abc.sig")
    assert card_png(qr, []) == qr


def test_badges_are_drawn_under_the_qr_code() -> None:
    qr = qr_png("LC.K7Q-4MX2.abc.sig")
    badges = [
        EarnedBadge(badge=Badge(id=f"b{n}", name=f"Badge number {n}"), times=n,
                    last_earned=EARNED)
        for n in range(1, 5)
    ]  # fmt: skip
    card = Image.open(io.BytesIO(card_png(qr, badges)))
    code = Image.open(io.BytesIO(qr))
    assert card.format == "PNG"
    assert card.width >= code.width and card.height > code.height + 2 * 96  # two rows of medals
    # The medals are not blank: the shelf under the code has colour in it.
    shelf = card.convert("RGB").crop((0, code.height, card.width, card.height))
    assert len(shelf.getcolors(maxcolors=1 << 16) or []) > 10
