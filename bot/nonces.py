"""Confirm buttons: nonces the bot signs for one member and one reward, valid for a while.

A nonce is "<expiry>.<random>.<signature>": the expiry in minutes since the epoch (base 36),
six random characters that make each /redeem's button its own, and a truncated HMAC over the
member, the reward and both. Nothing is stored: /confirm recomputes the signature. The nonce
stays the idempotency key of the redemption, so a double tap still spends once.

Sized for Telegram: "/confirm <reward id up to 32> <nonce>" fits its 64-byte callback data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from datetime import UTC, datetime, timedelta

from bot.cards import base36
from core.ports import Clock

TTL = timedelta(minutes=30)
MAX_NONCE = 32
_SIGNATURE_BYTES = 6  # 48 bits: far beyond what can be guessed online


class ConfirmNonces:
    """Issues and checks the nonces of confirm buttons."""

    def __init__(self, secret: bytes, clock: Clock, ttl: timedelta = TTL) -> None:
        self._secret = secret
        self._clock = clock
        self._ttl = ttl

    def issue(self, member_id: int, reward_id: str) -> str:
        """A fresh nonce for `member_id` confirming `reward_id`."""
        minutes = math.ceil((self._clock.now() + self._ttl).timestamp() / 60)
        body = f"{base36(minutes)}.{secrets.token_urlsafe(5)[:6]}"
        return f"{body}.{self._sign(member_id, reward_id, body)}"

    def expiry(self, member_id: int, reward_id: str, nonce: str) -> datetime | None:
        """When a genuine nonce for this member and reward expires; None for any other text
        (foreign, tampered, malformed), without telling which."""
        if len(nonce) > MAX_NONCE or not nonce.isascii():
            return None
        body, _, signature = nonce.rpartition(".")
        expected = self._sign(member_id, reward_id, body)
        if not body or not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        try:
            minutes = int(body.partition(".")[0], 36)
        except ValueError:
            return None
        return datetime.fromtimestamp(minutes * 60, UTC)

    def _sign(self, member_id: int, reward_id: str, body: str) -> str:
        message = f"{member_id}:{reward_id}:{body}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode()
