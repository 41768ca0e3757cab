"""Read models: where a member stands (balance summary) and what happened (history)."""

from __future__ import annotations

from datetime import datetime

from core.challenge_board import earned_badges
from core.earning import qualifying_value
from core.members import get_member
from core.model import Member
from core.ports import UnitOfWork
from core.program import Program
from core.results import BalanceSummary, HistoryPage, RewardOption, TierProgress
from core.tiers import keep_requirement, stored_tier

HISTORY_PAGE_SIZE = 8


def balance_summary(
    uow: UnitOfWork, program: Program, member_id: int, now: datetime, member: Member | None = None
) -> BalanceSummary:
    """Balance, pending points, tier progress, the nearest reward and the next expiry.
    `member`: the member as the caller read them a moment ago (not read again)."""
    member = member if member is not None and member.id == member_id else get_member(uow, member_id)
    balances = uow.ledger.member_balances(member_id)
    options = reward_options(uow, program, balances.available)
    affordable = [o for o in options if o.affordable]
    locked = [o for o in options if not o.affordable and o.in_stock]
    next_release, next_expiry = uow.ledger.next_dates(member_id)
    return BalanceSummary(
        member=member,
        available=balances.available,
        pending=balances.pending,
        debt=-balances.debt,
        next_release=next_release,
        next_expiry=next_expiry,
        tier=tier_progress(uow, program, member_id, now),
        nearest_reward=min(locked, key=lambda o: o.price) if locked else None,
        affordable_rewards=len(affordable),
        saved_minor=program.points_value_minor(uow.rewards.redeemed_points(member_id)),
        currency=program.program.currency,
        badges=tuple(earned_badges(uow, program, member_id)) if program.challenges else (),
    )


def tier_progress(uow: UnitOfWork, program: Program, member_id: int, now: datetime) -> TierProgress:
    """The member's tier (as stored), what keeps it, and how far the next one is."""
    qualifying = qualifying_value(uow, program, member_id, now)
    status = uow.tiers.get(member_id)
    index = stored_tier(program, status)
    if index is None:
        index = program.tier_for(qualifying)
    tier = program.tiers[index]
    upper = program.tiers[index + 1] if index + 1 < len(program.tiers) else None
    keep = keep_requirement(uow, program, member_id, status)
    return TierProgress(
        name=tier.name,
        multiplier=tier.multiplier,
        measure=program.tier_qualification.measure,
        qualifying=qualifying,
        next_name=upper.name if upper else None,
        next_threshold=upper.threshold if upper else None,
        perks=tuple(tier.perks),
        keep_until=keep.until if keep else None,
        keep_counted=keep.counted if keep else None,
        keep_threshold=keep.threshold if keep else None,
    )


def reward_options(uow: UnitOfWork, program: Program, available: int) -> list[RewardOption]:
    """The catalog as this member sees it: price, affordable, in stock; cheapest first."""
    stocked = [r.id for r in program.rewards if r.stock is not None]
    taken = uow.rewards.stock_taken(stocked) if stocked else {}
    options = [
        RewardOption(
            reward_id=r.id,
            name=r.name,
            price=r.price,
            affordable=r.price <= available,
            in_stock=r.stock is None or taken.get(r.id, 0) < r.stock,
        )
        for r in program.rewards
    ]
    return sorted(options, key=lambda o: (o.price, o.name))


def catalog_for(
    uow: UnitOfWork, program: Program, member_id: int
) -> tuple[int, list[RewardOption]]:
    """A member's available points and the catalog as they see it."""
    available = uow.ledger.balances(uow.members.accounts(member_id)).available
    return available, reward_options(uow, program, available)


def history(uow: UnitOfWork, member_id: int, page: int) -> HistoryPage:
    """One page (1-based) of the member's point movements, newest first."""
    page = max(page, 1)
    rows = uow.ledger.history(member_id, (page - 1) * HISTORY_PAGE_SIZE, HISTORY_PAGE_SIZE + 1)
    return HistoryPage(
        rows=rows[:HISTORY_PAGE_SIZE], page=page, has_more=len(rows) > HISTORY_PAGE_SIZE
    )
