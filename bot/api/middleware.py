"""ASGI middleware of the purchase API: a body size limit (413) and signature checks (401),
both on the raw bytes, before FastAPI parses anything."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, problem

BODY_LIMIT = 1024 * 1024  # a receipt with hundreds of lines is a few KiB
# A body over the limit is still read (and dropped) up to this much, so the client gets its
# 413 instead of a connection reset in the middle of its upload.
DRAIN_LIMIT = 64 * 1024 * 1024
JSON = b"application/json"


class BodyTooLarge(Exception):
    """The request body is over the limit."""


async def send_problem(send: Send, status: int, error: str, message: str) -> None:
    """A JSON error body in the API's one error shape."""
    body = json.dumps({"error": error, "message": message, "fields": []}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body; BodyTooLarge (after draining it, up to DRAIN_LIMIT) when over `limit`."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if size > DRAIN_LIMIT:
            raise BodyTooLarge
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise BodyTooLarge
    return b"".join(chunks)


def replay(body: bytes) -> Receive:
    """A `receive` that hands `body` to the app once, then reports a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class SignedBodies:
    """Reads each POST body once (at most `limit` bytes: 413 beyond), checks its signature
    (401 and nothing else runs when it is wrong, missing or stale), then passes it on."""

    def __init__(
        self,
        app: ASGIApp,
        secret: str,
        limit: int = BODY_LIMIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self._secret = secret
        self._limit = limit
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await read_body(receive, self._limit)
        except BodyTooLarge:
            await send_problem(send, 413, "too_large", f"the body is over {self._limit} bytes")
            return
        why = problem(
            self._secret,
            headers.get(TIMESTAMP_HEADER.lower()),
            headers.get(SIGNATURE_HEADER.lower()),
            body,
            self._clock(),
        )
        if why is not None:
            await send_problem(send, 401, "unauthorized", why)
            return
        if "content-type" not in headers:  # the API speaks only JSON; a till may not say so
            scope = {**scope, "headers": [*scope["headers"], (b"content-type", JSON)]}
        await self.app(scope, replay(body), send)
