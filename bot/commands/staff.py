"""Staff commands: record purchases and refunds, award points, look members up."""

from __future__ import annotations

from bot.amounts import looks_like_number, parse_money, parse_points
from bot.commands.args import arg_count
from bot.commands.member import balance_lines
from bot.replies import Line, Money, Reply, Timestamp
from bot.router import Command, Context, UsageError
from core.commands import AwardPoints, RecordPurchase, RefundPurchase
from core.model import Role
from core.text import normalize_receipt


def earn(ctx: Context) -> Reply:
    """/earn <member> <amount> [receipt]: points for a purchase, once per receipt."""
    arg_count(ctx.args, "earn", 2, 3)
    program = ctx.loyalty.program
    amount = parse_money(ctx.args[1], program)
    member = ctx.find_member(ctx.args[0])
    # Without a receipt the delivery id stands in, so a re-delivered update earns once.
    receipt = ctx.args[2] if len(ctx.args) == 3 else f"chat-{ctx.request.key}"
    actor = ctx.require_member()
    result = ctx.loyalty.record_purchase(
        RecordPurchase(member_id=member.id, receipt=receipt, amount_minor=amount, actor_id=actor.id)
    )
    if result.duplicate:
        return Reply.say(
            "earn.duplicate",
            receipt=result.receipt,
            at=Timestamp(result.recorded_at),
            name=member.display_name,
            points=result.points,
        )
    params: dict[str, object] = {
        "name": member.display_name,
        "points": result.points,
        "receipt": result.receipt,
        "tier": result.tier,
        "amount": Money(amount, program.program.currency, program.program.currency_decimals),
    }
    lines = [Line("earn.done", params)]
    if result.multiplier != 1:
        lines.append(Line("earn.multiplied", {"tier": result.tier, "times": result.multiplier}))
    if result.pending_until is not None:
        lines.append(Line("earn.pending", {"date": result.pending_until}))
    if result.debt_paid:
        lines.append(Line("earn.debt_paid", {"points": result.debt_paid}))
    return Reply(lines)


def refund(ctx: Context) -> Reply:
    """/refund <receipt> [amount]: take back the points of all or part of a purchase."""
    arg_count(ctx.args, "refund", 1, 2)
    program = ctx.loyalty.program
    amount = parse_money(ctx.args[1], program) if len(ctx.args) == 2 else None
    receipt = normalize_receipt(ctx.args[0])
    actor = ctx.require_member()
    result = ctx.loyalty.refund(
        RefundPurchase(
            receipt=receipt,
            refund_id=f"{receipt}:{ctx.request.key}",
            amount_minor=amount,
            actor_id=actor.id,
        )
    )
    money = Money(result.amount_minor, program.program.currency, program.program.currency_decimals)
    params = {
        "receipt": result.receipt,
        "name": result.member.display_name,
        "points": result.points,
        "amount": money,
    }
    if result.duplicate:  # the same request again: say so, never as if it refunded twice
        return Reply.say("refund.duplicate", **params)
    lines = [Line("refund.done", params)]
    if result.from_pending:
        lines.append(Line("refund.from_pending", {"points": result.from_pending}))
    if result.shortfall:
        lines.append(Line(f"refund.shortfall_{result.policy}", {"points": result.shortfall}))
    return Reply(lines)


def award(ctx: Context) -> Reply:
    """/award <member> <points|action> <reason>: points for an action or goodwill."""
    arg_count(ctx.args, "award", 2)
    member = ctx.find_member(ctx.args[0])
    size, reason = ctx.args[1], " ".join(ctx.args[2:])
    actor = ctx.require_member()
    key = f"award:{ctx.request.key}"
    actions = ctx.loyalty.program.awards.actions
    if size.lower() not in actions and looks_like_number(size):
        points = parse_points(size)
        if not reason:
            raise UsageError("award")
        command = AwardPoints(
            member_id=member.id, key=key, reason=reason, points=points, actor_id=actor.id
        )
    else:
        command = AwardPoints(
            member_id=member.id,
            key=key,
            reason=reason or size,
            action=size.lower(),
            actor_id=actor.id,
        )
    result = ctx.loyalty.award(command)
    outcome = "award.duplicate" if result.duplicate else "award.done"
    return Reply.say(outcome, name=member.display_name, points=result.points, reason=result.reason)


def lookup(ctx: Context) -> Reply:
    """/lookup <member>: who this is and where they stand, told to staff about the member."""
    arg_count(ctx.args, "lookup", 1, 1)
    member = ctx.find_member(ctx.args[0])
    summary = ctx.loyalty.balance(member.id)
    header = Line(
        "lookup.header",
        {
            "name": member.display_name,
            "code": member.code,
            "role": member.role.name.lower(),
            "since": member.created_at,
        },
    )
    decimals = ctx.loyalty.program.program.currency_decimals
    return Reply([header, *balance_lines(summary, decimals, third_person=True)])


COMMANDS = [
    Command("earn", earn, role=Role.STAFF),
    Command("refund", refund, role=Role.STAFF),
    Command("award", award, role=Role.STAFF),
    Command("lookup", lookup, role=Role.STAFF),
]
