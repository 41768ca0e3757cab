"""Member commands: joining, balance, history, rewards and redeeming, card, help."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from bot.badge_image import card_png
from bot.cards import qr_png
from bot.challenge_lines import badges_value
from bot.commands.args import arg_count, whole_number
from bot.commands.settings import settings
from bot.replies import Button, Line, Money, Progress, Reply, Signed
from bot.router import Command, Context, UsageError
from core.commands import RedeemReward
from core.errors import ConfirmationExpired, RewardNotFound
from core.model import HistoryRow, JournalKind, Purpose
from core.results import BalanceSummary, TierProgress
from core.text import shown

REWARD_BUTTONS = 4
# Balance lines that speak to the member; staff /lookup reads them about the member instead.
_SECOND_PERSON = frozenset(
    {"tier_progress_spend", "tier_progress_points", "tier_top", "debt", "saved",
     "tier_keep_spend", "tier_keep_points", "tier_kept_spend", "tier_kept_points",
     "next_spend", "next_points"}
)  # fmt: skip
# Movements on the pending account are marked as such in /history.
_PENDING_KINDS = frozenset({JournalKind.EARN, JournalKind.REFUND})


def start(ctx: Context) -> Reply:
    """Join the program (with an optional referral or campaign payload) or say hello again."""
    arg_count(ctx.args, "start", 0, 1)
    identity = ctx.request.identity
    # Someone who asked to be forgotten joins again as a newcomer without the welcome bonus
    # (the tombstone `/forget` left is all that is known about them).
    returning = (
        ctx.member is None
        and ctx.privacy is not None
        and (ctx.privacy.forgotten(identity.platform, identity.external_id))
    )
    result = ctx.loyalty.enroll(identity, ctx.args[0] if ctx.args else None, returning)
    program = ctx.loyalty.program
    member = result.member
    key = "start.welcome" if result.created else "start.again"
    lines = [Line(key, {"name": member.display_name, "program": program.program.name})]
    unit = Money(
        10**program.program.currency_decimals,
        program.program.currency,
        program.program.currency_decimals,
    )
    lines.append(Line("start.earn_rate", {"points": program.earning.points_per_unit, "unit": unit}))
    lines.append(Line("start.code", {"code": member.code}))
    if result.bonus:
        lines.append(Line("start.bonus", {"points": result.bonus}))
    if result.created and result.returning:
        lines.append(Line("start.returning"))
    if result.referred_by is not None:
        lines.append(Line("start.referred", {"name": result.referred_by.display_name}))
    return Reply(lines, buttons=[_menu_buttons()])


def balance(ctx: Context) -> Reply:
    """Where the member stands."""
    arg_count(ctx.args, "balance", 0, 0)
    member = ctx.require_member()
    summary = ctx.loyalty.balance(member.id, member)  # read as the command came in
    return Reply(
        balance_lines(summary, ctx.loyalty.program.program.currency_decimals),
        buttons=[_menu_buttons()],
    )


def balance_lines(summary: BalanceSummary, decimals: int, third_person: bool = False) -> list[Line]:
    """The lines of a balance summary, shared by /balance and, about the member in the third
    person, staff /lookup."""

    def key(name: str) -> str:
        return f"lookup.{name}" if third_person and name in _SECOND_PERSON else f"balance.{name}"

    lines = [Line("balance.points", {"points": summary.available})]
    if summary.next_release is not None:
        lines.append(
            Line("balance.pending", {"points": summary.pending, "date": summary.next_release[0]})
        )
    tier = summary.tier
    lines += tier_lines(tier, summary.currency, decimals, key)
    if tier.perks:
        lines.append(Line("balance.perks", {"tier": tier.name, "perks": list(tier.perks)}))
    if summary.nearest_reward is not None:
        short = summary.nearest_reward.price - summary.available
        lines.append(
            Line("balance.nearest", {"reward": summary.nearest_reward.name, "points": short})
        )
    if summary.next_expiry is not None:
        points, date = summary.next_expiry[1], summary.next_expiry[0]
        lines.append(Line("balance.expiry", {"points": points, "date": date}))
    if summary.debt:
        lines.append(Line(key("debt"), {"points": summary.debt}))
    if summary.badges:
        lines.append(Line("badges.line", {"badges": badges_value(list(summary.badges))}))
    if summary.saved_minor:
        lines.append(
            Line(key("saved"), {"amount": Money(summary.saved_minor, summary.currency, decimals)})
        )
    return lines


def tier_lines(
    tier: TierProgress, currency: str, decimals: int, key: Callable[[str], str]
) -> list[Line]:
    """The tier coach: what keeps a tier above the base one and by when, and what reaches the
    next ("Gold · keep it: spend $42.00 more by 31 Mar"); `key` names a line's message (the
    member's own, or about them for staff)."""

    def amount(value: Decimal) -> object:
        if tier.measure == "spend":
            return Money(int(value.scaleb(decimals)), currency, decimals)
        return int(value)

    lines = []
    needed = tier.keep_needed
    if needed is not None and tier.keep_counted is not None and tier.keep_threshold is not None:
        kept = "tier_keep" if needed else "tier_kept"
        lines.append(
            Line(
                key(f"{kept}_{tier.measure}"),
                {
                    "tier": tier.name,
                    "needed": amount(needed),
                    "date": tier.keep_until,
                    "counted": amount(tier.keep_counted),
                    "threshold": amount(tier.keep_threshold),
                },
            )
        )
    if tier.next_name is None or tier.to_next is None:
        return lines or [Line(key("tier_top"), {"tier": tier.name})]
    progress = "next" if lines else "tier_progress"
    params = {
        "tier": tier.name,
        "percent": tier.percent,
        "bar": Progress(tier.percent),
        "next": tier.next_name,
        "to_next": amount(tier.to_next),
    }
    lines.append(Line(key(f"{progress}_{tier.measure}"), params))
    return lines


