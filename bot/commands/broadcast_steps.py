"""/broadcast step by step: `/broadcast` alone asks for the segment (buttons for the common
ones, or a typed one), then for the text, which the author sends as an ordinary message; the
last step ends exactly as `/broadcast <segment> <text>` does (the same preview and buttons).

`/cancel` leaves composing (and otherwise drops a pending redemption, as it always did). Any
command while composing runs as usual; only a message that is not a command continues it.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.commands.member import cancel as cancel_confirmation
from bot.replies import Button, LanguageName, Line, Reply
from bot.requests import FREE_TEXT
from bot.router import Command, Context
from core.broadcast_steps import EXPIRES_AFTER, SEGMENT, Composing, Steps
from core.broadcasts import DEFAULT_HOLDOUT
from core.model import Member, Role

HOLDOUT_PREFIX = "holdout:"
# The inactive segment offered as a button (others can be typed: inactive:60).
INACTIVE_DAYS = 30
BUTTON_PLATFORMS = ("telegram", "slack")
# (segment, holdout, text) -> the one-line path's reply: the preview with its buttons.
Finish = Callable[[Context, str, int, str], Reply]


class Guide:
    """The guided flow's steps as chat replies."""

    def __init__(self, steps: Steps, finish: Finish) -> None:
        self._steps = steps
        self._finish = finish

    def commands(self) -> list[Command]:
        """/cancel, and the handler of messages that are not commands."""
        return [
            Command("cancel", self.cancel, needs_member=False, hidden=True),
            Command(FREE_TEXT, self.text, needs_member=False, hidden=True),
        ]

    def begin(self, ctx: Context) -> Reply:
        """`/broadcast` alone: ask who should get it."""
        author = ctx.require_member()
        self._steps.begin(author.id, ctx.loyalty.clock.now())
        return Reply(
            [Line("broadcast.steps.segment", {"percent": DEFAULT_HOLDOUT})],
            buttons=self._segment_buttons(ctx),
        )

    def choose(self, ctx: Context, words: tuple[str, ...]) -> Reply:
        """A segment, tapped (`/broadcast to gold`) or typed: ask for the text."""
        author = ctx.require_member()
        state = self._steps.current(author.id)
        now = ctx.loyalty.clock.now()
        if state is None or state.expired(now):  # a button of a lapsed session: start over
            state = self._steps.begin(author.id, now)
        if not words or len(words) > 2:
            return Reply.say("broadcast.steps.segment_how")
        holdout = DEFAULT_HOLDOUT
        if len(words) == 2:
            value = words[1].lower().removeprefix(HOLDOUT_PREFIX).rstrip("%")
            if not words[1].lower().startswith(HOLDOUT_PREFIX) or not value.isdigit():
                return Reply.say("broadcast.steps.segment_how")
            holdout = int(value)
        chosen = self._steps.choose(state, words[0], holdout, now)
        return Reply.say(
            "broadcast.steps.text", segment=chosen.segment, percent=chosen.holdout_percent
        )

    def text(self, ctx: Context) -> Reply:
        """A message that is not a command: the next step for an author composing; otherwise
        the usual hint towards the commands."""
        state = self._composing(ctx.member)
        if state is None:
            return Reply.say("free_text")
        if state.expired(ctx.loyalty.clock.now()):
            self._steps.leave(state.author_id)
            minutes = int(EXPIRES_AFTER.total_seconds() // 60)
            return Reply.say("broadcast.steps.expired", minutes=minutes)
        if state.step == SEGMENT:
            return self.choose(ctx, tuple(ctx.request.text.split()))
        assert state.segment is not None  # the text step comes after the segment
        return self._finish(ctx, state.segment, state.holdout_percent, ctx.request.text)

    def cancel(self, ctx: Context) -> Reply:
        """Leave composing; without a session, drop a pending confirmation as before."""
        member = ctx.member
        if self._composing(member) is not None and member is not None:
            self._steps.leave(member.id)
            return Reply.say("broadcast.steps.cancelled")
        return cancel_confirmation(ctx)

    def leave(self, author_id: int) -> None:
        """The one-line form finished a draft: any session of the author ends with it."""
        self._steps.leave(author_id)

    def _composing(self, member: Member | None) -> Composing | None:
        # Staff only: someone who lost the role mid-way is not composing any more.
        if member is None or member.role < Role.STAFF:
            return None
        return self._steps.current(member.id)

    def _segment_buttons(self, ctx: Context) -> list[list[Button]]:
        def button(key: str, segment: str, **params: object) -> Button:
            return Button(Line(key, params), command=f"/broadcast to {segment}")

        tiers = [
            button("broadcast.steps.tier", tier.id, tier=tier.name)
            for tier in ctx.loyalty.program.tiers
        ]
        return [
            [button("broadcast.steps.all", "all")],
            tiers,
            [button("broadcast.steps.inactive", f"inactive:{INACTIVE_DAYS}", days=INACTIVE_DAYS)],
            [
                button("broadcast.steps.language", f"lang:{code}", language=LanguageName(code))
                for code in ctx.languages
            ],
            [
                button("broadcast.steps.platform", f"platform:{name}", platform=name.capitalize())
                for name in BUTTON_PLATFORMS
            ],
        ]
