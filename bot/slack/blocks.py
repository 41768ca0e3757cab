"""Replies as Slack Block Kit: the text in a section, buttons in actions blocks."""

from __future__ import annotations

from typing import Any

from bot.render import Renderer
from bot.replies import Button, Reply

# A button's action id: this prefix and the command it runs (bolt routes them by a pattern).
ACTION_PREFIX = "run:"
# A link button's action id; Slack still posts the tap, which only needs acknowledging.
LINK_PREFIX = "open:"
LABEL_LIMIT = 75


def blocks_for(renderer: Renderer, reply: Reply, language: str) -> list[dict[str, Any]]:
    """A reply as Block Kit: its text, then its buttons, each running a command when tapped."""
    text = renderer.text(reply, language)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    for row in reply.buttons:
        elements = [button_element(renderer, button, language) for button in row]
        blocks.append({"type": "actions", "elements": elements})
    return blocks


def button_element(renderer: Renderer, button: Button, language: str) -> dict[str, Any]:
    """A Block Kit button that runs `button.command` as the person who taps it, or opens
    `button.url`."""
    label = renderer.line(button.label, language)[:LABEL_LIMIT]
    element: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": label}}
    if button.url is not None:
        return {**element, "action_id": LINK_PREFIX + button.url[:200], "url": button.url}
    return {**element, "action_id": ACTION_PREFIX + button.command[:200], "value": button.command}
