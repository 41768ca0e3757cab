"""The member card as an image: the QR code, with the member's badges as medals under it.

Emoji need a colour emoji font that servers rarely have, so a medal is drawn: a coloured disc
(the colour follows the badge id) with the badge's initials, its name and how often it was won.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw, ImageFont

from core.challenge_board import EarnedBadge

MEDALS_PER_ROW = 3
MEDAL = 96  # pixels across one medal's cell
MAX_MEDALS = 9
_PALETTE = ("#d4a017", "#c0c0c0", "#cd7f32", "#2e8b57", "#4169e1", "#c71585", "#ff7f50")


def card_png(qr: bytes, badges: list[EarnedBadge]) -> bytes:
    """The QR code alone when there are no badges; else the QR code above a shelf of medals."""
    if not badges:
        return qr
    code = Image.open(io.BytesIO(qr)).convert("RGB")
    shown = badges[:MAX_MEDALS]
    rows = (len(shown) + MEDALS_PER_ROW - 1) // MEDALS_PER_ROW
    width = max(code.width, MEDALS_PER_ROW * MEDAL)
    card = Image.new("RGB", (width, code.height + rows * (MEDAL + 28) + 8), "white")
    card.paste(code, ((width - code.width) // 2, 0))
    draw = ImageDraw.Draw(card)
    for position, held in enumerate(shown):
        row, column = divmod(position, MEDALS_PER_ROW)
        left = (width - MEDALS_PER_ROW * MEDAL) // 2 + column * MEDAL
        _medal(draw, held, left, code.height + row * (MEDAL + 28))
    buffer = io.BytesIO()
    card.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _medal(draw: ImageDraw.ImageDraw, held: EarnedBadge, left: int, top: int) -> None:
    size = MEDAL - 24
    box = (left + 12, top + 4, left + 12 + size, top + 4 + size)
    draw.ellipse(box, fill=_colour(held.badge.id), outline="#333333", width=3)
    initials = "".join(word[0] for word in held.badge.name.split()[:2]).upper() or "?"
    big = ImageFont.load_default(size=28)
    draw.text(
        ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
        initials,
        fill="white",
        font=big,
        anchor="mm",
    )
    label = held.badge.name if held.times == 1 else f"{held.badge.name} ×{held.times}"
    small = ImageFont.load_default(size=13)
    while draw.textlength(label, font=small) > MEDAL - 4 and len(label) > 4:
        label = label[:-2] + "…"
    draw.text((left + MEDAL / 2, top + size + 16), label, fill="#222222", font=small, anchor="mm")


def _colour(badge_id: str) -> str:
    """The same colour for the same badge, wherever it is drawn."""
    digest = hashlib.sha256(badge_id.encode()).digest()
    return _PALETTE[digest[0] % len(_PALETTE)]
