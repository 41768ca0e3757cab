"""The Telegram webhook's boundary: a body is an update, or it is refused with 400.

Telegram only ever posts a JSON object with an integer `update_id`; anything else (a list,
null, a string, a number, `{"message": "x"}`, nesting deeper than the parser goes) is not
an update and never reaches the handlers.
"""

from __future__ import annotations

import json

from telegram import Bot, Update


class BadUpdate(Exception):
    """The body is not a Telegram update; the message says why."""


def parse_update(body: bytes, bot: Bot) -> Update:
    """The update in a webhook body; BadUpdate when it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadUpdate("the body is not JSON") from None
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise BadUpdate("the body is not an update (no integer update_id)")
    try:
        update = Update.de_json(data, bot)
    except Exception:  # whatever PTB cannot read is not an update we can handle
        raise BadUpdate("the update has fields of the wrong shape") from None
    if update is None:
        raise BadUpdate("the body is not an update")
    return update
