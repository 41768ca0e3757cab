"""`/kudos`: give (`@person [points] reason #value`), balance, leaderboard, rewards, award."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.replies import Line
from bot.requests import MAX_LINE, ChatRequest, line_problem
from bot.router import Router
from bot.slack.blocks import blocks_for
from bot.slack.files import SlackFiles
from bot.slack.giving import Giving
from bot.slack.home import Standing
from bot.slack.parse import MENTION, kudos_command
from bot.slack.people import PLATFORM, Person
from core.errors import UnreadablePoints
from core.model import Identity, Member

# bolt's `respond`, or anything answering like it (a direct message, for Home tab buttons).
Respond = Callable[..., Awaitable[Any]]


def identity_of(person: Person) -> Identity:
    """The platform-neutral identity of a Slack person."""
    return Identity(
        platform=PLATFORM,
        external_id=person.user_id,
        display_name=person.name,
        language=person.locale,
        time_zone=person.time_zone,
    )


class KudosCommand:
    """Parses `/kudos` text and runs the matching use case."""

    def __init__(
        self, router: Router, giving: Giving, standing: Standing, files: SlackFiles | None = None
    ) -> None:
        self.router = router
        self.giving = giving
        self.standing = standing
        self.files = files  # uploads images and attachments (none in tests without a client)

    async def handle(
        self, command: dict[str, Any], respond: Respond, key: str, member: Member | None
    ) -> None:
        """Run one `/kudos` invocation and answer through `respond`.

        `key` is the delivery's and `member` the sender's membership as the delivery was
        admitted (None before they first joined, which looking them up does).
        """
        text = str(command.get("text") or "").strip()
        word, _, rest = text.partition(" ")
        person = await self.giving.people.person(str(command["user_id"]))
        member = member or person.member
        language = self.giving.language_of(person, member)
        if (problem := line_problem(text)) is not None:  # the chat line's limits hold here too
            await respond(self.giving.text(language, Line(f"line.{problem}", {"limit": MAX_LINE})))
            return
        match word.lower():
            case "balance":
                lines = await self.standing.balance_lines(person, language)
                await respond(self.giving.text(language, *lines))
            case "leaderboard":
                lines = await self.standing.leaderboard_lines()
                await respond(self.giving.text(language, *lines))
            case "rewards" | "redeem":
                request = ChatRequest(identity_of(person), word.lower(), tuple(rest.split()), key)
                await self.run(respond, request, person, member)
            case "award":
                await self.award(respond, person, member, rest, key)
            case _:
                await self.give(respond, person, member, text, key)

    async def give(
        self, respond: Respond, person: Person, member: Member | None, text: str, key: str
    ) -> None:
        """Give to everyone mentioned; announce in the channel, answer the giver privately."""
        language = self.giving.language_of(person, member)
        try:
            request = kudos_command(text)
        except UnreadablePoints as error:  # "-5", "1e3": say what a gift can be
            rules = self.giving.kudos.program.recognition
            line = (
                Line("error.gift_too_large", {"points": error.params["text"],
                                              "maximum": rules.max_per_gift})
                if rules is not None
                else Line("error.recognition_off")
            )  # fmt: skip
            await respond(self.giving.text(language, line))
            return
        if request is None:
            await respond(self.giving.text(language, Line("usage.kudos")))
            return
        outcome = await self.giving.give(person.user_id, request, key, member)
        for receiver, result in outcome.new_gifts:
            announcement = self.giving.announcement(outcome.giver, receiver, result)
            await respond(announcement, response_type="in_channel", replace_original=False)
        await respond(self.giving.private_reply(outcome), replace_original=False)

    async def award(
        self, respond: Respond, person: Person, member: Member | None, rest: str, key: str
    ) -> None:
        """`/kudos award @person <points> <reason>`: the shared staff award, by mention."""
        mention, _, tail = rest.strip().partition(" ")
        found = MENTION.fullmatch(mention)
        receiver = await self.giving.people.person(found.group(1)) if found else None
        if receiver is None or receiver.member is None:
            language = self.giving.language_of(person, member)
            await respond(self.giving.text(language, Line("usage.kudos")))
            return
        args = (receiver.member.code, *tail.split())
        request = ChatRequest(identity_of(person), "award", args, key)
        await self.run(respond, request, person, member)

    async def run(
        self, respond: Respond, request: ChatRequest, person: Person, member: Member | None,
        unanswered: frozenset[str] = frozenset(),
    ) -> None:  # fmt: skip
        """A shared router command for an identified sender, answered with text and buttons
        in their language (the one a `settings language` reply names, if it does); a reply
        whose first line is one of `unanswered` is not sent."""
        reply = await asyncio.to_thread(self.router.handle_as, request, member)
        if reply.lines and reply.lines[0].key in unanswered:
            return
        if reply.language:
            language = self.giving.renderer.catalogs.language_for(reply.language)
        else:
            language = self.giving.language_of(person, member)
        text = self.giving.text(language, *reply.lines)
        await respond(text, blocks=blocks_for(self.giving.renderer, reply, language))
        if self.files is not None:  # the /card QR code, report charts, a data export
            await self.files.send(person.user_id, reply, language)
