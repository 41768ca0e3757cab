"""Request signatures of the purchase API, the way Stripe and Slack sign theirs.

`X-Loyalty-Timestamp: <unix seconds>` and `X-Loyalty-Signature: v1=<hex HMAC-SHA256 of
"<timestamp>.<raw body>">` with POS_WEBHOOK_SECRET; several `v1=` values may be given, comma
separated (a secret being rotated), and any one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Loyalty-Timestamp"
SIGNATURE_HEADER = "X-Loyalty-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value that signs `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, now: float) -> dict[str, str]:
    """Both headers for a request sent now (what a till, or a test, puts on its request)."""
    timestamp = str(int(now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def problem(
    secret: str, timestamp: str | None, given: str | None, body: bytes, now: float
) -> str | None:
    """Why a request's signature is not acceptable, or None when it is."""
    if not timestamp or not given:
        return "missing signature headers"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "the timestamp is not unix seconds"
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return "the timestamp is more than five minutes away"
    expected = signature(secret, timestamp, body).encode()
    candidates = [part.strip().encode() for part in given.split(",")]
    # Every candidate is compared, in constant time each, so timing tells nothing.
    matches = [hmac.compare_digest(candidate, expected) for candidate in candidates]
    return None if any(matches) else "the signature does not match"
