"""Human-friendly, unguessable codes: member codes and voucher codes."""

from __future__ import annotations

import secrets

# Crockford's base32: no I, L, O or U, so codes survive being read aloud or typed.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_member_code() -> str:
    """A fresh member code such as K7Q-4MX2 (35 random bits)."""
    raw = _random(7)
    return f"{raw[:3]}-{raw[3:]}"


def normalize_code(text: str) -> str:
    """Canonical form of a typed code: upper case, no separators, confusables mapped."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(_CONFUSABLE)


def looks_like_member_code(text: str) -> bool:
    """True when `text` could be a member code (7 base32 characters once normalised)."""
    code = normalize_code(text)
    return len(code) == 7 and all(ch in ALPHABET for ch in code)


def new_voucher_code(reward_id: str) -> str:
    """A voucher such as LAT-8K2P-Q4MX: a readable prefix and 40 random bits."""
    prefix = "".join(ch for ch in reward_id.upper() if ch.isalnum())[:3].ljust(3, "X")
    raw = _random(8)
    return f"{prefix}-{raw[:4]}-{raw[4:]}"
