"""/link: one wallet per person across chat platforms."""

from __future__ import annotations

from bot.commands.args import arg_count
from bot.replies import Line, Reply, Timestamp
from bot.router import Command, Context


def link(ctx: Context) -> Reply:
    """/link gives a one-time code; /link <code> from another chat joins it to that member."""
    arg_count(ctx.args, "link", 0, 1)
    if not ctx.args:
        code = ctx.loyalty.link_code(ctx.require_member().id)
        return Reply.say("link.code", code=code.code, until=Timestamp(code.expires_at))
    result = ctx.loyalty.link(ctx.request.identity, ctx.args[0])
    member = result.member
    params: dict[str, object] = {"name": member.display_name, "code": member.code}
    if result.outcome == "already":
        return Reply.say("link.already", **params)
    if result.outcome == "joined":
        return Reply.say("link.joined", **params)
    old = result.merged_from.code if result.merged_from else ""
    lines = [Line("link.merged", params | {"old": old, "points": result.moved_points})]
    if result.moved_pending:
        lines.append(Line("link.merged_pending", {"points": result.moved_pending}))
    return Reply(lines)


COMMANDS = [Command("link", link, needs_member=False)]
