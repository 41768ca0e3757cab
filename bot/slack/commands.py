"""`/kudos`: give (`@person [points] reason #value`), balance, leaderboard, rewards, award,
all through the shared router (`bot.commands.kudos`); Slack's mentions and answers here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.requests import ChatRequest, Mention, Place, line_problem
from bot.router import Router
from bot.slack.blocks import blocks_for
from bot.slack.files import SlackFiles
from bot.slack.giving import Giving, place_of
from bot.slack.parse import MENTION, mentions_then_rest
from bot.slack.people import PLATFORM, Person
from core.errors import MemberNotFound
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
    """Reads `/kudos` text as Slack writes it (mentions), runs it through the shared router
    and answers with Slack's means: announcements in the channel, the rest to the sender."""

    def __init__(self, router: Router, giving: Giving, files: SlackFiles | None = None) -> None:
        self.router = router
        self.giving = giving
        self.files = files  # uploads images and attachments (none in tests without a client)

    async def handle(
        self, command: dict[str, Any], respond: Respond, key: str, member: Member | None
    ) -> None:
        """Run one `/kudos` invocation and answer through `respond`.

        `key` is the delivery's and `member` the sender's membership as the delivery was
        admitted (None before they first joined, which looking them up does).
        """
        text = str(command.get("text") or "").strip()
        person = await self.giving.people.person(str(command["user_id"]), member)
        member = member or person.member
        place = place_of(command.get("channel_id"), command.get("channel_name"))
        request = await self.request(person, text, key, place)
        # A slash command has no message of its own to replace.
        await self.run(respond, request, person, member, replace_original=False)

    async def request(
        self, person: Person, text: str, key: str, place: Place | None = None
    ) -> ChatRequest:
        """The router's request for `/kudos text`: rewards, redeem and award are the shared
        commands; anything else is the `kudos` command, with the people it mentions looked up
        (and enrolled on sight) here, before it runs."""
        identity = identity_of(person)
        if (problem := line_problem(text)) is not None:  # the chat line's limits hold here too
            return ChatRequest(identity, "kudos", (), key, problem)
        word, _, rest = text.partition(" ")
        match word.lower():
            case "rewards" | "redeem":
                return ChatRequest(identity, word.lower(), tuple(rest.split()), key)
            case "award":
                mention, _, tail = rest.strip().partition(" ")
                found = MENTION.fullmatch(mention)
                receiver = await self.giving.people.person(found.group(1)) if found else None
                if receiver is None or receiver.member is None:  # the usage line says how
                    return ChatRequest(identity, "kudos", ("award",), key)
                return ChatRequest(identity, "award", (receiver.member.code, *tail.split()), key)
        named = mentions_then_rest(text)
        if named is None:
            return ChatRequest(identity, "kudos", tuple(text.split()), key)
        recipients, rest = named
        mentions = tuple([await self.mention(user_id) for user_id in recipients])
        # The reason keeps its spacing: one argument, read by the command.
        return ChatRequest(
            identity, "kudos", (rest,) if rest else (), key, mentions=mentions, place=place
        )

    async def mention(self, user_id: str) -> Mention:
        """A mentioned Slack user as the router sees them."""
        shown = f"<@{user_id}>"
        try:
            person = await self.giving.people.person(user_id)
        except MemberNotFound:
            return Mention(ref=user_id, shown=shown, name=shown, member=None, found=False)
        return Mention(
            ref=user_id, shown=shown, name=person.name, member=person.member, is_bot=person.is_bot
        )

    async def run(
        self,
        respond: Respond,
        request: ChatRequest,
        person: Person,
        member: Member | None,
        unanswered: frozenset[str] = frozenset(),
        **options: Any,
    ) -> None:
        """A shared router command for an identified sender: its announcements in the channel
        in the workspace's language, then the answer with text and buttons in the sender's
        (the one a `settings language` reply names, if it does); a reply whose first line is
        one of `unanswered` is not sent."""
        reply = await asyncio.to_thread(self.router.handle_as, request, member)
        if reply.lines and reply.lines[0].key in unanswered:
            return
        for line in reply.announcements:
            announced = self.giving.text(self.giving.language, line)
            await respond(announced, response_type="in_channel", replace_original=False)
        if reply.language:
            language = self.giving.renderer.catalogs.language_for(reply.language)
        else:
            language = self.giving.language_of(person, member)
        text = self.giving.text(language, *reply.lines)
        # Blocks only carry buttons: a lone section would repeat the text (and cost a render).
        blocks = blocks_for(self.giving.renderer, reply, language) if reply.buttons else None
        await respond(text, blocks=blocks, **options)
        if self.files is not None:  # the /card QR code, report charts, a data export
            await self.files.send(person.user_id, reply, language)
