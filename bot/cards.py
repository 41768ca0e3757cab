"""Member cards: short-lived signed tokens shown as QR codes, accepted where staff name members."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from dataclasses import replace
from datetime import timedelta

import segno

from bot.requests import ChatRequest
from core.ports import Clock

PREFIX = "LC"
TTL = timedelta(minutes=15)
_SIG_BYTES = 12


def derive_secret(*material: str | None) -> bytes:
    """A card-signing key derived from the first configured secret (bot tokens, signing secret)."""
    seed = next((m for m in material if m), "loyalty-console")
    return hmac.new(seed.encode(), b"loyalty-card-v1", hashlib.sha256).digest()


class CardTokens:
    """Signs and verifies card tokens such as "LC.K7Q-4MX2.1abcde.<signature>"."""

    def __init__(self, secret: bytes, clock: Clock, ttl: timedelta = TTL) -> None:
        self._secret = secret
        self._clock = clock
        self._ttl = ttl

    def issue(self, code: str) -> str:
        """A token for the member `code`, valid for the TTL."""
        expires = int((self._clock.now() + self._ttl).timestamp())
        body = f"{PREFIX}.{code}.{_base36(expires)}"
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str) -> str | None:
        """The member code in a valid, unexpired token; None otherwise."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != PREFIX:
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3], self._sign(body)):
            return None
        try:
            expires = int(parts[2], 36)
        except ValueError:
            return None
        return parts[1] if expires >= self._clock.now().timestamp() else None

    def resolve(self, request: ChatRequest) -> ChatRequest:
        """The request with every valid card token among its arguments replaced by the code."""
        if not any(arg.startswith(f"{PREFIX}.") for arg in request.args):
            return request
        args = tuple(self.verify(arg) or arg for arg in request.args)
        return replace(request, args=args)

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:_SIG_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG bytes."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"
