"""An in-memory unit of work with just what recognition needs, for pure core tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from core import notifications
from core.bus import MessageBus
from core.events import DomainEvents
from core.model import (
    Balances,
    Gift,
    Lot,
    LotDraw,
    LotState,
    Member,
    MemberAccounts,
    NewJournal,
    NewLot,
    Posting,
    Purpose,
    RecordedJournal,
    Role,
)
from core.outbox import OutboxMessage

T = TypeVar("T")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@dataclass
class State:
    balances: dict[int, int] = field(default_factory=dict)
    journals: dict[str, RecordedJournal] = field(default_factory=dict)
    postings: list[tuple[int, Posting]] = field(default_factory=list)
    lots: dict[int, Lot] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    allowance: dict[tuple[int, str], int] = field(default_factory=dict)
    gifts: dict[str, Gift] = field(default_factory=dict)
    movements: list[tuple[int, int, str]] = field(default_factory=list)  # lot, amount, kind
    next_id: int = 1000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class FakeMembers:
    def __init__(self, state: State) -> None:
        self.state = state

    def by_id(self, member_id: int) -> Member | None:
        return Member(
            id=member_id,
            code=f"M{member_id}",
            display_name=f"Member {member_id}",
            role=Role.MEMBER,
            language=None,
            created_at=EPOCH,
        )

    def accounts(self, member_id: int) -> MemberAccounts:
        return MemberAccounts(member_id * 10, member_id * 10 + 1, member_id * 10 + 2)


class FakeLedger:
    def __init__(self, state: State) -> None:
        self.state = state

    def find_journal(self, key: str) -> RecordedJournal | None:
        return self.state.journals.get(key)

    def add_journal(self, j: NewJournal) -> int:
        journal_id = self.state.new_id()
        self.state.journals[j.key] = RecordedJournal(
            id=journal_id,
            kind=j.kind,
            key=j.key,
            request_hash=j.request_hash,
            effective_at=j.effective_at,
            member_id=j.member_id,
            meta=dict(j.meta),
        )
        return journal_id

    def system_account(self, purpose: Purpose) -> int:
        return -len(purpose.value)

    def debit(self, account_id: int, amount: int, floor: int | None = 0) -> int | None:
        after = self.state.balances.get(account_id, 0) - amount
        if floor is not None and after < floor:
            return None
        self.state.balances[account_id] = after
        return after

    def credit(self, account_id: int, amount: int) -> int:
        self.state.balances[account_id] = self.state.balances.get(account_id, 0) + amount
        return self.state.balances[account_id]

    def add_postings(self, journal_id: int, postings: Sequence[Posting]) -> None:
        assert sum(p.amount for p in postings) == 0
        self.state.postings.extend((journal_id, p) for p in postings)

    def balances(self, accounts: MemberAccounts, lock: bool = False) -> Balances:
        get = self.state.balances.get
        return Balances(get(accounts.available, 0), get(accounts.pending, 0), get(accounts.debt, 0))

    def add_lot(self, lot: NewLot) -> int:
        lot_id = self.state.new_id()
        self.state.lots[lot_id] = Lot(
            id=lot_id,
            member_id=lot.member_id,
            amount=lot.amount,
            remaining=lot.amount,
            state=lot.state,
            earned_at=lot.earned_at,
            available_at=lot.available_at,
            expires_at=lot.expires_at,
        )
        return lot_id

    def lot(self, lot_id: int) -> Lot:
        return self.state.lots[lot_id]

    def drawable_lots(
        self, member_id: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[Lot]:
        lots = sorted(
            (lot for lot in self.state.lots.values()
             if lot.member_id == member_id and lot.remaining and lot.state is LotState.AVAILABLE),
            key=lambda lot: (lot.expires_at, lot.id),
        )  # fmt: skip
        return [lot for lot in lots if after is None or (lot.expires_at, lot.id) > after][:limit]

    def draw(self, journal_id: int, draws: Sequence[LotDraw], kind: str) -> None:
        for d in draws:
            lot = self.state.lots[d.lot_id]
            self.state.lots[d.lot_id] = replace(lot, remaining=lot.remaining - d.amount)
            self.state.movements.append((d.lot_id, d.amount, kind))

    def lot_movements(self, lot_id: int) -> dict[str, int]:
        totals: dict[str, int] = {}
        for lot, amount, kind in self.state.movements:
            if lot == lot_id:
                totals[kind] = totals.get(kind, 0) + amount
        return totals


class FakeOutbox:
    def __init__(self, state: State) -> None:
        self.state = state

    def add(self, message: OutboxMessage, now: datetime) -> None:
        self.state.outbox.append(message)


class FakeRecognition:
    def __init__(self, state: State) -> None:
        self.state = state

    def spend_allowance(self, member_id: int, period: str, points: int, allowance: int) -> bool:
        spent = self.state.allowance.get((member_id, period), 0)
        if spent + points > allowance:
            return False
        self.state.allowance[(member_id, period)] = spent + points
        return True

    def restore_allowance(self, member_id: int, period: str, points: int) -> None:
        self.state.allowance[(member_id, period)] -= points

    def allowance_spent(self, member_id: int, period: str) -> int:
        return self.state.allowance.get((member_id, period), 0)

    def pair_given(self, giver_id: int, receiver_id: int, day: str) -> int:
        return sum(g.points for g in self.state.gifts.values()
                   if (g.giver_id, g.receiver_id, g.day) == (giver_id, receiver_id, day)
                   and not g.revoked)  # fmt: skip

    def add_gift(self, gift: Gift) -> None:
        self.state.gifts[gift.key] = gift

    def gift(self, key: str) -> Gift | None:
        return self.state.gifts.get(key)

    def mark_revoked(self, key: str) -> bool:
        gift = self.state.gifts[key]
        if gift.revoked:
            return False
        self.state.gifts[key] = replace(gift, revoked=True)
        return True

    def top_receivers(self, since: datetime, limit: int) -> list[tuple[int, int]]:
        totals: dict[int, int] = {}
        for g in self.state.gifts.values():
            if not g.revoked and g.given_at >= since:
                totals[g.receiver_id] = totals.get(g.receiver_id, 0) + g.points
        return sorted(totals.items(), key=lambda item: -item[1])[:limit]

    def recent_gifts(self, member_id: int, limit: int) -> list[Gift]:
        mine = [g for g in self.state.gifts.values()
                if member_id in (g.giver_id, g.receiver_id) and not g.revoked]  # fmt: skip
        return sorted(mine, key=lambda g: -g.journal_id)[:limit]


class FakeUnitOfWork:
    def __init__(self, state: State) -> None:
        self.members: Any = FakeMembers(state)
        self.ledger: Any = FakeLedger(state)
        self.outbox: Any = FakeOutbox(state)
        self.recognition: Any = FakeRecognition(state)
        self.deliveries: Any = None
        self.purchases: Any = None
        self.rewards: Any = None
        self.preferences: Any = None
        self.domain_events = DomainEvents()


class FakeDatabase:
    """Runs work on a copy of the state and keeps it only on success (a rollback otherwise);
    the recorded events go to the app's notifications first, as in `SqlDatabase`."""

    def __init__(self) -> None:
        self.state = State()
        self.bus = MessageBus()
        notifications.subscribe(self.bus)

    def run(self, work: Callable[[Any], T], *, write: bool = True) -> T:
        import copy

        draft = copy.deepcopy(self.state)
        uow = FakeUnitOfWork(draft)
        result = work(uow)
        self.bus.dispatch(uow)
        self.state = draft
        return result


EPOCH = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
