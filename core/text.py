"""Text that people type or platforms send, made safe before it keys or reaches anything.

One place decides what a name, a receipt or a reason may contain and how long it may be,
so that every adapter (chat, the purchase API, CSV imports) refuses or cleans the same way.
The limits are listed for operators in docs/INPUTS.md.
"""

from __future__ import annotations

import re
import unicodedata

from core import errors

MAX_NAME = 64  # display names and usernames (Telegram allows 64, Slack 80: longer is cut)
MAX_RECEIPT = 100
MAX_REASON = 200
SHOWN = 100  # longest piece of someone's input echoed back in a reply

# Control characters (C0 and C1) other than tab and line breaks, which count as spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Characters that change how text around them is shown or compared without being visible:
# zero-width space, word joiner, byte-order mark, and the bidirectional marks and overrides
# that can make a receipt or a name read as something it is not. Zero-width (non-)joiners
# stay: emoji and several scripts need them.
INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u2060\ufeff\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    ),
    None,
)
_RECEIPT_INNER = re.compile(r"[\w\-./#: ]+")


def is_readable(text: str) -> bool:
    """False when `text` holds lone surrogates: not text any platform sent on purpose."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def has_control(text: str) -> bool:
    """True when `text` holds a control character such as NUL (tab and newlines do not count)."""
    return _CONTROL.search(text) is not None


def shown(text: str, limit: int = SHOWN) -> str:
    """`text` cut to `limit` characters (with an ellipsis), for echoing input back safely."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_name(text: str | None, limit: int = MAX_NAME) -> str:
    """A display name safe to store and show: broken characters replaced, control and
    invisible characters dropped, spaces collapsed, at most `limit` characters.

    Names are cleaned, never refused: a person cannot always change the name a platform sends.
    """
    if not text:
        return ""
    if not is_readable(text):
        text = text.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub(" ", text).translate(INVISIBLE)
    return " ".join(text.split())[:limit].strip()


def clean_optional(text: str | None, limit: int = MAX_NAME) -> str | None:
    """`clean_name` for optional fields (usernames, languages, time zones): None when empty."""
    return clean_name(text, limit) or None


def normalize_receipt(text: str) -> str:
    """The canonical form of a receipt number, so "r-500", "R-500." and "Ｒ-500" are one.

    Unicode compatibility forms are folded (full-width letters, ligatures), invisible
    characters dropped, surrounding spaces and punctuation stripped, letters upper-cased.
    InvalidReceipt when nothing usable is left, when it is longer than MAX_RECEIPT, or when it
    holds anything but letters, digits, spaces and - _ . / # :.
    """
    folded = unicodedata.normalize("NFKC", text).translate(INVISIBLE)
    start, end = 0, len(folded)
    while start < end and _is_edge(folded[start]):
        start += 1
    while end > start and _is_edge(folded[end - 1]):
        end -= 1
    receipt = " ".join(folded[start:end].split()).upper()
    if not receipt or len(receipt) > MAX_RECEIPT or not _RECEIPT_INNER.fullmatch(receipt):
        raise errors.InvalidReceipt(receipt=shown(text.strip()), limit=MAX_RECEIPT)
    return receipt


def _is_edge(char: str) -> bool:
    # Punctuation, symbols and separators around a receipt are never part of it.
    return unicodedata.category(char)[0] in "PSZC"


def check_reason(text: str) -> str:
    """A reason (an award's, a gift's) with its spaces tidied; InvalidReason when it is longer
    than MAX_REASON or holds control or broken characters."""
    reason = " ".join(text.translate(INVISIBLE).split())
    if len(reason) > MAX_REASON or has_control(reason) or not is_readable(reason):
        raise errors.InvalidReason(limit=MAX_REASON)
    return reason
