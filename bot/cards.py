"""Member cards: short-lived signed tokens shown as QR codes, accepted where staff name members."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial

import segno

from bot.requests import ChatRequest
from core.ports import Clock

PREFIX = "LC"
TTL = timedelta(minutes=15)
_SIG_BYTES = 12
# Runs one verification (a guess at a token) and returns its result, counting wrong ones.
Guard = Callable[[Callable[[], str | None]], str | None]


def derive_secret(*material: str | None, purpose: bytes = b"loyalty-card-v1") -> bytes:
    """A signing key for `purpose` derived from the first configured secret (bot tokens,
    signing secret); the console, which has none, signs with a fixed one."""
    seed = next((m for m in material if m), "loyalty-console")
    return hmac.new(seed.encode(), purpose, hashlib.sha256).digest()


class CardTokens:
    """Signs and verifies card tokens such as "LC.K7Q-4MX2.1abcde.<signature>"."""

    def __init__(self, secret: bytes, clock: Clock, ttl: timedelta = TTL) -> None:
        self._secret = secret
        self._clock = clock
        self._ttl = ttl

    def issue(self, code: str) -> str:
        """A token for the member `code`, valid for the TTL."""
        expires = int((self._clock.now() + self._ttl).timestamp())
        body = f"{PREFIX}.{code}.{base36(expires)}"
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

    def resolve(self, request: ChatRequest, guard: Guard | None = None) -> ChatRequest:
        """The request with every valid card token among its arguments replaced by the code;
        each token is checked through `guard` (which counts wrong guesses), when given."""
        if not any(arg.startswith(f"{PREFIX}.") for arg in request.args):
            return request
        check: Guard = guard or (lambda verify: verify())
        args = tuple(
            (check(partial(self.verify, arg)) or arg) if arg.startswith(f"{PREFIX}.") else arg
            for arg in request.args
        )
        return replace(request, args=args)

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:_SIG_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG bytes."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def base36(number: int) -> str:
    """`number` (not negative) in base 36, lower case."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"
