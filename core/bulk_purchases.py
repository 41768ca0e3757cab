"""Many imported purchases in one transaction: the journals, postings, lots and purchase rows
that `earning.record_purchase` (and `sweeps.expire_lot`, for points expired on arrival) would
write one by one, computed in memory and written a batch at a time through `uow.bulk`.

One purchase at a time costs a dozen round trips to the database; on PostgreSQL that, not
the work, bounds an import (about 450 purchases a second on the reference machine). Here a
batch costs a handful of statements. Only new, quiet purchases take this path: a batch with a
receipt seen before (a re-run after a crash) or twice returns None, and the caller records it
one purchase at a time, which replays and refuses exactly as the chat and the API do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from core import errors
from core.codes import normalize_code
from core.commands import RecordPurchase
from core.earning import check_amount
from core.earning_rules import EarnedPoints, purchase_points
from core.events import PurchaseRecorded
from core.ledger import expiry_for, release_at, request_hash
from core.model import (
    Balances,
    JournalKind,
    LotDraw,
    LotState,
    Member,
    MemberAccounts,
    NewJournal,
    NewLot,
    Posting,
    Purchase,
    Purpose,
)
from core.ports import UnitOfWork
from core.pos import (
    CLOCK_SKEW,
    CUSTOMER_PREFIX,
    ExternalPurchase,
    ExternalPurchaseResult,
)
from core.program import Program, Tier
from core.purchase_details import details_of, hold_days_at, rule_meta
from core.results import EarnResult
from core.text import normalize_receipt


@dataclass(kw_only=True)
class _Planned:
    """One purchase worked out in memory, before its rows are written."""

    command: RecordPurchase
    member: Member
    at: datetime
    tier: Tier
    earned: EarnedPoints
    hold: int
    expired: bool
    debt_paid: int
    rest: int
    journal: NewJournal

    @property
    def key(self) -> str:
        return self.journal.key


def record_purchases_in_bulk(
    uow: UnitOfWork, program: Program, purchases: Sequence[ExternalPurchase], now: datetime
) -> list[ExternalPurchaseResult] | None:
    """Record new, quiet purchases together; None when one of them needs the one-at-a-time
    path (seen before, repeated in the batch, or not quiet)."""
    if not purchases or not all(p.quiet for p in purchases):
        return None
    for p in purchases:
        if p.occurred_at is not None and p.occurred_at > now + CLOCK_SKEW:
            raise errors.PurchaseInFuture(receipt=p.receipt, at=p.occurred_at)
    by_ref = _members(uow, purchases)
    commands = _commands(purchases, by_ref)
    keys = [f"earn:{c.receipt}" for c in commands]
    if len(set(keys)) < len(keys) or uow.bulk.journals(keys):
        return None
    for c in commands:
        check_amount(program, c.amount_minor)
    members = {m.id: m for m in by_ref.values()}
    locked = uow.bulk.lock_accounts(sorted(members))
    plans = _plan(uow, program, commands, members, locked, now)
    return _write(uow, program, plans, locked, now)


def _members(uow: UnitOfWork, purchases: Sequence[ExternalPurchase]) -> dict[str, Member]:
    """Each purchase's member by its reference; MemberNotFound for the first unknown one."""
    customers = [_customer(p.member_ref) for p in purchases if _customer(p.member_ref)]
    by_customer = uow.bulk.members_by_customer(customers) if customers else {}
    codes = [p.member_ref for p in purchases if not _customer(p.member_ref)]
    by_code = uow.bulk.members_by_code(codes) if codes else {}

    found: dict[str, Member] = {}
    for p in purchases:
        customer = _customer(p.member_ref)
        member = (
            by_customer.get(customer) if customer else by_code.get(normalize_code(p.member_ref))
        )
        if member is None:
            raise errors.MemberNotFound(ref=p.member_ref.strip())
        found[p.member_ref] = member
    return found


def _customer(ref: str) -> str:
    text = ref.strip()
    return text[len(CUSTOMER_PREFIX) :].strip() if text.lower().startswith(CUSTOMER_PREFIX) else ""


def _commands(
    purchases: Sequence[ExternalPurchase], members: dict[str, Member]
) -> list[RecordPurchase]:
    return [
        RecordPurchase(
            member_id=members[p.member_ref].id,
            receipt=normalize_receipt(p.receipt),
            amount_minor=p.amount_minor,
            occurred_at=p.occurred_at,
            store=p.store,
            channel=p.channel,
            items=p.items,
            quiet=True,
        )
        for p in purchases
    ]


