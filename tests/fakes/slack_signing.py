"""Requests exactly as Slack sends them to an app's ``/slack/events``, signed over the exact bytes.

Typical use::

    body = slash_command_body(text="@bob 5 thanks", response_url=fake.response_url("c1"))
    await client.post("/slack/events", content=body, headers=headers(SECRET, body))

Slash commands and block actions are form-urlencoded (block actions as ``payload=<json>``);
events are JSON ``event_callback`` envelopes. Signatures are
``"v0=" + hex(HMAC-SHA256(secret, f"v0:{timestamp}:{body}"))`` and bolt refuses (401) a
timestamp more than 5 minutes away from now.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

JsonDict = dict[str, Any]

VERIFICATION_TOKEN = "fake-verification-token"
#: Default response_url: a closed local port, so a forgotten override fails fast and offline.
UNSET_RESPONSE_URL = "http://127.0.0.1:9/response_url/unset"

_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


def new_ts() -> str:
    """A unique, increasing Slack message timestamp such as ``1700100000.000100``."""
    micros = 1_700_100_000_000_000 + _next() * 100
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def new_event_id() -> str:
    """A unique event id such as ``Ev0000000001``."""
    return f"Ev{_next():010d}"


def new_trigger_id() -> str:
    """A unique trigger id shaped like Slack's."""
    n = _next()
    return f"{1000000000 + n}.{2000000000 + n}.{n:032x}"


# ---------------------------------------------------------------------- signing


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Slack-Signature`` value for ``body`` sent at ``timestamp``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers for ``body``."""
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(secret, body, timestamp),
    }


def headers(
    secret: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """Signature headers (timestamp defaults to now), Content-Type and optional retry headers."""
    # Content-Type is guessed from the body: JSON for {...}, else form-urlencoded.
    ts = int(time.time()) if timestamp is None else timestamp
    if content_type is None:
        is_json = body.lstrip()[:1] == b"{"
        content_type = "application/json" if is_json else "application/x-www-form-urlencoded"
    result = {"Content-Type": content_type, **sign(secret, body, ts)}
    if retry_num is not None:
        result["X-Slack-Retry-Num"] = str(retry_num)
        result["X-Slack-Retry-Reason"] = retry_reason
    return result


# ---------------------------------------------------------------------- bodies


def form_body(fields: Mapping[str, str]) -> bytes:
    """Form-urlencode ``fields`` the way Slack does."""
    return urlencode(fields).encode()


def slash_command_body(
    command: str = "/kudos",
    text: str = "",
    user_id: str = "U1",
    user_name: str = "alice",
    channel_id: str = "C1",
    team_id: str = "T1",
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
    *,
    channel_name: str = "general",
    team_domain: str = "loyalty-test",
    api_app_id: str = "A1",
) -> bytes:
    """Form-urlencoded body of a slash command invocation."""
    return form_body(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or new_trigger_id(),
        }
    )


def event_envelope(
    event: Mapping[str, Any],
    event_id: str | None = None,
    team_id: str = "T1",
    api_app_id: str = "A1",
    *,
    event_time: int | None = None,
    bot_user_id: str = "UBOT",
) -> JsonDict:
    """The ``event_callback`` envelope around ``event`` as a dict (see ``event_body``)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{team_id}-{api_app_id}",
    }


def event_body(
    event: Mapping[str, Any],
    event_id: str | None = None,
    team_id: str = "T1",
    api_app_id: str = "A1",
    *,
    event_time: int | None = None,
    bot_user_id: str = "UBOT",
) -> bytes:
    """JSON bytes of an ``event_callback`` envelope; a fresh ``event_id`` unless one is given."""
    envelope = event_envelope(
        event,
        event_id,
        team_id,
        api_app_id,
        event_time=event_time,
        bot_user_id=bot_user_id,
    )
    return json.dumps(envelope).encode()


def url_verification_body(challenge: str = "challenge-token") -> bytes:
    """JSON bytes of the ``url_verification`` handshake."""
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    ).encode()


