"""The ports the core needs from the outside world, as small Protocols.

Storage implements them; the core never imports a concrete implementation. Every call
inside one `Database.run` shares one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Protocol, TypeVar

from core.events import DomainEvents
from core.gamification_model import (
    BadgeCount,
    ChallengeEnding,
    ChallengeState,
    ProgressRecord,
    Ranked,
    Referral,
    ReferralStats,
    StreakAtRisk,
    TierKeep,
    TierStatus,
)
from core.model import (
    Balances,
    Gift,
    HistoryRow,
    Identity,
    Lot,
    LotDraw,
    Member,
    MemberAccounts,
    NewJournal,
    NewLot,
    Posting,
    Purchase,
    Purpose,
    RecordedJournal,
    Redemption,
    Role,
)
from core.outbox import OutboxMessage
from core.preferences import Preferences, QuietHours
from core.progress import Fact, FactRow, ItemFact

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class MemberRepository(Protocol):
    def by_identity(self, platform: str, external_id: str) -> Member | None: ...
    def by_code(self, code: str) -> Member | None: ...
    def by_username(self, username: str, platform: str | None = None) -> Member | None:
        """The one member with this username, preferring identities on `platform`."""
        ...

    def by_id(self, member_id: int) -> Member | None: ...

    def add(
        self, code: str, identity: Identity, role: Role, now: datetime, referred_by: int | None
    ) -> Member:
        """Create a member with this identity and its accounts."""
        ...

    def refresh_identity(self, member_id: int, identity: Identity) -> None:
        """Store the latest username, display name and language seen for an identity."""
        ...

    def set_role(self, member_id: int, role: Role) -> None: ...

    def set_language(self, member_id: int, language: str) -> None: ...

    def unreachable_on(self, member_id: int) -> frozenset[str]:
        """Platforms on which the member blocked the bot (the outbox stops writing there)."""
        ...

    def accounts(self, member_id: int) -> MemberAccounts: ...
    def identities(self, member_id: int) -> list[Identity]: ...

    def add_identity(self, member_id: int, identity: Identity) -> bool:
        """Give a member another identity; False when that identity already exists."""
        ...

    def set_birthday(self, member_id: int, birthday: date | None) -> None: ...
    def birthday(self, member_id: int) -> date | None: ...


class LedgerRepository(Protocol):
    def find_journal(self, key: str) -> RecordedJournal | None: ...
    def add_journal(self, journal: NewJournal) -> int: ...
    def system_account(self, purpose: Purpose) -> int: ...

    def debit(self, account_id: int, amount: int, floor: int | None = 0) -> int | None:
        """Conditionally subtract; the new balance, or None when it would cross the floor."""
        ...

    def credit(self, account_id: int, amount: int) -> int:
        """Add to a member account; the new balance."""
        ...

    def add_postings(self, journal_id: int, postings: Sequence[Posting]) -> None:
        """Every posting of the journal at once; refused unless they sum to zero."""
        ...

    def balances(self, accounts: MemberAccounts, lock: bool = False) -> Balances:
        """Cached balances; `lock` takes the rows' write locks (PostgreSQL FOR UPDATE)."""
        ...

    def member_balances(self, member_id: int) -> Balances:
        """A member's cached balances, found by member (a read: no lock)."""
        ...

    def add_lot(self, lot: NewLot) -> int: ...
    def lot(self, lot_id: int) -> Lot: ...

    def drawable_lots(
        self, member_id: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[Lot]:
        """Lots with points left, first-expiring-first, after an (expires_at, id) cursor."""
        ...

    def draw(self, journal_id: int, draws: Sequence[LotDraw], kind: str) -> None:
        """Take points out of lots and record which lot gave what."""
        ...

    def lot_movements(self, lot_id: int) -> dict[str, int]:
        """Points each kind of draw (redeem, expire, clawback, ...) took from one lot."""
        ...

    def make_available(self, lot_ids: Sequence[int]) -> None: ...
    def due_pending_lots(self, now: datetime, member_id: int | None, limit: int) -> list[Lot]: ...
    def due_expiring_lots(self, now: datetime, limit: int) -> list[Lot]: ...

    def next_release(self, member_id: int) -> tuple[datetime, int] | None:
        """The earliest date pending points become available, and how many then."""
        ...

    def next_expiry(self, member_id: int) -> tuple[datetime, int] | None:
        """The earliest expiry date of available points, and how many expire then."""
        ...

    def next_dates(
        self, member_id: int
    ) -> tuple[tuple[datetime, int] | None, tuple[datetime, int] | None]:
        """`next_release` and `next_expiry` together."""
        ...

    def history(self, member_id: int, offset: int, limit: int) -> list[HistoryRow]: ...


class PurchaseRepository(Protocol):
    def get(self, receipt: str) -> Purchase | None: ...
    def add(self, purchase: Purchase) -> None: ...
    def add_refund(self, receipt: str, amount_minor: int, points: int) -> None: ...

    def qualifying(
        self, member_id: int, since: datetime, until: datetime | None = None
    ) -> tuple[int, int]:
        """Spend (minor units) and purchase points, net of refunds, since a moment (and up
        to `until`'s day, for a purchase dated in the past)."""
        ...


class RewardRepository(Protocol):
    def take_stock(self, reward_id: str, stock: int) -> bool:
        """Take one unit if fewer than `stock` were taken; False when sold out."""
        ...

    def count_redemptions(self, member_id: int, reward_id: str) -> int: ...
    def add_redemption(self, redemption: Redemption) -> int: ...
    def redemption_for_journal(self, journal_id: int) -> Redemption | None: ...
    def redeemed_points(self, member_id: int) -> int: ...

    def stock_taken(self, reward_ids: Sequence[str]) -> dict[str, int]:
        """Units taken so far per reward (missing ids: none taken)."""
        ...


class VoucherRepository(Protocol):
    """Vouchers (the redemptions' codes) as the counter sees them."""

    def unused(self, member_id: int, now: datetime, limit: int) -> list[Redemption]:
        """The member's vouchers neither used nor expired, soonest expiry first."""
        ...

    def by_code(self, voucher: str) -> Redemption | None: ...

    def mark_used(self, voucher: str, now: datetime, staff_id: int, store: str | None) -> bool:
        """Use a voucher still valid at `now`, once; False when it was used, returned or is
        expired (one conditional update: two tills cannot both use it)."""
        ...

    def mark_returned(self, voucher: str, now: datetime) -> bool:
        """Record that an expired voucher's points went back; False when it already was."""
        ...

    def expired_unused(self, now: datetime, limit: int) -> list[Redemption]:
        """Vouchers past their validity, neither used nor returned, oldest first."""
        ...

    def drawn_lots(self, journal_id: int) -> list[tuple[Lot, int]]:
        """The lots a journal drew from, with how much it took from each."""
        ...


class LinkRepository(Protocol):
    """One-time /link codes, and moving everything of one member to another."""

    def add_code(self, code: str, member_id: int, expires_at: datetime) -> None: ...

    def code_owner(self, code: str, now: datetime) -> int | None:
        """The member a live code (as typed) belongs to, without using it up."""
        ...

    def take_code(self, code: str, now: datetime) -> int | None:
        """The member a live code was issued to, removing the code (one use); else None."""
        ...

    def imported_waiting(self, username: str, platform: str) -> int | None:
        """The one imported customer with this (Telegram) username who has no identity on
        `platform` yet: they become that member when they first write to the bot."""
        ...

    def move_member(self, source_id: int, target_id: int) -> int:
        """Re-point the source's identities, lots, purchases, vouchers, referrals and queued
        messages to the target and mark the source merged into it; the number of lots moved."""
        ...


class BulkPurchaseRepository(Protocol):
    """Set-at-a-time reads and writes for importing many purchases in one transaction: the
    same rows the one-at-a-time repositories write, in a handful of statements per batch."""

    def members_by_customer(self, customer_ids: Sequence[str]) -> dict[str, Member]: ...
    def members_by_code(self, codes: Sequence[str]) -> dict[str, Member]:
        """Members by normalised code (merged members' codes find their survivor)."""
        ...

    def journals(self, keys: Sequence[str]) -> dict[str, RecordedJournal]: ...

    def lock_accounts(
        self, member_ids: Sequence[int]
    ) -> dict[int, tuple[MemberAccounts, Balances]]:
        """Every member's accounts and balances, row-locked in ascending account id order."""
        ...

    def qualifying_sums(
        self, windows: Sequence[tuple[int, datetime, datetime]]
    ) -> list[tuple[int, int]]:
        """For each (member, since, until): spend and points of its daily totals in the window."""
        ...

    def add_journals(self, journals: Sequence[NewJournal]) -> dict[str, int]:
        """Insert journals; their ids by key."""
        ...

    def add_lots(self, lots: Sequence[NewLot]) -> dict[int, int]:
        """Insert lots (at most one per journal); their ids by journal id."""
        ...

    def add_postings(self, postings: Sequence[tuple[int, Posting]]) -> None:
        """Insert (journal id, posting) pairs in this order (ids ascend with it)."""
        ...

    def set_balances(self, balances: Sequence[tuple[int, int, int]]) -> None:
        """(account id, new balance, postings added) for member accounts."""
        ...

    def add_purchases(self, purchases: Sequence[Purchase]) -> None:
        """Insert purchases and add them to their members' daily totals."""
        ...

    def empty_lots(self, draws: Sequence[tuple[int, LotDraw]], kind: str) -> None:
        """Take everything from these lots (journal id, draw) and record the movements."""
        ...


class OutboxRepository(Protocol):
    def add(self, message: OutboxMessage, now: datetime) -> None:
        """Queue a message (its image stored once by digest); a repeated dedupe key is a no-op."""
        ...


class PreferenceRepository(Protocol):
    """A member's own choices about messages: time zone, quiet hours, opted-out categories."""

    def get(self, member_id: int) -> Preferences: ...
    def set_time_zone(self, member_id: int, zone: str | None) -> None: ...
    def set_quiet_hours(self, member_id: int, quiet: QuietHours | None) -> None: ...

    def set_opted_out(self, member_id: int, category: str, opted_out: bool, now: datetime) -> None:
        """Opt out of (or back in to) one marketing category."""
        ...


class DeliveryRepository(Protocol):
    """Inbound deliveries (Telegram updates, Slack events), kept until handled: see
    core.deliveries for the lease a handling holds and how it settles."""

    def store(self, key: str, payload: str, holder: str, now: datetime, until: datetime) -> bool:
        """Keep a delivery for handling, held by `holder` until `until`; False when it was
        stored (or handled) before."""
        ...

    def acquire(self, key: str, holder: str, now: datetime, until: datetime) -> bool:
        """Hold the delivery for one handling until `until`: a new one, one `holder` holds
        already, or a pending one whose lease ran out; False when it was handled, or another
        handling holds it."""
        ...

    def settle(self, key: str, holder: str) -> bool:
        """Mark the delivery handled, in the transaction of its effect; False when another
        handling took it over (this one must then have no effect)."""
        ...

    def status(self, key: str, now: datetime) -> str:
        """Where the delivery stands, read only: `NEW` (no row), `DONE`, `HELD` (pending
        under a running lease) or `LAPSED` (pending, its lease ran out): see core.deliveries."""
        ...

    def record(self, key: str, holder: str, now: datetime) -> bool:
        """Record a delivery that was in no table (long polling) as handled by `holder`, in
        the transaction of its effect; False when another handling recorded or holds it."""
        ...

    def take_over(
        self, prefix: str, holder: str, now: datetime, until: datetime, limit: int
    ) -> list[tuple[str, str, str]]:
        """Stored pending deliveries (keys starting with `prefix`) whose lease ran out, now
        held until `until`, each by its own holder made from `holder`: (key, payload, holder)."""
        ...


class ChallengeRepository(Protocol):
    """Counted facts, challenge progress, opt-in joins and badges."""

    def time_zones(self, member_id: int) -> tuple[str | None, list[str]]:
        """The zone the member chose (if any) and their chat identities' zones, in one read."""
        ...

    def add_fact(
        self,
        member_id: int,
        fact: FactRow,
        occurred_at: datetime,
        progress: Sequence[ProgressRecord] = (),
    ) -> bool:
        """Keep a fact; False when its key was kept before (the same event again). With
        `progress`, save those rows too, if and only if the fact is new."""
        ...

    def add_items(self, member_id: int, items: Sequence[ItemFact]) -> None: ...
    def fact(self, member_id: int, key: str) -> FactRow | None: ...

    def facts(self, member_id: int, first_day: date, last_day: date) -> list[Fact]:
        """Facts of local days in the range, folded by ref (a purchase net of refunds)."""
        ...

    def items(self, member_id: int, first_day: date, last_day: date) -> list[ItemFact]: ...

    def state(
        self, member_id: int, periods: Sequence[str], joins: bool, zones: bool = False
    ) -> ChallengeState:
        """Stored progress in these periods, the member's opt-in joins when `joins`, and their
        time zones when `zones`, all in one read."""
        ...

    def save_progress(
        self, member_id: int, records: Sequence[ProgressRecord], now: datetime
    ) -> None:
        """Insert or update these progress rows, all in one statement."""
        ...

    def join(self, member_id: int, challenge_id: str, now: datetime) -> bool:
        """Join an opt-in challenge; False when already joined."""
        ...

    def add_badge(
        self, member_id: int, badge_id: str, challenge_id: str, period: str, now: datetime
    ) -> None: ...

    def remove_badge(self, member_id: int, challenge_id: str, period: str) -> None: ...
    def badges(self, member_id: int) -> list[BadgeCount]: ...

    def streaks_at_risk(self, ends_from: datetime, ends_until: datetime) -> list[StreakAtRisk]:
        """Streaks that end (unless the member visits) between the two instants."""
        ...

    def challenges_ending(self, ends_from: datetime, ends_until: datetime) -> list[ChallengeEnding]:
        """Unfinished progress whose window closes between the two instants."""
        ...

    def participants(self, challenge_id: str, now: datetime) -> list[int]:
        """Members who joined a challenge or have progress on it in an open period."""
        ...


class CheckinRepository(Protocol):
    def add(self, member_id: int, store_id: str, day: date, now: datetime) -> bool:
        """Record a check-in; False when the member checked in at that store that day."""
        ...


class TierRepository(Protocol):
    def get(self, member_id: int) -> TierStatus | None: ...
    def put(self, member_id: int, status: TierStatus) -> None: ...

    def due(self, now: datetime, limit: int) -> list[int]:
        """Members whose tier window has ended by `now`, oldest first."""
        ...

    def keep_due(self, until_from: datetime, until_to: datetime) -> list[TierKeep]:
        """Members whose tier window ends between the two instants, with what counts so far."""
        ...


class ReferralRepository(Protocol):
    def add(self, referral: Referral) -> None: ...
    def pending_for(self, friend_id: int) -> Referral | None: ...
    def by_receipt(self, receipt: str) -> Referral | None: ...
    def update(self, referral: Referral) -> None: ...

    def claim_month(self, referrer_id: int, month: str, cap: int) -> bool:
        """Count one rewarded referral in `month`; False when `cap` was reached."""
        ...

    def release_month(self, referrer_id: int, month: str) -> None: ...
    def stats(self, referrer_id: int) -> ReferralStats: ...


class LeaderboardRepository(Protocol):
    def add_points(self, period: str, member_id: int, points: int) -> None: ...
    def top(self, period: str, limit: int) -> list[Ranked]: ...
    def score(self, period: str, member_id: int) -> int | None: ...

    def rank(self, period: str, score: int) -> int:
        """1 + visible members with a higher score in `period`."""
        ...

    def top_progress(self, challenge_id: str, period: str, limit: int) -> list[Ranked]: ...
    def progress_rank(self, challenge_id: str, period: str, value: int) -> int: ...
    def set_hidden(self, member_id: int, hidden: bool, now: datetime) -> None: ...
    def is_hidden(self, member_id: int) -> bool: ...


class GuardrailRepository(Protocol):
    def claim_action(self, member_id: int, action: str, period: str, journal_id: int) -> bool:
        """Record an action awarded in `period`; False when it was awarded there before."""


class AttemptRepository(Protocol):
    def spend(
        self, kind: str, subject: str, now: datetime, window_start: datetime
    ) -> tuple[int, datetime]:
        """Count one guess; the guesses counted in the current window and when it began.

        A window that began at or before `window_start` is over: the count starts again.
        """
        ...

    def refund(self, kind: str, subject: str) -> None:
        """Take back the guess just counted (it was right)."""
        ...


class UnitOfWork(Protocol):
    attempts: AttemptRepository
    deliveries: DeliveryRepository
    members: MemberRepository
    ledger: LedgerRepository
    purchases: PurchaseRepository
    rewards: RewardRepository
    outbox: OutboxRepository
    vouchers: VoucherRepository
    links: LinkRepository
    bulk: BulkPurchaseRepository
    preferences: PreferenceRepository
    challenges: ChallengeRepository
    checkins: CheckinRepository
    tiers: TierRepository
    referrals: ReferralRepository
    leaderboard: LeaderboardRepository
    guardrails: GuardrailRepository
    # Domain events the services record; the message bus hands them to their handlers
    # before the transaction commits (see core.bus).
    domain_events: DomainEvents


class Database(Protocol):
    def run(self, work: Callable[[UnitOfWork], T], *, write: bool = True) -> T:
        """Run `work` in one transaction: commit on return, roll back on any exception.

        Before committing, the domain events `work` recorded go to their handlers on the
        message bus, in the same transaction. Transient failures (SQLITE_BUSY, deadlock,
        serialization, a lost race on a unique key) are retried a bounded number of times
        with a fresh unit of work, so `work` and the handlers must be safe to re-run.
        """
        ...


class RecognitionRepository(Protocol):
    def spend_allowance(self, member_id: int, period: str, points: int, allowance: int) -> bool:
        """Conditionally add to what a member gave in `period`; False when over `allowance`."""
        ...

    def restore_allowance(self, member_id: int, period: str, points: int) -> None: ...
    def allowance_spent(self, member_id: int, period: str) -> int: ...

    def pair_given(self, giver_id: int, receiver_id: int, day: str) -> int:
        """Points the giver gave the receiver on `day` (revoked gifts excluded)."""
        ...

    def add_gift(self, gift: Gift) -> None: ...
    def gift(self, key: str) -> Gift | None: ...

    def mark_revoked(self, key: str) -> bool:
        """Mark a gift revoked; False when it already was."""
        ...

    def top_receivers(self, since: datetime, limit: int) -> list[tuple[int, int]]:
        """(member id, points received) since a moment, most first."""
        ...

    def recent_gifts(self, member_id: int, limit: int) -> list[Gift]:
        """Gifts the member gave or received (revoked ones left out), newest first."""
        ...


class RecognitionUnitOfWork(UnitOfWork, Protocol):
    recognition: RecognitionRepository


class RecognitionDatabase(Protocol):
    def run(self, work: Callable[[RecognitionUnitOfWork], T], *, write: bool = True) -> T:
        """As `Database.run`, with the recognition repository in the unit of work."""
        ...