def _plan(
    uow: UnitOfWork,
    program: Program,
    commands: list[RecordPurchase],
    members: dict[int, Member],
    locked: dict[int, tuple[MemberAccounts, Balances]],
    now: datetime,
) -> list[_Planned]:
    """Tier, points, hold and debt of each purchase, in order, as one at a time would."""
    window = timedelta(days=program.tier_qualification.window_days)
    ats = [c.occurred_at or now for c in commands]
    sums = uow.bulk.qualifying_sums([(c.member_id, at - window, at) for c, at in
                                     zip(commands, ats, strict=True)])  # fmt: skip
    debts = {m: -balances.debt for m, (_, balances) in locked.items()}
    earlier: dict[int, list[tuple[date, int, int]]] = defaultdict(list)  # this batch's days
    plans = []
    for command, at, (spend, points_so_far) in zip(commands, ats, sums, strict=True):
        since, until = (at - window).astimezone(UTC).date(), at.astimezone(UTC).date()
        for day, amount, points in earlier[command.member_id]:
            if since <= day <= until:
                spend, points_so_far = spend + amount, points_so_far + points
        measure = program.tier_qualification.measure
        qualifying = program.from_minor(spend) if measure == "spend" else Decimal(points_so_far)
        tier = program.tiers[program.tier_for(qualifying)]
        earned = purchase_points(program, tier.multiplier, amount_minor=command.amount_minor,
                                 at=at, store=command.store, channel=command.channel,
                                 items=command.items)  # fmt: skip
        hold = hold_days_at(program, at, now)
        expired = command.occurred_at is not None and expiry_for(program, at) <= now
        debt_paid = min(earned.points, debts.get(command.member_id, 0))
        debts[command.member_id] = debts.get(command.member_id, 0) - debt_paid
        earlier[command.member_id].append((until, command.amount_minor, earned.points))
        meta: dict[str, object] = {"ref": command.receipt, "tier": tier.name,
                                   "x": str(tier.multiplier)}  # fmt: skip
        meta |= rule_meta(command, earned, hold, expired)
        fingerprint = request_hash(receipt=command.receipt, amount=command.amount_minor,
                                   m=command.member_id, **details_of(command))  # fmt: skip
        journal = NewJournal(
            kind=JournalKind.EARN,
            key=f"earn:{command.receipt}",
            request_hash=fingerprint,
            effective_at=at,
            member_id=command.member_id,
            meta=meta,
        )
        plans.append(
            _Planned(command=command, member=members[command.member_id], at=at, tier=tier,
                     earned=earned, hold=hold, expired=expired, debt_paid=debt_paid,
                     rest=earned.points - debt_paid, journal=journal)
        )  # fmt: skip
    return plans


def _write(
    uow: UnitOfWork,
    program: Program,
    plans: list[_Planned],
    locked: dict[int, tuple[MemberAccounts, Balances]],
    now: datetime,
) -> list[ExternalPurchaseResult]:
    journal_ids = uow.bulk.add_journals([p.journal for p in plans])
    lots = [_lot(program, p, journal_ids[p.key]) for p in plans if p.rest]
    lot_ids = uow.bulk.add_lots(lots)
    lot_of = {p.key: lot_ids[journal_ids[p.key]] for p in plans if p.rest}
    expiries = {
        p.key: NewJournal(
            kind=JournalKind.EXPIRE,
            key=f"expire:{lot_of[p.key]}",
            request_hash=request_hash(lot=lot_of[p.key]),
            effective_at=now,
            member_id=p.member.id,
            meta={"ref": expiry_for(program, p.at).astimezone(UTC).date().isoformat()},
        )
        for p in plans
        if p.expired and p.rest
    }
    expire_ids = uow.bulk.add_journals(list(expiries.values())) if expiries else {}
    ledger = _Ledger(uow, locked)
    draws: list[tuple[int, LotDraw]] = []
    for p in plans:
        ledger.earn(journal_ids[p.key], p)
        if p.key in expiries:
            expire_id = expire_ids[expiries[p.key].key]
            ledger.expire(expire_id, p)
            draws.append((expire_id, LotDraw(lot_of[p.key], p.rest)))
    ledger.flush()
    uow.bulk.add_purchases([
        Purchase(
            receipt=p.command.receipt,
            member_id=p.member.id,
            amount_minor=p.command.amount_minor,
            points=p.earned.points,
            lot_id=lot_of.get(p.key),
            journal_id=journal_ids[p.key],
            occurred_at=p.at,
            store=p.command.store,
            channel=p.command.channel,
        )
        for p in plans
    ])  # fmt: skip
    if draws:
        uow.bulk.empty_lots(draws, "expire")
    for p in plans:  # as record_purchase does: subscribers see every purchase (quiet ones too)
        uow.domain_events.record(_recorded(p, journal_ids[p.key], now))
    return [_result(program, p, lot_of.get(p.key)) for p in plans]


