"""What a request to /slack/events must pass before bolt, or anything else, sees it.

1. Its signature, checked here first and only here: a missing, malformed or stale
   timestamp, or a missing or wrong signature, is 401 and nothing else runs (bolt's own
   check raised on a timestamp such as "abc" into its error handler, which then answered at
   the body's response_url: whoever sent it chose where the bot would post).
2. Its body: UTF-8, JSON or a form as Slack sends them, a JSON object where one is due; ids
   (event, trigger, user, channel, message ts) of a sane shape, because they key rows;
   every response_url under Slack's own host. Anything else is 400.

Bolt then gets the body as parsed here, as JSON (bolt reads any form body that merely
contains the word "payload" as an empty request), and does not check the signature again.

The workspace check (a signed request from another workspace of a distributed app) runs
inside bolt, so that Socket Mode has it too: see `bot.slack.workspace`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

MAX_CLOCK_SKEW = 300  # seconds, as Slack recommends
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# Slack's ids ("U0123ABC", "Ev0123", "1700000000.000100", trigger ids) are short and plain.
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ID_FIELDS = frozenset(
    {
        "event_id",
        "trigger_id",
        "team_id",
        "api_app_id",
        "enterprise_id",
        "user_id",
        "channel_id",
        "item_user",
        "ts",
        "event_ts",
        "thread_ts",
        "message_ts",
    }
)
# Who and where: an id, or an object describing it (bolt reads both).
_ENTITY_FIELDS = frozenset({"team", "user", "channel", "enterprise"})
# Parts bolt and the listeners read as objects.
_OBJECT_FIELDS = frozenset(
    {"event", "message", "previous_message", "item", "view", "container", "assistant_thread",
     "function_data", "state", "edited"}
)  # fmt: skip
_LIST_OF_OBJECTS = frozenset({"authorizations", "actions", "response_urls"})
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


class SlackHosts:
    """Where the bot may post answers: Slack's own hosts, as configured by SLACK_API_URL
    (its host, and hooks.slack.com for the real Slack)."""

    def __init__(self, api_url: str) -> None:
        parts = urlsplit(api_url)
        self._origins = {(parts.scheme.lower(), parts.netloc.lower())}
        host = (parts.hostname or "").lower()
        if host == "slack.com" or host.endswith(".slack.com"):
            self._origins.add(("https", "hooks.slack.com"))

    def allows(self, url: object) -> bool:
        """True when `url` is a URL on one of Slack's hosts (no user info, no other port)."""
        if not isinstance(url, str) or len(url) > 2048:
            return False
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        return (parts.scheme.lower(), parts.netloc.lower()) in self._origins


class SlackGate:
    """Checks a request to /slack/events before bolt sees it (see the module's docstring)."""

    def __init__(
        self, signing_secret: str, hosts: SlackHosts, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = signing_secret.encode()
        self._hosts = hosts
        self._clock = clock

    async def admit(self, request: Request) -> dict[str, Any] | Response:
        """The parsed body of a genuine Slack request, or the response refusing it: 401 when
        Slack did not sign it, 400 when it is not a Slack request."""
        body = await request.body()
        if not self.verified(request.headers.get("X-Slack-Request-Timestamp", ""),
                            request.headers.get("X-Slack-Signature", ""), body):  # fmt: skip
            return PlainTextResponse("invalid request signature", status_code=401)
        parsed = self.parse(body, request.headers.get("Content-Type", ""))
        if isinstance(parsed, str):
            return PlainTextResponse(f"malformed Slack request: {parsed}", status_code=400)
        return parsed

    def verified(self, timestamp: str, signature: str, body: bytes) -> bool:
        """True when Slack signed `body` at `timestamp`, no more than 5 minutes away."""
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return False
        if abs(self._clock() - int(timestamp)) > MAX_CLOCK_SKEW:
            return False
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode())

    def parse(self, body: bytes, content_type: str) -> dict[str, Any] | str:
        """A signed body as the dict bolt works on, or what is wrong with it."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return "the body is not UTF-8"
        kind = content_type.split(";", 1)[0].strip().lower()
        parsed: dict[str, Any] | None
        if kind == _JSON:
            parsed = _json_object(text)
        elif kind == _FORM:
            parsed = dict(parse_qsl(text, keep_blank_values=True))
            if "payload" in parsed:  # interactivity: the form carries one JSON field
                parsed = _json_object(parsed["payload"])
        else:
            return f"unexpected content type {kind or 'none'}"
        if parsed is None:
            return "the body is not a JSON object"
        if not parsed:
            return "the body is empty"
        problem = self._fields(parsed)
        return parsed if problem is None else problem

    def _fields(self, data: dict[str, Any]) -> str | None:
        """The shape bolt and the listeners rely on (ids are plain, objects are objects), and
        answers only ever to Slack's hosts."""
        urls = [data.get("response_url")]
        urls += [item.get("response_url") for item in _dicts(data.get("response_urls"))]
        if any(url is not None and not self._hosts.allows(url) for url in urls):
            return "response_url is not on Slack's host"
        stack: list[Any] = [data]
        while stack:
            node = stack.pop()
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in items:
                if value not in (None, "") and not _fits(key, value):
                    return f"{key} is not what Slack sends there"
                if isinstance(value, dict | list):
                    stack.append(value)
        return None


def _fits(key: str | int, value: object) -> bool:
    """Whether a value (not null, not empty) has the shape Slack gives the field `key`."""
    if key in _ID_FIELDS:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and isinstance(key, str) and key.endswith("ts"):
            return True  # old message attachments give their ts as a number
        return isinstance(value, str) and _ID.fullmatch(value) is not None
    if key in _ENTITY_FIELDS:
        return isinstance(value, dict) or (
            isinstance(value, str) and _ID.fullmatch(value) is not None
        )
    if key in _OBJECT_FIELDS:
        return isinstance(value, dict)
    if key in _LIST_OF_OBJECTS:
        return isinstance(value, list) and all(isinstance(item, dict) for item in value)
    return True


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
