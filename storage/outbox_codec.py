"""How an outbox row keeps its parameters and buttons: JSON text, the same on both engines.

Parameters are JSON values; a datetime (a voucher's end, an expiry date) is kept as
`{"$datetime": "<ISO 8601>"}` so that it comes back as an aware datetime for the renderer.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from core.broadcasts import Body
from core.outbox import MessageButton

_DATETIME = "$datetime"
_BODY = "$body"


def dump_params(params: dict[str, object]) -> str:
    """Message parameters as JSON text."""
    return _JSON.encode(params)


def load_params(value: object) -> dict[str, object]:
    """Message parameters from JSON text (or an already decoded value)."""
    loaded = json.loads(value, object_hook=_decode) if isinstance(value, str | bytes) else value
    return dict(loaded) if isinstance(loaded, dict) else {}


def dump_buttons(rows: tuple[tuple[MessageButton, ...], ...]) -> str:
    """Rows of buttons as JSON text."""
    shaped = [
        [
            {
                "label": button.label,
                "params": button.label_params,
                **({"command": button.command} if button.command is not None else {}),
                **({"url": button.url} if button.url is not None else {}),
            }
            for button in row
        ]
        for row in rows
    ]
    return _JSON.encode(shaped)


def load_buttons(value: object) -> tuple[tuple[MessageButton, ...], ...]:
    """Rows of buttons from JSON text; none for NULL."""
    if value is None:
        return ()
    rows: list[list[dict[str, Any]]] = json.loads(str(value), object_hook=_decode)
    return tuple(
        tuple(
            MessageButton(
                label=str(item["label"]),
                label_params=dict(item.get("params") or {}),
                command=item.get("command"),
                url=item.get("url"),
            )
            for item in row
        )
        for row in rows
    )


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} cannot be an outbox parameter")


# What json.dumps would make for each call with these options, made once (a nudge run encodes
# a hundred thousand parameter sets).
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_encode)


def _decode(item: dict[str, Any]) -> object:
    if len(item) == 1 and _DATETIME in item:
        return datetime.fromisoformat(item[_DATETIME])
    if len(item) == 1 and _BODY in item:  # a broadcast's text, shown whole
        return Body(item[_BODY])
    return item
