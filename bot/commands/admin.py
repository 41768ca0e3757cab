"""Admin commands: give and take roles."""

from __future__ import annotations

from bot.commands.args import arg_count
from bot.replies import Reply
from bot.router import Command, Context, UsageError
from core.model import Role


def _role(text: str, command: str) -> Role:
    try:
        role = Role.parse(text)
    except ValueError:
        raise UsageError(command) from None
    if role is Role.MEMBER:
        raise UsageError(command)
    return role


def grant(ctx: Context) -> Reply:
    """/grant <user> <staff|admin>."""
    arg_count(ctx.args, "grant", 2, 2)
    role = _role(ctx.args[1], "grant")
    actor = ctx.member.id if ctx.member else None
    member = ctx.loyalty.set_role(ctx.args[0], role, ctx.request.identity.platform, actor)
    return Reply.say("grant.done", name=member.display_name, role=role.name.lower())


def revoke(ctx: Context) -> Reply:
    """/revoke <user> <staff|admin>: back to a plain member (or staff, from admin)."""
    arg_count(ctx.args, "revoke", 2, 2)
    role = _role(ctx.args[1], "revoke")
    target = ctx.find_member(ctx.args[0])
    if target.role < role:
        return Reply.say("revoke.not_held", name=target.display_name, role=role.name.lower())
    actor = ctx.member.id if ctx.member else None
    member = ctx.loyalty.set_role(ctx.args[0], Role(role - 1), ctx.request.identity.platform, actor)
    return Reply.say("revoke.done", name=member.display_name, role=member.role.name.lower())


COMMANDS = [
    Command("grant", grant, role=Role.ADMIN),
    Command("revoke", revoke, role=Role.ADMIN),
]