def history(ctx: Context) -> Reply:
    """A page of point movements, newest first."""
    arg_count(ctx.args, "history", 0, 1)
    page_number = whole_number(ctx.args[0], "history") if ctx.args else 1
    page = ctx.loyalty.history(ctx.require_member().id, page_number)
    if not page.rows:
        return Reply.say("history.empty" if page_number == 1 else "history.no_more")
    lines = [Line("history.title", {"page": page.page})]
    for row in page.rows:
        if row.kind is JournalKind.RELEASE and row.purpose is Purpose.PENDING:
            continue  # a release shows once, as points becoming available
        lines.append(_history_line(row))
    buttons = []
    if page.page > 1:
        buttons.append(Button(Line("button.newer"), f"/history {page.page - 1}"))
    if page.has_more:
        buttons.append(Button(Line("button.older"), f"/history {page.page + 1}"))
    return Reply(lines, buttons=[buttons] if buttons else [])


def _history_line(row: HistoryRow) -> Line:
    key = f"history.{row.kind.value}"
    if row.kind in _PENDING_KINDS and row.purpose is Purpose.PENDING:
        key += "_pending"
    params: dict[str, object] = {
        "date": row.at,
        "points": Signed(row.amount),
        "ref": row.reference or "",
    }
    if row.kind is JournalKind.REDEEM:
        params["voucher"] = row.voucher or ""
    return Line(key, params)


def rewards(ctx: Context) -> Reply:
    """The catalog with what the member can afford now."""
    arg_count(ctx.args, "rewards", 0, 0)
    available, options = ctx.loyalty.rewards(ctx.require_member().id)
    if not options:
        return Reply.say("rewards.none")
    lines = [Line("rewards.title", {"points": available})]
    for option in options:
        if not option.in_stock:
            lines.append(Line("rewards.sold_out", {"reward": option.name, "price": option.price}))
        elif option.affordable:
            lines.append(Line("rewards.can", {"reward": option.name, "price": option.price}))
        else:
            lines.append(
                Line(
                    "rewards.cannot",
                    {
                        "reward": option.name,
                        "price": option.price,
                        "short": option.price - available,
                    },
                )
            )
    buttons = [
        [Button(Line("button.redeem", {"reward": o.name}), f"/redeem {o.reward_id}")]
        for o in options
        if o.affordable and o.in_stock
    ]
    return Reply(lines, buttons=buttons[:REWARD_BUTTONS])