def block_action_payload(
    user_id: str,
    action_id: str,
    value: str,
    *,
    block_id: str = "b1",
    user_name: str = "alice",
    team_id: str = "T1",
    channel_id: str = "C1",
    message_ts: str | None = None,
    view_id: str | None = None,
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
    api_app_id: str = "A1",
    action_type: str = "button",
) -> JsonDict:
    """The ``block_actions`` payload dict (see ``block_action_body``)."""
    action: JsonDict = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "value": value,
        "action_ts": new_ts(),
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": value, "emoji": True}
    payload: JsonDict = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": "loyalty-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
    }
    if view_id is not None:  # a button in App Home or a modal: no channel, no response_url
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = {"id": view_id, "type": "home", "team_id": team_id, "blocks": []}
    else:
        ts = message_ts or new_ts()
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "general"}
        payload["message"] = {"type": "message", "ts": ts, "user": "UBOT", "text": ""}
        payload["response_url"] = response_url
    return payload


def block_action_body(
    user_id: str,
    action_id: str,
    value: str,
    *,
    block_id: str = "b1",
    user_name: str = "alice",
    team_id: str = "T1",
    channel_id: str = "C1",
    message_ts: str | None = None,
    view_id: str | None = None,
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
    api_app_id: str = "A1",
    action_type: str = "button",
) -> bytes:
    """Form body ``payload=<json>`` of a block action (a message button unless ``view_id``)."""
    payload = block_action_payload(
        user_id,
        action_id,
        value,
        block_id=block_id,
        user_name=user_name,
        team_id=team_id,
        channel_id=channel_id,
        message_ts=message_ts,
        view_id=view_id,
        response_url=response_url,
        trigger_id=trigger_id,
        api_app_id=api_app_id,
        action_type=action_type,
    )
    return form_body({"payload": json.dumps(payload)})


# ---------------------------------------------------------------------- common events


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "mpim"}.get(channel[:1], "channel")


def message_event(
    channel: str,
    user: str,
    text: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    *,
    team: str = "T1",
) -> JsonDict:
    """A plain ``message`` event (a thread reply when ``thread_ts`` is given)."""
    ts = ts or new_ts()
    event: JsonDict = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "team": team,
        "channel_type": _channel_type(channel),
        "client_msg_id": f"00000000-0000-0000-0000-{_next():012d}",
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def message_changed_event(
    channel: str,
    user: str,
    ts: str,
    text: str,
    previous_text: str,
    edit_ts: str | None = None,
    *,
    team: str = "T1",
) -> JsonDict:
    """A ``message`` event with subtype ``message_changed`` (an edit of message ``ts``)."""
    edit_ts = edit_ts or new_ts()
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel,
        "ts": edit_ts,
        "event_ts": edit_ts,
        "channel_type": _channel_type(channel),
        "message": {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "team": team,
            "edited": {"user": user, "ts": edit_ts},
        },
        "previous_message": {
            "type": "message",
            "user": user,
            "text": previous_text,
            "ts": ts,
            "team": team,
        },
    }


def _reaction_event(
    kind: str, user: str, reaction: str, channel: str, ts: str, item_user: str
) -> JsonDict:
    return {
        "type": kind,
        "user": user,
        "reaction": reaction,
        "item_user": item_user,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": new_ts(),
    }


def reaction_added_event(
    user: str, reaction: str, channel: str, ts: str, item_user: str
) -> JsonDict:
    """A ``reaction_added`` event: ``user`` reacted to ``item_user``'s message ``ts``."""
    return _reaction_event("reaction_added", user, reaction, channel, ts, item_user)


def reaction_removed_event(
    user: str, reaction: str, channel: str, ts: str, item_user: str
) -> JsonDict:
    """A ``reaction_removed`` event: ``user`` took back a reaction on message ``ts``."""
    return _reaction_event("reaction_removed", user, reaction, channel, ts, item_user)


def app_home_opened_event(user: str, channel: str | None = None, tab: str = "home") -> JsonDict:
    """An ``app_home_opened`` event (channel defaults to the DM ``"D" + user``)."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": channel or "D" + user,
        "tab": tab,
        "event_ts": new_ts(),
    }
