"""Giving recognition from Slack: one core call per recipient, each checked on its own."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.commands.kudos import left_line, refusal, untagged
from bot.render import Renderer
from bot.replies import Line
from bot.requests import Place
from bot.slack.parse import GiftRequest
from bot.slack.people import Person, SlackPeople
from core.errors import BotGift, DomainError
from core.kudos import Kudos
from core.model import Member
from core.privacy import LeftProgram
from core.recognition import GiftResult, GiveKudos


def place_of(channel: object, name: object = None, channel_type: object = None) -> Place | None:
    """The place to record for a gift given in `channel`; None for a direct message or a group
    DM (whose id names a conversation of people, and whose "mpdm-ali--bea" name lists them:
    neither is a team, and the name would outlive a `/forget`)."""
    if not isinstance(channel, str) or not channel or channel.startswith("D"):
        return None
    if channel_type in ("im", "mpim"):
        return None
    text = name if isinstance(name, str) else ""
    if text.startswith("mpdm-") or text == "directmessage":
        return None
    known = text and text != "privategroup"  # Slack's stand-in when it won't say the name
    return Place(channel, text if known else None)


@dataclass
class Outcome:
    """What happened to a request for several recipients: gifts made and refusals."""

    giver: Person
    language: str  # the giver's, for what only they see
    gifts: list[tuple[Person, GiftResult]] = field(default_factory=list)
    refusals: list[Line] = field(default_factory=list)

    @property
    def new_gifts(self) -> list[tuple[Person, GiftResult]]:
        """Gifts made by this delivery (a replayed key is not announced again)."""
        return [(person, result) for person, result in self.gifts if not result.duplicate]


class Giving:
    """Turns gift requests into core calls and the results into lines of text."""

    def __init__(
        self, kudos: Kudos, people: SlackPeople, renderer: Renderer, language: str
    ) -> None:
        self.kudos = kudos
        self.people = people
        self.renderer = renderer
        self.language = language

    def language_of(self, person: Person | None, member: Member | None = None) -> str:
        """The language a person reads: their setting, else their Slack client's, else the
        workspace's. `member` is a fresh read of their membership when the caller has one."""
        member = member or (person.member if person else None)
        return self.renderer.catalogs.reader_language(
            member.language if member else None,
            person.locale if person else None,
            fallback=self.language,
        )

    async def give(
        self,
        giver_id: str,
        request: GiftRequest,
        key_prefix: str,
        member: Member | None = None,
        place: Place | None = None,
    ) -> Outcome:
        """Give to every recipient under keys `<key_prefix>:<recipient>`, recorded as given in
        `place`; a bot or an app gives nothing (an empty outcome)."""
        giver = await self.people.person(giver_id)
        outcome = Outcome(giver, self.language_of(giver, member))
        if giver.member_id is None:
            return outcome
        for recipient in request.recipients:
            key = f"{key_prefix}:{recipient}"
            await self._give_one(outcome, recipient, request, key, place)
        return outcome

    async def _give_one(
        self, outcome: Outcome, user_id: str, request: GiftRequest, key: str, place: Place | None
    ) -> None:
        try:
            receiver = await self.people.person(user_id)
        except DomainError as error:
            outcome.refusals.append(self.refusal(error, f"<@{user_id}>", outcome.language))
            return
        giver_id, receiver_id = outcome.giver.member_id, receiver.member_id
        if giver_id is None or receiver_id is None:  # bots and apps are not members
            refused = BotGift() if receiver.is_bot else LeftProgram()  # or asked to be forgotten
            outcome.refusals.append(self.refusal(refused, receiver.name, outcome.language))
            return
        command = GiveKudos(
            key=key,
            giver_id=giver_id,
            receiver_id=receiver_id,
            points=request.points,
            reason=request.reason,
            giver_zone=outcome.giver.time_zone,
            receiver_is_bot=receiver.is_bot,
            channel=place.channel if place else None,
            channel_name=place.name if place else None,
        )
        try:
            result = await asyncio.to_thread(self.kudos.give, command)
        except DomainError as error:
            outcome.refusals.append(self.refusal(error, receiver.name, outcome.language))
        else:
            outcome.gifts.append((receiver, result))

    def refusal(self, error: DomainError, name: str, language: str) -> Line:
        """The line that says why a gift was refused and what is left."""
        return refusal(error, name)

    def announcement(self, giver: Person, receiver: Person, result: GiftResult) -> str:
        """The public line for one gift, in the workspace language (the channel reads it)."""
        gift = result.gift
        params: dict[str, object] = {
            "receiver": f"<@{receiver.user_id}>",
            "giver": giver.name,
            "points": gift.points,
            "reason": untagged(gift),
        }
        if gift.values:
            params["values"] = " ".join("#" + value for value in gift.values)
            return self.text(self.language, Line("kudos.given_values", params))
        return self.text(self.language, Line("kudos.given", params))

    def left(self, result: GiftResult, language: str) -> Line:
        """What the giver has left to give this month."""
        rules = self.kudos.program.recognition
        return left_line(result, rules.monthly_allowance if rules is not None else 0)

    def text(self, language: str, *lines: Line) -> str:
        """Lines rendered in `language`, one per row."""
        return "\n".join(self.renderer.line(line, language) for line in lines)

    def private_reply(self, outcome: Outcome) -> str:
        """The ephemeral answer to the giver: refusals, then the allowance left."""
        lines = list(outcome.refusals)
        if outcome.gifts:
            lines.append(self.left(outcome.gifts[-1][1], outcome.language))
        return self.text(outcome.language, *lines)
