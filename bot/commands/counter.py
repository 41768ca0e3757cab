"""At the counter: a member's vouchers (each with a QR code), staff using a voucher once, and
staff linking the shop's customer id to a member."""

from __future__ import annotations

from bot.cards import qr_png
from bot.commands.args import arg_count
from bot.replies import Button, Line, Reply, Timestamp
from bot.router import Command, Context
from core.model import Role
from core.vouchers import VoucherUse

# Telegram shows one image per message: the list offers a QR button per voucher instead.
QR_BUTTONS = 6


def vouchers(ctx: Context) -> Reply:
    """/vouchers: the member's unused vouchers with their expiry, a QR button for each."""
    arg_count(ctx.args, "vouchers", 0, 0)
    found = ctx.loyalty.vouchers(ctx.require_member().id)
    if not found:
        return Reply.say("vouchers.none")
    lines = [Line("vouchers.title", {"count": len(found)})]
    lines += [
        Line(
            "vouchers.row", {"reward": v.reward_name, "voucher": v.voucher, "until": v.valid_until}
        )
        for v in found
    ]
    lines.append(Line("vouchers.hint"))
    buttons = [
        [Button(Line("button.voucher_qr", {"voucher": v.voucher}), f"/voucher {v.voucher}")]
        for v in found[:QR_BUTTONS]
    ]
    return Reply(lines, buttons=buttons)


def voucher(ctx: Context) -> Reply:
    """/voucher <code>: one of the member's vouchers as a QR code of its code, for the till."""
    arg_count(ctx.args, "voucher", 1, 1)
    found = ctx.loyalty.voucher(ctx.require_member().id, ctx.args[0])
    line = Line(
        "voucher.show",
        {"reward": found.reward_name, "voucher": found.voucher, "until": found.valid_until},
    )
    return Reply([line], image_png=qr_png(found.voucher))


def use(ctx: Context) -> Reply:
    """/use <voucher> [store]: staff mark a voucher used; a second use or an expired one is
    refused, saying when and where it was used."""
    arg_count(ctx.args, "use", 1, 2)
    store = ctx.args[1] if len(ctx.args) == 2 else None
    result = ctx.loyalty.use_voucher(ctx.args[0], ctx.require_member().id, store)
    return Reply(_use_lines(result))


def _use_lines(result: VoucherUse) -> list[Line]:
    params: dict[str, object] = {
        "reward": result.view.reward_name,
        "voucher": result.view.voucher,
        "name": result.member.display_name,
        "code": result.member.code,
        "until": result.view.valid_until,
    }
    if result.status == "used":
        return [Line("use.done", params)]
    if result.status == "already_used" and result.used_at is not None:
        params |= {"at": Timestamp(result.used_at), "staff": result.used_by or "staff"}
        if result.used_store:
            return [Line("use.already_store", params | {"store": result.used_store})]
        return [Line("use.already", params)]
    lines = [Line("use.expired", params)]
    if result.returned_points:
        lines.append(Line("use.returned", {"points": result.returned_points, **params}))
    return lines


def customer(ctx: Context) -> Reply:
    """/customer <member> <customer id>: link the shop's own customer id to a member, so the
    till and imports can name them as customer:<id>."""
    arg_count(ctx.args, "customer", 2, 2)
    customer_id = ctx.args[1].removeprefix("customer:")
    result = ctx.loyalty.link_customer(ctx.args[0], customer_id, ctx.request.identity.platform)
    key = "customer.done" if result.created else "customer.already"
    member = result.member
    return Reply.say(key, customer=customer_id, name=member.display_name, code=member.code)


COMMANDS = [
    Command("vouchers", vouchers),
    Command("voucher", voucher, hidden=True),
    Command("use", use, role=Role.STAFF),
    Command("customer", customer, role=Role.STAFF),
]
