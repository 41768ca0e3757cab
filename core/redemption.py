"""Redeeming rewards: a quote before confirming, then one spend per confirmation nonce."""

from __future__ import annotations

from datetime import datetime
from difflib import get_close_matches

from core import errors
from core.codes import new_voucher_code
from core.commands import RedeemReward
from core.events import PointsRedeemed
from core.ledger import plan_fefo_draw, replayed, request_hash
from core.model import JournalKind, NewJournal, Posting, Purpose, Redemption
from core.ports import UnitOfWork
from core.program import Program, Reward
from core.results import RedeemQuote, RedeemResult
from core.sweeps import release_member_due


def find_reward(program: Program, text: str) -> Reward:
    """The reward a member means by an id or (part of) a name; RewardNotFound with a hint."""
    wanted = text.strip().lower()
    for reward in program.rewards:
        if wanted in (reward.id, reward.name.lower()):
            return reward
    partial = [r for r in program.rewards if wanted and wanted in r.name.lower()]
    if len(partial) == 1:
        return partial[0]
    closest = _closest(program, wanted)
    raise errors.RewardNotFound(
        text=text,
        suggestion=closest.name if closest else None,
        suggestion_price=closest.price if closest else None,
    )


def _closest(program: Program, wanted: str) -> Reward | None:
    by_name = {r.name.lower(): r for r in program.rewards} | {r.id: r for r in program.rewards}
    match = get_close_matches(wanted, list(by_name), n=1, cutoff=0.6)
    return by_name[match[0]] if match else None


def quote(uow: UnitOfWork, program: Program, member_id: int, reward: Reward) -> RedeemQuote:
    """What redeeming `reward` would cost and leave; nothing is written."""
    balances = uow.ledger.balances(uow.members.accounts(member_id))
    return RedeemQuote(
        reward_id=reward.id,
        reward_name=reward.name,
        price=reward.price,
        available=balances.available,
    )


def redeem(uow: UnitOfWork, program: Program, command: RedeemReward, now: datetime) -> RedeemResult:
    """Spend points on a reward; the same nonce always gives the same voucher."""
    key = f"redeem:{command.nonce}"
    fingerprint = request_hash(m=command.member_id, r=command.reward_id)
    if (journal := replayed(uow, key, fingerprint)) is not None:
        return _replay(uow, program, journal.id)
    # Only after the replay: a second tap on a button that has since expired still shows
    # the voucher its first tap got.
    if command.expires_at is not None and now > command.expires_at:
        raise errors.ConfirmationExpired()
    reward = program.reward(command.reward_id)
    if reward is None:
        raise errors.RewardNotFound(text=command.reward_id, suggestion=None)
    release_member_due(uow, command.member_id, now)
    meta: dict[str, object] = {"ref": reward.name, "reward": reward.id}
    # The journal goes first: a concurrent double tap then waits on its unique key and
    # replays, instead of racing for the balance and reporting "not enough points".
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.REDEEM,
            key=key,
            request_hash=fingerprint,
            effective_at=now,
            member_id=command.member_id,
            meta=meta,
        )
    )
    accounts = uow.members.accounts(command.member_id)
    balance_after = uow.ledger.debit(accounts.available, reward.price)
    if balance_after is None:
        available = uow.ledger.balances(accounts).available
        raise errors.InsufficientPoints(
            needed=reward.price, available=available, short=reward.price - available
        )
    _check_limits(uow, reward, command.member_id)
    uow.ledger.draw(journal_id, plan_fefo_draw(uow, command.member_id, reward.price), "redeem")
    uow.ledger.add_postings(
        journal_id,
        [
            Posting(accounts.available, -reward.price, balance_after),
            Posting(uow.ledger.system_account(Purpose.REDEEMED), reward.price),
        ],
    )
    voucher = new_voucher_code(reward.id)
    valid_until = program.end_of_day(now, reward.voucher_valid_days)
    uow.rewards.add_redemption(
        Redemption(
            id=0,
            member_id=command.member_id,
            reward_id=reward.id,
            points=reward.price,
            voucher=voucher,
            journal_id=journal_id,
            created_at=now,
            valid_until=valid_until,
        )
    )
    uow.domain_events.record(
        PointsRedeemed(
            occurred_at=now,
            member_id=command.member_id,
            journal_id=journal_id,
            reward_id=reward.id,
            points=reward.price,
            voucher=voucher,
            valid_until=valid_until,
        )
    )
    return RedeemResult(
        reward_id=reward.id,
        reward_name=reward.name,
        points=reward.price,
        voucher=voucher,
        valid_until=valid_until,
        balance_after=balance_after,
    )


def _check_limits(uow: UnitOfWork, reward: Reward, member_id: int) -> None:
    # Runs after the debit, which holds the member's row lock: limits cannot be raced.
    limit = reward.per_member_limit
    if limit is not None and uow.rewards.count_redemptions(member_id, reward.id) >= limit:
        raise errors.LimitReached(reward=reward.name, limit=limit)
    if reward.stock is not None and not uow.rewards.take_stock(reward.id, reward.stock):
        raise errors.OutOfStock(reward=reward.name)


def _replay(uow: UnitOfWork, program: Program, journal_id: int) -> RedeemResult:
    redemption = uow.rewards.redemption_for_journal(journal_id)
    if redemption is None:
        raise errors.RewardNotFound(text=str(journal_id), suggestion=None)
    reward = program.reward(redemption.reward_id)
    name = reward.name if reward else redemption.reward_id
    accounts = uow.members.accounts(redemption.member_id)
    available = uow.ledger.balances(accounts).available
    return RedeemResult(
        reward_id=redemption.reward_id,
        reward_name=name,
        points=redemption.points,
        voucher=redemption.voucher,
        valid_until=redemption.valid_until,
        balance_after=available,
        duplicate=True,
    )
