"""/kudos (Slack's own slash command): give colleagues points (`@person [points] reason
#value`), see what one has and may still give, and this month's top receivers.

The adapter resolves the people a line mentions before the command runs (that is Slack I/O)
and posts the reply's announcements in the channel; everything else is here, behind the
router's permission, usage, error, metrics and delivery paths like every other command.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from bot.amounts import looks_like_number, parse_points
from bot.replies import Line, Reply, ShortDate
from bot.requests import Mention
from bot.router import Command, Context, UsageError
from core import deliveries
from core.errors import BotGift, DomainError, MemberNotFound, UnreadablePoints
from core.model import Gift, Member
from core.privacy import LeftProgram
from core.recognition import Allowance, GiftResult, GiveKudos

LEADERS = 5


def kudos(ctx: Context) -> Reply:
    """/kudos @person… [points] reason · /kudos balance · /kudos leaderboard."""
    if ctx.request.mentions:
        return give(ctx)
    word = ctx.args[0].lower() if ctx.args else ""
    if word == "balance":
        member = ctx.require_member()
        zone = ctx.request.identity.time_zone
        available, allowance = ctx.recognition.wallet(member.id, zone)
        return Reply(balance_lines(available, allowance))
    if word == "leaderboard":
        return Reply(leaderboard_lines(ctx.recognition.leaderboard(LEADERS)))
    raise UsageError("kudos")


def give(ctx: Context) -> Reply:
    """A gift to each person mentioned, each checked on its own: the announcements of new
    gifts for the channel, refusals and the allowance left for the giver."""
    giver = ctx.require_member()
    rules = ctx.recognition.program.recognition
    try:
        points, reason = points_and_reason(" ".join(ctx.args))
    except UnreadablePoints as error:  # "-5", "1e3": say what a gift can be
        if rules is None:
            return Reply.say("error.recognition_off")
        return Reply.say(
            "error.gift_too_large", points=error.params["text"], maximum=rules.max_per_gift
        )
    lines: list[Line] = []
    eligible: list[tuple[Mention, Member]] = []
    for mention in ctx.request.mentions:
        if mention.member is None or not mention.found:
            lines.append(refusal(_unreachable(mention), mention.name))
        else:
            eligible.append((mention, mention.member))
    announcements: list[Line] = []
    last: GiftResult | None = None
    for index, (mention, receiver) in enumerate(eligible):
        command = GiveKudos(
            key=f"{ctx.request.key}:{mention.ref}",
            giver_id=giver.id,
            receiver_id=receiver.id,
            points=points,
            reason=reason,
            giver_zone=ctx.request.identity.time_zone,
            receiver_is_bot=mention.is_bot,
            channel=place.channel if (place := ctx.request.place) else None,
            channel_name=place.name if place else None,
        )
        # Only the last gift's transaction settles the delivery: one that settled with the
        # first would lose the others to a crash in between. Handled again, the gifts made
        # already are replays of their keys (and not announced twice).
        settles = index == len(eligible) - 1
        try:
            with contextlib.nullcontext() if settles else deliveries.aside():
                result = ctx.recognition.give(command)
        except DomainError as error:
            lines.append(refusal(error, mention.name))
            continue
        last = result
        if not result.duplicate:
            announcements.append(announcement(ctx, mention, result))
    if last is not None:
        lines.append(left_line(last, rules.monthly_allowance if rules is not None else 0))
    return Reply(lines, announcements=tuple(announcements))


def points_and_reason(text: str) -> tuple[int | None, str]:
    """The words after the mentions: a first word written as a number is the points, read by
    the one points reader ("-5" or "99999999999999999999" are refused, never a reason); None
    points is the program's default."""
    words = text.strip().split(None, 1)
    if not words or not looks_like_number(words[0]):
        return None, text.strip()
    return parse_points(words[0]), words[1].strip() if words[1:] else ""


def _unreachable(mention: Mention) -> DomainError:
    if not mention.found:
        return MemberNotFound(ref=mention.shown)
    # Bots and apps are not members; nor is someone who asked to be forgotten.
    return BotGift() if mention.is_bot else LeftProgram()


def refusal(error: DomainError, name: str) -> Line:
    """The line that says why a gift was refused and what is left."""
    params = {**error.params, "name": name}
    if isinstance(resets := params.get("resets"), datetime):
        params["resets"] = ShortDate(resets.date())  # already in the giver's zone
    return Line(f"error.{error.code}", params)


def announcement(ctx: Context, mention: Mention, result: GiftResult) -> Line:
    """The public line for one gift (the adapter renders it in the program's language)."""
    gift = result.gift
    params: dict[str, object] = {
        "receiver": mention.shown,
        "giver": ctx.request.identity.display_name,
        "points": gift.points,
        "reason": untagged(gift),
    }
    if gift.values:
        params["values"] = " ".join("#" + value for value in gift.values)
        return Line("kudos.given_values", params)
    return Line("kudos.given", params)


def left_line(result: GiftResult, monthly: int) -> Line:
    """What the giver has left to give this month (of `monthly`)."""
    params = {
        "left": result.allowance_left,
        "monthly": monthly,
        "resets": ShortDate(result.resets_at.date()),
    }
    return Line("kudos.left", params)


def balance_lines(available: int, allowance: Allowance) -> list[Line]:
    """Points to spend and allowance left to give (the reset day in the person's zone)."""
    return [
        Line("kudos.balance", {"available": available}),
        Line(
            "kudos.to_give",
            {
                "left": allowance.left,
                "monthly": allowance.monthly,
                "resets": ShortDate(allowance.resets_at.date()),
            },
        ),
    ]


def leaderboard_lines(top: list[tuple[Member, int]]) -> list[Line]:
    """This month's top receivers, or an invitation to be the first."""
    if not top:
        return [Line("kudos.leaderboard_empty")]
    rows = [
        Line("kudos.leaderboard_row", {"rank": rank, "name": member.display_name, "points": points})
        for rank, (member, points) in enumerate(top, start=1)
    ]
    return [Line("kudos.leaderboard_title"), *rows]


def untagged(gift: Gift) -> str:
    """The reason without the value hashtags, which the announcement lists on their own."""
    tagged = {value.lower() for value in gift.values}
    words = [w for w in gift.reason.split() if w.lstrip("#").lower() not in tagged or w[:1] != "#"]
    return " ".join(words)


COMMANDS = [
    # Slack's own slash command, not a /loyalty one: in no menu; a person who is not a member
    # (yet) still sees the leaderboard.
    Command("kudos", kudos, needs_member=False, hidden=True, platforms=frozenset({"slack"})),
]
