"""Signing purchase API requests exactly as a till does: the raw JSON bytes, then headers."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.api.signing import signed_headers

SECRET = "pos-9f3a7c21e85d4b06"  # random-looking: placeholders are refused


def signed(
    body: dict[str, Any] | bytes, secret: str = SECRET, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """The bytes to send and their headers (JSON content type, timestamp, signature)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = signed_headers(secret, raw, time.time() if at is None else at)
    return raw, {"Content-Type": "application/json", **headers}