def redeem(ctx: Context) -> Reply:
    """Ask to confirm a redemption; the confirm button carries a fresh nonce."""
    if not ctx.args:
        raise UsageError("redeem")
    member = ctx.require_member()
    wanted = " ".join(ctx.args)
    try:
        quote = ctx.loyalty.quote(member.id, wanted)
    except RewardNotFound as error:
        if error.params.get("suggestion") is None:
            return Reply.say("redeem.unknown", text=shown(wanted))
        return Reply.say(
            "redeem.unknown_hint",
            text=shown(wanted),
            suggestion=error.params["suggestion"],
            price=error.params["suggestion_price"],
        )
    if not quote.affordable:
        return Reply.say(
            "redeem.short",
            reward=quote.reward_name,
            price=quote.price,
            points=quote.available,
            short=quote.price - quote.available,
        )
    nonce = ctx.nonces.issue(member.id, quote.reward_id) if ctx.nonces else "-"
    return Reply(
        [
            Line(
                "redeem.confirm",
                {"reward": quote.reward_name, "price": quote.price, "left": quote.balance_after},
            )
        ],
        buttons=[
            [
                Button(Line("button.confirm"), f"/confirm {quote.reward_id} {nonce}"),
                Button(Line("button.cancel"), "/cancel"),
            ]
        ],
    )


def confirm(ctx: Context) -> Reply:
    """Spend the points: only with a nonce the bot issued this member for this reward, and
    the same nonce never spends twice."""
    arg_count(ctx.args, "confirm", 2, 2)
    reward_id, nonce = ctx.args
    member = ctx.require_member()
    expires = ctx.nonces.expiry(member.id, reward_id, nonce) if ctx.nonces else None
    if expires is None:
        raise ConfirmationExpired()
    command = RedeemReward(
        member_id=member.id, reward_id=reward_id, nonce=nonce, expires_at=expires
    )
    result = ctx.loyalty.redeem(command)
    return Reply(
        [
            Line(
                "redeem.done",
                {
                    "reward": result.reward_name,
                    "voucher": result.voucher,
                    "until": result.valid_until,
                    "left": result.balance_after,
                },
            ),
            *([Line("redeem.already")] if result.duplicate else []),
        ],
    )


def cancel(ctx: Context) -> Reply:
    """Drop a pending confirmation."""
    return Reply.say("redeem.cancelled")


def card(ctx: Context) -> Reply:
    """The member code to show at the till, with a QR code of a short-lived card token."""
    arg_count(ctx.args, "card", 0, 0)
    member = ctx.require_member()
    lines = [Line("card.code", {"name": member.display_name, "code": member.code})]
    badges = ctx.games.badges(member.id) if ctx.gamification is not None else []
    if badges:
        lines.append(Line("badges.line", {"badges": badges_value(badges)}))
    image = None
    if ctx.cards is not None:  # the QR code, with the member's badges under it
        image = card_png(qr_png(ctx.cards.issue(member.code)), badges)
    return Reply(lines, image_png=image)


def help_(ctx: Context) -> Reply:
    """The commands this person may use."""
    lines = [Line("help.title")]
    lines += [Line(f"help.{name}") for name in ctx.menu]
    return Reply(lines)


def _menu_buttons() -> list[Button]:
    return [
        Button(Line("button.balance"), "/balance"),
        Button(Line("button.rewards"), "/rewards"),
        Button(Line("button.history"), "/history"),
    ]


COMMANDS = [
    Command("start", start, needs_member=False),
    Command("balance", balance, reads_only=True),
    Command("history", history, reads_only=True),
    Command("rewards", rewards, reads_only=True),
    Command("redeem", redeem),
    Command("confirm", confirm, hidden=True),
    Command("cancel", cancel, needs_member=False, hidden=True),
    Command("card", card),
    Command("settings", settings),
    Command("help", help_, needs_member=False),
]
