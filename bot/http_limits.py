"""The HTTP boundary: a body larger than any real request is refused before it is read.

An ASGI middleware on the shared server, in front of every route (Telegram's webhook,
Slack's events, the purchase API): a declared Content-Length over the limit gets 413 at
once, and a body that grows past the limit while it streams in (chunked, or lying about its
length) gets 413 when it does, so no handler ever reads, parses or stores more than that.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Telegram updates are a few KB (a 4,096-character message with its entities); Slack's
# largest payloads (a message with blocks, a modal) stay well under this.
MAX_BODY_BYTES = 512 * 1024


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413 Payload Too Large."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, read the body up to the limit, then hand it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _refuse(send, 413 if declared.isdigit() else 400)
            return
        body = bytearray()
        more = True
        while more:  # however the body is sent, no more than the limit is ever held
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.limit:
                await _refuse(send, 413)
                return
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read, then waits as the server does."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _refuse(send: Send, status: int) -> None:
    reason = b"request body too large" if status == 413 else b"bad Content-Length"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(reason)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": reason})
