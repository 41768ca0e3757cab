"""/broadcast: staff compose a message for a segment, see who gets it and how it looks, then
send it now, schedule it in their own time zone, or cancel it.

    /broadcast <segment> [holdout:<percent>] <text>
    /broadcast            (step by step: `bot.commands.broadcast_steps`)
    /broadcast send <id> | schedule <id> <when> | cancel <id> | status <id>
"""

from __future__ import annotations

from bot.commands.broadcast_steps import Guide
from bot.replies import Button, Line, LocalTime, Reply
from bot.requests import rest_of
from bot.router import Command, Context, UsageError
from core.broadcast_steps import Steps
from core.broadcasts import DEFAULT_HOLDOUT, Body, Broadcasts, Draft, parse_when
from core.model import Role
from core.zones import zone_of

ACTIONS = frozenset({"send", "schedule", "cancel", "status"})
CHOOSE = "to"  # `/broadcast to <segment>`: a segment button of the step-by-step flow
HOLDOUT_PREFIX = "holdout:"


def commands(broadcasts: Broadcasts, steps: Steps | None = None) -> list[Command]:
    """The /broadcast command, bound to the broadcast service; with `steps`, also composing
    step by step (and its /cancel and the handler of messages that are not commands)."""

    def finish(ctx: Context, segment: str, holdout: int, body: str) -> Reply:
        return draft_reply(ctx, broadcasts, guide, segment=segment, holdout=holdout, body=body)

    guide = Guide(steps, finish) if steps is not None else None

    def handle(ctx: Context) -> Reply:
        args = ctx.args
        if not args:
            if guide is None:
                raise UsageError("broadcast")
            return guide.begin(ctx)
        action = args[0].lower()
        if action in ACTIONS:
            return _act(ctx, broadcasts, action, args[1:])
        if action == CHOOSE and guide is not None:
            return guide.choose(ctx, args[1:])
        return _compose(ctx, broadcasts, guide, args)

    extra = guide.commands() if guide is not None else []
    return [Command("broadcast", handle, role=Role.STAFF), *extra]


def _compose(
    ctx: Context, broadcasts: Broadcasts, guide: Guide | None, args: tuple[str, ...]
) -> Reply:
    segment, rest = args[0], list(args[1:])
    holdout = DEFAULT_HOLDOUT
    if rest and rest[0].lower().startswith(HOLDOUT_PREFIX):
        value = rest.pop(0)[len(HOLDOUT_PREFIX) :].rstrip("%")
        if not value.isdigit():
            return Reply.say("error.broadcast_bad_holdout", percent=value)
        holdout = int(value)
    # The text as typed, line breaks included (the words were split on every space); a request
    # built without its line (none of today's adapters) falls back to the words.
    consumed = 1 + len(args) - len(rest)  # the command word, the segment, the holdout
    body = rest_of(ctx.request.text, consumed) if ctx.request.text else " ".join(rest)
    return draft_reply(ctx, broadcasts, guide, segment=segment, holdout=holdout, body=body)


def draft_reply(
    ctx: Context, broadcasts: Broadcasts, guide: Guide | None, *, segment: str, holdout: int,
    body: str,
) -> Reply:  # fmt: skip
    """Record the draft and answer with its preview: the end of both the one-line form and the
    step-by-step one (which it finishes: the author is not composing any more)."""
    author = ctx.require_member()
    draft = broadcasts.compose(
        author_id=author.id,
        segment_text=segment,
        body=body,
        now=ctx.loyalty.clock.now(),
        holdout_percent=holdout,
    )
    if guide is not None:
        guide.leave(author.id)
    return preview(draft)


def preview(draft: Draft) -> Reply:
    """The audience, the holdout, and the message exactly as members will get it."""
    info = draft.broadcast
    lines = [
        Line(
            "broadcast.preview",
            {
                "id": info.id,
                "segment": info.segment,
                "audience": draft.audience,
                "holdout": draft.holdout,
                "percent": info.holdout_percent,
                "recipients": draft.audience - draft.holdout,
            },
        ),
        Line(draft.message.key, {"text": Body(info.body)}),
    ]
    buttons = [
        [Button(Line(b.label, b.label_params), command=b.command or "")]
        for row in draft.message.buttons
        for b in row
    ]
    buttons.append(
        [
            Button(Line("broadcast.button.send"), command=f"/broadcast send {info.id}"),
            Button(Line("broadcast.button.schedule"), command=f"/broadcast schedule {info.id}"),
            Button(Line("broadcast.button.cancel"), command=f"/broadcast cancel {info.id}"),
        ]
    )
    return Reply(lines, buttons=buttons)


def _act(ctx: Context, broadcasts: Broadcasts, action: str, args: tuple[str, ...]) -> Reply:
    if not args or not args[0].isdigit():
        raise UsageError("broadcast")
    broadcast_id, now = int(args[0]), ctx.loyalty.clock.now()
    if action == "send":
        audience, holdout = broadcasts.send_now(broadcast_id, now)
        return Reply.say(
            "broadcast.started", id=broadcast_id, recipients=audience - holdout, holdout=holdout
        )
    if action == "schedule":
        if len(args) < 2:
            return Reply.say("broadcast.schedule_how", id=broadcast_id)
        member = ctx.require_member()
        state = ctx.loyalty.settings(member.id)
        zone = zone_of(state.zone, ctx.loyalty.program.zone)
        at = parse_when(" ".join(args[1:]), zone, now)
        info = broadcasts.schedule(broadcast_id, at, now)
        local = (info.scheduled_at or at).astimezone(zone)
        return Reply.say(
            "broadcast.scheduled",
            id=broadcast_id,
            day=local.date(),
            time=LocalTime(local),
            zone=state.zone,
        )
    if action == "cancel":
        broadcasts.cancel(broadcast_id, now)
        return Reply.say("broadcast.cancelled", id=broadcast_id)
    report = broadcasts.report(broadcast_id)
    return Reply.say(
        "broadcast.status",
        id=broadcast_id,
        audience=report.audience,
        sent=report.sent,
        skipped=report.skipped,
        blocked=report.blocked,
        failed=report.failed,
        waiting=report.waiting,
        holdout=report.holdout,
    )
