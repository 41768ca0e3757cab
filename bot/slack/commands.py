"""`/kudos`: give (`@person [points] reason #value`), balance, leaderboard, rewards, award."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.replies import Line, Reply
from bot.requests import ChatRequest
from bot.router import Router
from bot.slack.giving import Giving
from bot.slack.home import Standing, button_element
from bot.slack.parse import MENTION, kudos_command
from bot.slack.people import PLATFORM, Person
from core.model import Identity

# bolt's `respond`, or anything answering like it (a direct message, for Home tab buttons).
Respond = Callable[..., Awaitable[Any]]


def identity_of(person: Person) -> Identity:
    """The platform-neutral identity of a Slack person."""
    return Identity(PLATFORM, person.user_id, person.name, None, None, person.time_zone)


def blocks_for(giving: Giving, reply: Reply) -> list[dict[str, Any]]:
    """A reply as Block Kit: its text, then its buttons, each running a command when tapped."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": giving.text(*reply.lines)}}
    ]
    for row in reply.buttons:
        blocks.append({"type": "actions", "elements": [button_element(giving, b) for b in row]})
    return blocks


class KudosCommand:
    """Parses `/kudos` text and runs the matching use case."""

    def __init__(self, router: Router, giving: Giving, standing: Standing) -> None:
        self.router = router
        self.giving = giving
        self.standing = standing

    async def handle(self, command: dict[str, Any], respond: Respond) -> None:
        """Run one `/kudos` invocation and answer through `respond`."""
        text = str(command.get("text") or "").strip()
        word, _, rest = text.partition(" ")
        person = await self.giving.people.person(str(command["user_id"]))
        key = f"slack:{command.get('trigger_id')}"
        match word.lower():
            case "balance":
                await respond(self.giving.text(*await self.standing.balance_lines(person)))
            case "leaderboard":
                await respond(self.giving.text(*await self.standing.leaderboard_lines()))
            case "rewards" | "redeem":
                await self.run(
                    respond,
                    ChatRequest(identity_of(person), word.lower(), tuple(rest.split()), key),
                )
            case "award":
                await self.award(respond, person, rest, key)
            case _:
                await self.give(respond, person, text, key)

    async def give(self, respond: Respond, person: Person, text: str, key: str) -> None:
        """Give to everyone mentioned; announce in the channel, answer the giver privately."""
        request = kudos_command(text)
        if request is None:
            await respond(self.giving.text(Line("usage.kudos")))
            return
        outcome = await self.giving.give(person.user_id, request, key)
        for receiver, result in outcome.new_gifts:
            announcement = self.giving.announcement(outcome.giver, receiver, result)
            await respond(announcement, response_type="in_channel", replace_original=False)
        await respond(self.giving.private_reply(outcome), replace_original=False)

    async def award(self, respond: Respond, person: Person, rest: str, key: str) -> None:
        """`/kudos award @person <points> <reason>`: the shared staff award, by mention."""
        mention, _, tail = rest.strip().partition(" ")
        found = MENTION.fullmatch(mention)
        receiver = await self.giving.people.person(found.group(1)) if found else None
        if receiver is None or receiver.member is None:
            await respond(self.giving.text(Line("usage.kudos")))
            return
        args = (receiver.member.code, *tail.split())
        await self.run(respond, ChatRequest(identity_of(person), "award", args, key))

    async def run(self, respond: Respond, request: ChatRequest) -> None:
        """A shared router command, answered with text and buttons."""
        reply = await asyncio.to_thread(self.router.handle, request)
        await respond(self.giving.text(*reply.lines), blocks=blocks_for(self.giving, reply))