def _lot(program: Program, plan: _Planned, journal_id: int) -> NewLot:
    return NewLot(
        member_id=plan.member.id,
        journal_id=journal_id,
        amount=plan.rest,
        state=LotState.PENDING if plan.hold else LotState.AVAILABLE,
        earned_at=plan.at,
        available_at=release_at(program, plan.at, plan.hold),
        expires_at=expiry_for(program, plan.at),
    )


class _Ledger:
    """Postings of the batch in order, each member balance carried along (balance_after)."""

    def __init__(self, uow: UnitOfWork, locked: dict[int, tuple[MemberAccounts, Balances]]):
        self._uow = uow
        self._accounts = {m: accounts for m, (accounts, _) in locked.items()}
        self._balance: dict[int, int] = {}
        self._count: dict[int, int] = defaultdict(int)
        for accounts, balances in locked.values():
            self._balance[accounts.available] = balances.available
            self._balance[accounts.pending] = balances.pending
            self._balance[accounts.debt] = balances.debt
        self.postings: list[tuple[int, Posting]] = []

    def earn(self, journal_id: int, plan: _Planned) -> None:
        """issue_points' postings: issued out, the lot's points in, the debt paid off."""
        if not plan.earned.points:
            return
        accounts = self._accounts[plan.member.id]
        issued = self._uow.ledger.system_account(Purpose.ISSUED_PURCHASE)
        self.postings.append((journal_id, Posting(issued, -plan.earned.points)))
        target = accounts.pending if plan.hold else accounts.available
        if plan.rest:
            self._move(journal_id, target, plan.rest)
        if plan.debt_paid:
            self._move(journal_id, accounts.debt, plan.debt_paid)

    def expire(self, journal_id: int, plan: _Planned) -> None:
        """expire_lot's postings: the lot's points out of available, into expired."""
        accounts = self._accounts[plan.member.id]
        self._move(journal_id, accounts.available, -plan.rest)
        expired = self._uow.ledger.system_account(Purpose.EXPIRED)
        self.postings.append((journal_id, Posting(expired, plan.rest)))

    def flush(self) -> None:
        """Write the postings, then every touched balance once."""
        self._uow.bulk.add_postings(self.postings)
        self._uow.bulk.set_balances(
            [(account, self._balance[account], count) for account, count in self._count.items()]
        )

    def _move(self, journal_id: int, account: int, amount: int) -> None:
        self._balance[account] += amount
        self._count[account] += 1
        self.postings.append((journal_id, Posting(account, amount, self._balance[account])))


def _recorded(plan: _Planned, journal_id: int, now: datetime) -> PurchaseRecorded:
    return PurchaseRecorded(
        occurred_at=now,
        member_id=plan.member.id,
        journal_id=journal_id,
        receipt=plan.command.receipt,
        amount_minor=plan.command.amount_minor,
        points=plan.earned.points,
        tier=plan.tier.name,
        debt_paid=plan.debt_paid,
        pending_until=plan.at + timedelta(days=plan.hold) if plan.hold and plan.rest else None,
        purchased_at=plan.at,
        store=plan.command.store,
        channel=plan.command.channel,
        items=plan.command.items,
        quiet=True,
    )


def _result(program: Program, plan: _Planned, lot_id: int | None) -> ExternalPurchaseResult:
    earn = EarnResult(
        member=plan.member,
        receipt=plan.command.receipt,
        amount_minor=plan.command.amount_minor,
        points=plan.earned.points,
        tier=plan.tier.name,
        multiplier=plan.tier.multiplier,
        pending_until=plan.at + timedelta(days=plan.hold) if plan.hold and lot_id else None,
        debt_paid=plan.debt_paid,
        recorded_at=plan.at,
        lot_id=lot_id,
        promotion=plan.earned.promotion,
        category_bonus=plan.earned.category_bonus,
        earns=plan.earned.earns,
        expired=plan.expired and lot_id is not None,
    )
    expires_at = expiry_for(program, plan.at) if lot_id is not None else None
    return ExternalPurchaseResult(earn=earn, expires_at=expires_at)
